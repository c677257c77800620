package httppost_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
)

// TestRulesAgreeWithConfig: configuration validation and the adapter apply the
// same rules to an HTTP destination. Each case is checked both ways; it
// fails if either accepts what the other refuses, or names another setting.
func TestRulesAgreeWithConfig(t *testing.T) {
	t.Parallel()
	const ok = "https://fachverfahren.example/eingang"
	basic := func(user string, password config.Secret) config.HTTPAuth {
		return config.HTTPAuth{Basic: &config.BasicAuth{Username: user, Password: password}}
	}
	bearer := func(token string) config.HTTPAuth { return config.HTTPAuth{Bearer: config.NewSecret(token)} }
	header := func(name, value string) map[string]string { return map[string]string{name: value} }
	tests := []struct {
		name     string
		settings config.HTTP
		want     string // the setting at fault, relative to the http block; "" means valid
	}{
		// URLs.
		{"https", config.HTTP{URL: ok}, ""},
		{"plain http", config.HTTP{URL: "http://10.0.0.7:8080/eingang?mandant=1"}, ""},
		{"no url", config.HTTP{}, "url"},
		{"relative url", config.HTTP{URL: "/eingang"}, "url"},
		{"no host", config.HTTP{URL: "https:///eingang"}, "url"},
		{"ftp", config.HTTP{URL: "ftp://fachverfahren.example/"}, "url"},
		{"mailto", config.HTTP{URL: "mailto:fv@fachverfahren.example"}, "url"},
		{"bad escape", config.HTTP{URL: "https://fachverfahren.example/%zz"}, "url"},
		{"user and password in url", config.HTTP{URL: "https://u:p@fachverfahren.example/"}, "url"},
		{"user in url", config.HTTP{URL: "https://u@fachverfahren.example/"}, "url"},

		// Headers.
		{"own header", config.HTTP{URL: ok, Headers: header("X-Mandant", "musterstadt")}, ""},
		{"authorization without auth", config.HTTP{URL: ok, Headers: header("Authorization", "ApiKey x")}, ""},
		{"authorization with bearer", config.HTTP{URL: ok, Auth: bearer("t"), Headers: header("Authorization", "ApiKey x")}, "headers"},
		{"authorization with basic", config.HTTP{URL: ok, Auth: basic("u", config.NewSecret("p")), Headers: header("authorization", "x")}, "headers"},
		{"space in name", config.HTTP{URL: ok, Headers: header("X Mandant", "a")}, "headers"},
		{"colon in name", config.HTTP{URL: ok, Headers: header("X-Mandant:", "a")}, "headers"},
		{"empty name", config.HTTP{URL: ok, Headers: header("", "a")}, "headers"},
		{"non-ascii name", config.HTTP{URL: ok, Headers: header("X-Behörde", "a")}, "headers"},
		{"header injection", config.HTTP{URL: ok, Headers: header("X-Key", "a\r\nX-Evil: 1")}, "headers"},
		{"nul in value", config.HTTP{URL: ok, Headers: header("X-Key", "a\x00")}, "headers"},
		{"tab in value", config.HTTP{URL: ok, Headers: header("X-Key", "a\tb")}, ""},
		{"message id header", config.HTTP{URL: ok, Headers: header(httppost.HeaderMessageID, "x")}, "headers"},
		{"any amtsbote header, lower case", config.HTTP{URL: ok, Headers: header("x-amtsbote-tenant", "x")}, "headers"},
		{"idempotency key", config.HTTP{URL: ok, Headers: header(httppost.HeaderIdempotency, "x")}, "headers"},
		{"soap action header", config.HTTP{URL: ok, Headers: header("soapaction", "x")}, "headers"},
		{"content type", config.HTTP{URL: ok, Headers: header("content-type", "text/plain")}, "headers"},
		{"content length", config.HTTP{URL: ok, Headers: header("Content-Length", "1")}, "headers"},
		{"user agent", config.HTTP{URL: ok, Headers: header("User-Agent", "x")}, "headers"},
		{"host", config.HTTP{URL: ok, Headers: header("Host", "elsewhere.example")}, "headers"},
		{"expect", config.HTTP{URL: ok, Headers: header("Expect", "100-continue")}, "headers"},
		{"connection", config.HTTP{URL: ok, Headers: header("Connection", "close")}, "headers"},
		{"keep-alive", config.HTTP{URL: ok, Headers: header("Keep-Alive", "timeout=5")}, "headers"},
		{"proxy-connection", config.HTTP{URL: ok, Headers: header("Proxy-Connection", "close")}, "headers"},
		{"te", config.HTTP{URL: ok, Headers: header("TE", "trailers")}, "headers"},
		{"trailer", config.HTTP{URL: ok, Headers: header("Trailer", "X-Sum")}, "headers"},
		{"transfer-encoding", config.HTTP{URL: ok, Headers: header("Transfer-Encoding", "chunked")}, "headers"},
		{"upgrade", config.HTTP{URL: ok, Headers: header("Upgrade", "h2c")}, "headers"},
		{"proxy-authorization", config.HTTP{URL: ok, Headers: header("Proxy-Authorization", "Basic x")}, "headers"},

		// Credentials.
		{"bearer", config.HTTP{URL: ok, Auth: bearer("t0k3n")}, ""},
		{"bearer with space", config.HTTP{URL: ok, Auth: bearer("a b")}, "auth.bearer"},
		{"bearer with newline", config.HTTP{URL: ok, Auth: bearer("a\nb")}, "auth.bearer"},
		{"empty bearer", config.HTTP{URL: ok, Auth: bearer("")}, "auth.bearer"},
		{"basic", config.HTTP{URL: ok, Auth: basic("u", config.NewSecret("p w"))}, ""},
		{"basic without password", config.HTTP{URL: ok, Auth: basic("u", config.Secret{})}, "auth.basic"},
		{"basic without user", config.HTTP{URL: ok, Auth: basic("", config.NewSecret("p"))}, "auth.basic"},
		{"basic with empty password", config.HTTP{URL: ok, Auth: basic("u", config.NewSecret(""))}, "auth.basic.password"},
		{"colon in user", config.HTTP{URL: ok, Auth: basic("u:x", config.NewSecret("p"))}, "auth.basic.username"},
		{"basic and bearer", config.HTTP{URL: ok, Auth: config.HTTPAuth{
			Basic: &config.BasicAuth{Username: "u", Password: config.NewSecret("p")}, Bearer: config.NewSecret("t")}}, "auth"},

		// SOAP and the rest.
		{"soap 1.1 with action", config.HTTP{URL: ok, SOAP: "1.1", SOAPAction: "urn:einreichen"}, ""},
		{"soap 1.3", config.HTTP{URL: ok, SOAP: "1.3"}, "soap"},
		{"action without soap", config.HTTP{URL: ok, SOAPAction: "urn:einreichen"}, "soap_action"},
		{"quote in action", config.HTTP{URL: ok, SOAP: "1.2", SOAPAction: `urn:"a`}, "soap_action"},
		{"backslash in action", config.HTTP{URL: ok, SOAP: "1.1", SOAPAction: `urn:\a`}, "soap_action"},
		{"timeout", config.HTTP{URL: ok, Timeout: config.Duration{Duration: 10 * time.Second}}, ""},
		{"negative timeout", config.HTTP{URL: ok, Timeout: config.Duration{Duration: -time.Second}}, "timeout"},
		{"client certificate without key", config.HTTP{URL: ok, TLS: config.HTTPTLS{CertFile: "c.pem"}}, "tls"},
		{"attachments separate", config.HTTP{URL: ok, Attachments: "separate"}, ""},
		{"attachments inline", config.HTTP{URL: ok, Attachments: "inline"}, "attachments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			configPaths := configProblems(t, tt.settings)
			_, err := httppost.New(httppost.Config{Settings: tt.settings, Tenant: "musterstadt", Procedure: "p", Destination: "d"})
			if tt.want == "" {
				if len(configPaths) > 0 || err != nil {
					t.Fatalf("valid settings refused: config %q, httppost.New: %v", configPaths, err)
				}
				return
			}
			if len(configPaths) != 1 || configPaths[0] != tt.want {
				t.Errorf("config validation: problems at %q, want one at %q", configPaths, tt.want)
			}
			if err == nil || !strings.Contains(err.Error(), "httppost config: "+tt.want+": ") {
				t.Errorf("httppost.New: %v, want a problem at %q", err, tt.want)
			}
		})
	}
}

