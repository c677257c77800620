package config

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Request headers an HTTP destination may not configure: Amtsbote sets them
// on every request (adapters/httppost), or net/http does, or they are
// hop-by-hop and no business of the receiver. Names are canonical
// (http.CanonicalHeaderKey).
var reservedHTTPHeaders = map[string]bool{
	// Set by the deliverer for the body and the message.
	"Content-Type": true, "Content-Length": true, "Content-Disposition": true, "Content-Id": true,
	"Content-Transfer-Encoding": true, "User-Agent": true, "Idempotency-Key": true, "Soapaction": true,
	// Set by net/http.
	"Host": true, "Expect": true,
	// Hop-by-hop (RFC 9110 section 7.6.1) and proxy credentials.
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Proxy-Authorization": true,
}

// reservedHTTPHeaderPrefix starts the names of the headers Amtsbote sets on
// every request (X-Amtsbote-Message-Id, ...); none may be configured.
const reservedHTTPHeaderPrefix = "X-Amtsbote-"

// IsReservedHTTPHeader reports whether an HTTP destination may not configure
// the request header name (in any case): Amtsbote or net/http sets it, or it
// is hop-by-hop.
func IsReservedHTTPHeader(name string) bool {
	canonical := http.CanonicalHeaderKey(name)
	return reservedHTTPHeaders[canonical] || strings.HasPrefix(canonical, reservedHTTPHeaderPrefix)
}

// Problems returns what is wrong with the settings of an HTTP destination, in
// a fixed order, each with the path of the setting relative to the http block
// ("url", "auth.basic", "headers", ...). These are the rules of every HTTP
// destination: Config.Validate reports them under the destination's path,
// and adapters/httppost refuses settings with any. It reads no files and
// never quotes a credential or a header value.
func (h *HTTP) Problems() []Problem {
	var problems []Problem
	add := func(path, message string) { problems = append(problems, Problem{Path: path, Message: message}) }

	u, err := url.Parse(h.URL)
	switch {
	case h.URL == "":
		add("url", "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		add("url", "must be an absolute http or https URL")
	case u.User != nil:
		// The URL is no secret: it appears in logs and errors.
		add("url", "must not contain credentials: use auth.basic")
	}

	switch h.SOAP {
	case "", "1.1", "1.2":
	default:
		add("soap", "must be empty, 1.1 or 1.2, got "+strconv.Quote(h.SOAP))
	}
	switch {
	case h.SOAPAction != "" && h.SOAP == "":
		add("soap_action", "only allowed with soap")
	case strings.ContainsAny(h.SOAPAction, "\"\\") || !ValidHeaderValue(h.SOAPAction):
		// It is sent quoted, in a header or a media type parameter.
		add("soap_action", "must not contain quotes, backslashes or control characters")
	}
	if h.Timeout.Duration < 0 {
		add("timeout", "must not be negative")
	}

	h.Auth.problems(add)
	if (h.TLS.CertFile == "") != (h.TLS.KeyFile == "") {
		add("tls", "cert_file and key_file go together")
	}
	switch h.Attachments {
	case "", "multipart", "separate":
	default:
		add("attachments", "must be multipart or separate, got "+strconv.Quote(h.Attachments))
	}

	authConfigured := h.Auth.Basic != nil || !h.Auth.Bearer.IsZero()
	for _, name := range slices.Sorted(maps.Keys(h.Headers)) {
		canonical := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			add("headers", strconv.Quote(name)+" is not a valid header name")
		case !ValidHeaderValue(h.Headers[name]):
			add("headers", "the value of "+canonical+" contains control characters") // never print the value
		case IsReservedHTTPHeader(name):
			add("headers", canonical+" is set by Amtsbote and may not be configured")
		case canonical == "Authorization" && authConfigured:
			add("headers", "Authorization may not be configured together with auth")
		}
	}
	return problems
}

// problems reports the credential's problems through add.
func (a *HTTPAuth) problems(add func(path, message string)) {
	if a.Basic != nil && !a.Bearer.IsZero() {
		add("auth", "basic and bearer are exclusive")
	}
	if b := a.Basic; b != nil {
		switch {
		case b.Username == "" || b.Password.IsZero():
			add("auth.basic", "needs username and password")
		case strings.Contains(b.Username, ":") || !ValidHeaderValue(b.Username):
			add("auth.basic.username", "must not contain ':' or control characters")
		}
		if !b.Password.IsZero() && b.Password.Value() == "" {
			add("auth.basic.password", "must not be empty")
		}
	}
	if t := a.Bearer.Value(); !a.Bearer.IsZero() && (t == "" || strings.ContainsAny(t, " \t") || !ValidHeaderValue(t)) {
		add("auth.bearer", "must be a non-empty token without spaces or control characters")
	}
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether v may be an HTTP header value: no
// control characters but tabs. Config validation and the httppost adapter
// (for the values it builds per delivery) both use it.
func ValidHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