// configProblems validates the demo configuration with its first destination
// replaced by an HTTP one with settings s, and returns the paths of the
// problems, relative to the destination's http block.
func configProblems(t *testing.T, s config.HTTP) []string {
	t.Helper()
	cfg := config.Demo(t.TempDir(), config.HashKey("portal-key"))
	d := &cfg.Tenants[0].Procedures[0].Destinations[0]
	d.Type, d.FileDrop, d.HTTP = "http", nil, &s
	err := cfg.Validate()
	var verr *config.ValidationError
	if err != nil && !errors.As(err, &verr) {
		t.Fatalf("Validate: %v", err)
	}
	const prefix = "tenants[0].procedures[0].destinations[0].http."
	var paths []string
	if verr != nil {
		for _, p := range verr.Problems {
			rel, ok := strings.CutPrefix(p.Path, prefix)
			if !ok {
				t.Fatalf("problem outside the http block: %s", p)
			}
			paths = append(paths, rel)
		}
	}
	return paths
}

// TestOwnHeadersAreReserved: no configured header may replace one the
// Deliverer sets.
func TestOwnHeadersAreReserved(t *testing.T) {
	t.Parallel()
	for _, name := range []string{
		httppost.HeaderMessageID, httppost.HeaderSubmissionID, httppost.HeaderAttempt, httppost.HeaderAttachmentID,
		httppost.HeaderAttachments, httppost.HeaderIdempotency, httppost.HeaderSOAPAction,
		"User-Agent", "Content-Type", "Content-Disposition", "Content-Length",
	} {
		if !config.IsReservedHTTPHeader(name) {
			t.Errorf("%s may be configured", name)
		}
	}
}
