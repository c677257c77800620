package httppost_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestContract runs the adapter suite in both attachment modes; its
// bundles are read from a real SQLite store.
func TestContract(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"multipart", "separate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			adaptertest.Run(t, adaptertest.Harness{
				New: func(t *testing.T) (outbox.Deliverer, func() []adaptertest.Received) {
					rc := &receiver{}
					srv := serve(t, rc)
					d := newDeliverer(t, config.HTTP{URL: srv.URL + "/eingang", Attachments: mode})
					return d, func() []adaptertest.Received {
						var out []adaptertest.Received
						for _, r := range rc.got() {
							out = append(out, adaptertest.Received{MessageID: r.Header.Get(httppost.HeaderMessageID),
								Body: r.Body, Header: r.Header})
						}
						return out
					}
				},
				NewStalled: func(t *testing.T) outbox.Deliverer {
					hold, release := holdUntilDone(t)
					srv := serve(t, hold)
					t.Cleanup(release) // runs before srv.Close
					return newDeliverer(t, config.HTTP{URL: srv.URL, Timeout: config.Duration{Duration: time.Hour}})
				},
				Unbundle: unbundle,
				Blobs: func(t *testing.T) adaptertest.BlobSource {
					return adaptertest.SQLiteSource(t)
				},
			})
		})
	}
}

func TestPlainPost(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := serve(t, rc)
	d := newDeliverer(t, config.HTTP{
		URL:     srv.URL + "/api/v1/eingang?mandant=musterstadt",
		Headers: map[string]string{"X-Mandant": "musterstadt", "x-lower": "kept"},
	})
	dl := delivery(messageID, payload)
	dl.Attempt = 3
	// A message cannot choose where it goes: metadata naming a URL changes nothing.
	dl.Metadata["url"] = "http://attacker.invalid/"
	if err := d.Deliver(t.Context(), dl); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := rc.got()
	if len(got) != 1 {
		t.Fatalf("received %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.Path != "/api/v1/eingang?mandant=musterstadt" {
		t.Errorf("request = %s %s, want POST /api/v1/eingang?mandant=musterstadt", r.Method, r.Path)
	}
	if !bytes.Equal(r.Body, payload) {
		t.Errorf("body = %q, want %q", r.Body, payload)
	}
	for name, want := range map[string]string{
		"Content-Type":              "application/xml; charset=utf-8",
		"User-Agent":                "Amtsbote",
		httppost.HeaderMessageID:    messageID,
		httppost.HeaderSubmissionID: submissionID,
		httppost.HeaderAttempt:      "3",
		httppost.HeaderIdempotency:  messageID,
		"X-Mandant":                 "musterstadt",
		"X-Lower":                   "kept",
		"Authorization":             "",
		httppost.HeaderSOAPAction:   "",
		httppost.HeaderAttachments:  "",
		"X-Amtsbote-Attachment-Id":  "",
		"Content-Disposition":       "",
	} {
		if v := r.Header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
}

// soapEnvelope is a SOAP envelope as a receiver parses it.
type soapEnvelope struct {
	XMLName xml.Name
	Body    struct {
		XMLName xml.Name
		Content []struct {
			XMLName xml.Name
			Name    string `xml:"name"`
		} `xml:",any"`
	} `xml:"Body"`
}

func TestSOAP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version, action, wantNS string
		wantContentType         string
		wantMediaType           string
		wantSOAPAction          string
	}{
		{version: "1.1", action: "urn:xmeld:wohnungsgeberbestaetigung", wantNS: httppost.NamespaceSOAP11,
			wantMediaType: "text/xml", wantSOAPAction: `"urn:xmeld:wohnungsgeberbestaetigung"`},
		{version: "1.1", wantNS: httppost.NamespaceSOAP11, wantMediaType: "text/xml", wantSOAPAction: `""`},
		{version: "1.2", action: "urn:xmeld:wohnungsgeberbestaetigung", wantNS: httppost.NamespaceSOAP12,
			wantMediaType: "application/soap+xml"},
		{version: "1.2", wantNS: httppost.NamespaceSOAP12, wantMediaType: "application/soap+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.version+"/"+tt.action, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{}
			srv := serve(t, rc)
			d := newDeliverer(t, config.HTTP{URL: srv.URL, SOAP: tt.version, SOAPAction: tt.action})
			// A byte order mark and an XML declaration must both go.
			if err := d.Deliver(t.Context(), delivery(messageID, append([]byte("\xef\xbb\xbf"), payload...))); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			got := rc.got()
			if len(got) != 1 {
				t.Fatalf("received %d requests, want 1", len(got))
			}
			r := got[0]
			mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil {
				t.Fatalf("Content-Type %q: %v", r.Header.Get("Content-Type"), err)
			}
			if mt != tt.wantMediaType || params["charset"] != "utf-8" {
				t.Errorf("Content-Type = %q, want %s; charset=utf-8", r.Header.Get("Content-Type"), tt.wantMediaType)
			}
			if tt.version == "1.2" && params["action"] != tt.action {
				t.Errorf("action parameter = %q, want %q", params["action"], tt.action)
			}
			if v, ok := r.Header["Soapaction"]; tt.version == "1.1" && (!ok || v[0] != tt.wantSOAPAction) ||
				tt.version == "1.2" && ok {
				t.Errorf("SOAPAction = %q (present %v), want %q", v, ok, tt.wantSOAPAction)
			}
			var env soapEnvelope
			if err := xml.Unmarshal(r.Body, &env); err != nil {
				t.Fatalf("receiver cannot parse the envelope: %v\n%s", err, r.Body)
			}
			if env.XMLName != (xml.Name{Space: tt.wantNS, Local: "Envelope"}) {
				t.Errorf("root = %v, want {%s Envelope}", env.XMLName, tt.wantNS)
			}
			if env.Body.XMLName != (xml.Name{Space: tt.wantNS, Local: "Body"}) {
				t.Errorf("body = %v, want {%s Body}", env.Body.XMLName, tt.wantNS)
			}
			want := xml.Name{Space: "http://www.osci.de/xmeld", Local: "wohnungsgeberbestaetigung.0001"}
			if len(env.Body.Content) != 1 || env.Body.Content[0].XMLName != want {
				t.Fatalf("body content = %+v, want one %v", env.Body.Content, want)
			}
			if n := env.Body.Content[0].Name; n != "Müller-Lüdenscheidt" {
				t.Errorf("name in the document = %q, want Müller-Lüdenscheidt", n)
			}
			if n := bytes.Count(r.Body, []byte("<?xml")); n != 1 {
				t.Errorf("envelope has %d XML declarations, want 1:\n%s", n, r.Body)
			}
			if bytes.Contains(r.Body, []byte("\xef\xbb\xbf")) {
				t.Error("envelope contains the document's byte order mark")
			}
		})
	}
}

func TestSOAPRefusesOtherEncodings(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := serve(t, rc)
	d := newDeliverer(t, config.HTTP{URL: srv.URL, SOAP: "1.1"})
	doc := []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`)
	err := d.Deliver(t.Context(), delivery(messageID, doc))
	if !errors.Is(err, outbox.ErrPermanent) {
		t.Errorf("Deliver of an ISO-8859-1 document = %v, want a permanent error", err)
	}
	if n := len(rc.got()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	const user, password, token = "amtsbote", "geh:eim 123", "eyJhbGciOiJIUzI1NiJ9.e30.sig"
	check := func(w http.ResponseWriter, r *http.Request) bool {
		u, p, basicOK := r.BasicAuth()
		if basicOK && u == user && p == password || r.Header.Get("Authorization") == "Bearer "+token {
			w.WriteHeader(http.StatusOK)
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="fachverfahren"`)
		http.Error(w, "nicht angemeldet", http.StatusUnauthorized)
		return false
	}
	tests := []struct {
		name          string
		auth          config.HTTPAuth
		wantDelivered bool
	}{
		{name: "basic", auth: config.HTTPAuth{Basic: &config.BasicAuth{Username: user, Password: config.NewSecret(password)}}, wantDelivered: true},
		{name: "bearer", auth: config.HTTPAuth{Bearer: config.NewSecret(token)}, wantDelivered: true},
		{name: "wrong password", auth: config.HTTPAuth{Basic: &config.BasicAuth{Username: user, Password: config.NewSecret("falsch")}}},
		{name: "wrong token", auth: config.HTTPAuth{Bearer: config.NewSecret("falsch")}},
		{name: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{answer: check}
			srv := serve(t, rc)
			d := newDeliverer(t, config.HTTP{URL: srv.URL, Auth: tt.auth})
			err := d.Deliver(t.Context(), delivery(messageID, payload))
			if tt.wantDelivered {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				if n := len(rc.got()); n != 1 {
					t.Errorf("receiver accepted %d requests, want 1", n)
				}
				return
			}
			if !errors.Is(err, outbox.ErrPermanent) {
				t.Fatalf("Deliver = %v, want a permanent error (401)", err)
			}
			var serr *httppost.StatusError
			if !errors.As(err, &serr) || serr.StatusCode != http.StatusUnauthorized {
				t.Errorf("Deliver = %v, want a *StatusError with 401", err)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), token) {
				t.Errorf("error %q contains the credential", err)
			}
		})
	}
}

// tlsServer starts an HTTPS server with the pki's server certificate; with
// clientCAs, it requires and verifies client certificates.
func tlsServer(t *testing.T, p *pki, clientCAs bool, h http.Handler) *httptest.Server {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = quietLog
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAs {
		srv.TLS.ClientCAs = p.pool
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLS(t *testing.T) {
	t.Parallel()
	p, other := newPKI(t, "Musterstadt"), newPKI(t, "Anderswo")
	clientName := func(w http.ResponseWriter, r *http.Request) bool {
		if r.TLS == nil {
			http.Error(w, "no TLS", http.StatusBadRequest)
			return false
		}
		if len(r.TLS.PeerCertificates) > 0 {
			w.Header().Set("X-Client", r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	tests := []struct {
		name        string
		requireMTLS bool
		tls         config.HTTPTLS
		wantOK      bool
	}{
		{name: "mTLS", requireMTLS: true, tls: config.HTTPTLS{CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey}, wantOK: true},
		{name: "mTLS without client certificate", requireMTLS: true, tls: config.HTTPTLS{CAFile: p.caFile}},
		{name: "mTLS with a certificate of another CA", requireMTLS: true,
			tls: config.HTTPTLS{CAFile: p.caFile, CertFile: other.clientCert, KeyFile: other.clientKey}},
		{name: "custom CA bundle", tls: config.HTTPTLS{CAFile: p.caFile}, wantOK: true},
		{name: "unknown CA", tls: config.HTTPTLS{CAFile: other.caFile}},
		{name: "system roots", tls: config.HTTPTLS{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{answer: clientName}
			srv := tlsServer(t, p, tt.requireMTLS, rc)
			d := newDeliverer(t, config.HTTP{URL: srv.URL, TLS: tt.tls})
			err := d.Deliver(t.Context(), delivery(messageID, payload))
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				got := rc.got()
				if len(got) != 1 || !bytes.Equal(got[0].Body, payload) {
					t.Fatalf("receiver got %d requests, want the payload once", len(got))
				}
				return
			}
			if err == nil {
				t.Fatal("Deliver succeeded, want a TLS failure")
			}
			// Certificates get fixed by operators: retry rather than lose the message.
			if errors.Is(err, outbox.ErrPermanent) {
				t.Errorf("Deliver = %v: permanent, want retryable", err)
			}
			if n := len(rc.got()); n != 0 {
				t.Errorf("receiver accepted %d requests, want none", n)
			}
		})
	}
}

func TestTLSMinVersion(t *testing.T) {
	t.Parallel()
	p := newPKI(t, "Musterstadt")
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{}
	srv := httptest.NewUnstartedServer(rc)
	srv.Config.ErrorLog = quietLog
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	d := newDeliverer(t, config.HTTP{URL: srv.URL, TLS: config.HTTPTLS{CAFile: p.caFile}})
	if err := d.Deliver(t.Context(), delivery(messageID, payload)); err == nil {
		t.Error("Deliver to a TLS 1.1 server succeeded, want a failure")
	}
	if n := len(rc.got()); n != 0 {
		t.Errorf("receiver got %d requests over TLS 1.1", n)
	}
}

func TestNewTLSFileErrors(t *testing.T) {
	t.Parallel()
	p := newPKI(t, "Musterstadt")
	dir := t.TempDir()
	const secretish = "GEHEIM-nicht-ins-log"
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("-----BEGIN NOTHING-----\n"+secretish+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name     string
		tls      config.HTTPTLS
		wantFile string
	}{
		{name: "missing CA file", tls: config.HTTPTLS{CAFile: missing}, wantFile: missing},
		{name: "CA file without certificates", tls: config.HTTPTLS{CAFile: garbage}, wantFile: garbage},
		{name: "missing cert file", tls: config.HTTPTLS{CertFile: missing, KeyFile: p.clientKey}, wantFile: missing},
		{name: "missing key file", tls: config.HTTPTLS{CertFile: p.clientCert, KeyFile: missing}, wantFile: missing},
		{name: "garbage key file", tls: config.HTTPTLS{CertFile: p.clientCert, KeyFile: garbage}, wantFile: garbage},
		{name: "key of another certificate", tls: config.HTTPTLS{CertFile: p.clientCert, KeyFile: p.serverKey}, wantFile: p.serverKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := httppost.New(httppost.Config{Settings: config.HTTP{URL: "https://fachverfahren.example/", TLS: tt.tls},
				Tenant: "t", Procedure: "p", Destination: "d"})
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantFile) {
				t.Errorf("error %q does not name %s", err, tt.wantFile)
			}
			if strings.Contains(err.Error(), secretish) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error %q quotes file contents", err)
			}
		})
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	ok := config.HTTP{URL: "https://fachverfahren.example/eingang"}
	tests := []struct {
		name string
		edit func(*httppost.Config)
		want string // part of the error; "" means valid
	}{
		{name: "valid", edit: func(*httppost.Config) {}},
		{name: "valid everything", edit: func(c *httppost.Config) {
			c.Settings.SOAP, c.Settings.SOAPAction, c.Settings.Attachments = "1.2", "urn:a", "separate"
			c.Settings.Timeout = config.Duration{Duration: time.Second}
			c.Settings.Headers = map[string]string{"X-Mandant": "a"}
			c.Settings.Auth.Bearer = config.NewSecret("t")
		}},
		{name: "no url", edit: func(c *httppost.Config) { c.Settings.URL = "" }, want: "url: is required"},
		{name: "relative url", edit: func(c *httppost.Config) { c.Settings.URL = "/eingang" }, want: "absolute"},
		{name: "ftp url", edit: func(c *httppost.Config) { c.Settings.URL = "ftp://host/" }, want: "absolute"},
		{name: "credentials in url", edit: func(c *httppost.Config) { c.Settings.URL = "https://u:p@host/" }, want: "credentials"},
		{name: "soap version", edit: func(c *httppost.Config) { c.Settings.SOAP = "1.3" }, want: "soap: must be"},
		{name: "action without soap", edit: func(c *httppost.Config) { c.Settings.SOAPAction = "urn:a" }, want: "soap_action"},
		{name: "quote in action", edit: func(c *httppost.Config) { c.Settings.SOAP, c.Settings.SOAPAction = "1.1", `urn:"a` }, want: "soap_action"},
		{name: "negative timeout", edit: func(c *httppost.Config) { c.Settings.Timeout = config.Duration{Duration: -time.Second} }, want: "timeout"},
		{name: "attachments mode", edit: func(c *httppost.Config) { c.Settings.Attachments = "inline" }, want: "attachments"},
		{name: "basic and bearer", edit: func(c *httppost.Config) {
			c.Settings.Auth = config.HTTPAuth{Basic: &config.BasicAuth{Username: "u", Password: config.NewSecret("p")}, Bearer: config.NewSecret("t")}
		}, want: "exclusive"},
		{name: "basic without password", edit: func(c *httppost.Config) {
			c.Settings.Auth.Basic = &config.BasicAuth{Username: "u"}
		}, want: "username and password"},
		{name: "colon in user", edit: func(c *httppost.Config) {
			c.Settings.Auth.Basic = &config.BasicAuth{Username: "u:x", Password: config.NewSecret("p")}
		}, want: "username"},
		{name: "bearer with newline", edit: func(c *httppost.Config) { c.Settings.Auth.Bearer = config.NewSecret("a\nb") }, want: "bearer"},
		{name: "cert without key", edit: func(c *httppost.Config) { c.Settings.TLS.CertFile = "c.pem" }, want: "go together"},
		{name: "bad header name", edit: func(c *httppost.Config) { c.Settings.Headers = map[string]string{"X Mandant": "a"} }, want: "header name"},
		{name: "bad header value", edit: func(c *httppost.Config) { c.Settings.Headers = map[string]string{"X-Key": "a\r\nX-Evil: 1"} }, want: "control"},
		{name: "reserved header", edit: func(c *httppost.Config) { c.Settings.Headers = map[string]string{"content-type": "text/plain"} }, want: "Content-Type"},
		{name: "own header", edit: func(c *httppost.Config) { c.Settings.Headers = map[string]string{"X-Amtsbote-Message-Id": "x"} }, want: "X-Amtsbote-Message-Id"},
		{name: "idempotency header", edit: func(c *httppost.Config) { c.Settings.Headers = map[string]string{"Idempotency-Key": "x"} }, want: "Idempotency-Key"},
		{name: "authorization with auth", edit: func(c *httppost.Config) {
			c.Settings.Auth.Bearer = config.NewSecret("t")
			c.Settings.Headers = map[string]string{"Authorization": "ApiKey x"}
		}, want: "Authorization"},
		{name: "no tenant", edit: func(c *httppost.Config) { c.Tenant = "" }, want: "tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := httppost.Config{Settings: ok, Tenant: "musterstadt", Procedure: "p", Destination: "d"}
			tt.edit(&cfg)
			_, err := httppost.New(cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("New succeeded, want an error about %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := httppost.Config{Settings: config.HTTP{SOAP: "2", Attachments: "x", Headers: map[string]string{"X-Key": "geheim\n"}}}.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	for _, want := range []string{"url", "soap", "attachments", "headers", "tenant", "procedure", "destination"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "geheim") {
		t.Errorf("error %q quotes a header value", err)
	}
}

func TestStatusClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   string // "delivered", "permanent", "retry"
	}{
		{200, "delivered"}, {201, "delivered"}, {202, "delivered"}, {204, "delivered"},
		{301, "permanent"}, {302, "permanent"}, {307, "permanent"},
		{400, "permanent"}, {401, "permanent"}, {403, "permanent"}, {404, "permanent"},
		{409, "permanent"}, {413, "permanent"}, {415, "permanent"}, {422, "permanent"},
		{408, "retry"}, {425, "retry"}, {429, "retry"},
		{500, "retry"}, {502, "retry"}, {503, "retry"}, {504, "retry"},
	}
	var mu sync.Mutex
	redirected := 0
	target := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		redirected++
		mu.Unlock()
	}))
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status >= 300 && tt.status < 400 {
					w.Header().Set("Location", target.URL)
				}
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, "Antwort %d\n\x1b[31mmit Steuerzeichen", tt.status)
			}))
			d := newDeliverer(t, config.HTTP{URL: srv.URL + "/eingang?token=abc"})
			err := d.Deliver(t.Context(), delivery(messageID, payload))
			switch tt.want {
			case "delivered":
				if err != nil {
					t.Fatalf("Deliver = %v, want delivered", err)
				}
				return
			case "permanent":
				if !errors.Is(err, outbox.ErrPermanent) {
					t.Fatalf("Deliver = %v, want a permanent error", err)
				}
			case "retry":
				if err == nil || errors.Is(err, outbox.ErrPermanent) {
					t.Fatalf("Deliver = %v, want a retryable error", err)
				}
			}
			var serr *httppost.StatusError
			if !errors.As(err, &serr) || serr.StatusCode != tt.status || serr.Retryable() != (tt.want == "retry") {
				t.Fatalf("Deliver = %#v, want a *StatusError with status %d", err, tt.status)
			}
			host := strings.TrimPrefix(srv.URL, "http://")
			msg := err.Error()
			for _, want := range []string{fmt.Sprint(tt.status), host, messageID, "Antwort"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			for _, leak := range []string{"token=abc", "/eingang", "Müller", "\x1b"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q contains %q", msg, leak)
				}
			}
		})
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if redirected != 0 {
			t.Errorf("a redirect was followed %d times", redirected)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		header   string
		min, max time.Duration // of Delay; max 0 means "no *RetryAfterError"
	}{
		{name: "seconds on 503", status: 503, header: "120", min: 120 * time.Second, max: 120 * time.Second},
		{name: "seconds on 429", status: 429, header: "7", min: 7 * time.Second, max: 7 * time.Second},
		{name: "zero", status: 503, header: "0", min: 0, max: 0},
		{name: "http-date", status: 503, header: time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat),
			min: 80 * time.Second, max: 91 * time.Second},
		{name: "huge", status: 429, header: "99999999999999999999999", min: httppost.MaxRetryAfter, max: httppost.MaxRetryAfter},
		{name: "malformed", status: 503, header: "bald"},
		{name: "absent", status: 503},
		{name: "ignored on permanent", status: 400, header: "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.status)
			}))
			d := newDeliverer(t, config.HTTP{URL: srv.URL})
			err := d.Deliver(t.Context(), delivery(messageID, payload))
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			var ra *httppost.RetryAfterError
			hasRA := errors.As(err, &ra)
			wantRA := tt.max > 0 || tt.name == "zero"
			if hasRA != wantRA {
				t.Fatalf("Deliver = %v: *RetryAfterError %v, want %v", err, hasRA, wantRA)
			}
			if !hasRA {
				return
			}
			if ra.Delay < tt.min || ra.Delay > tt.max {
				t.Errorf("Delay = %s, want %s to %s", ra.Delay, tt.min, tt.max)
			}
			var serr *httppost.StatusError
			if !errors.As(err, &serr) || serr.StatusCode != tt.status {
				t.Errorf("*RetryAfterError does not wrap the status %d: %v", tt.status, err)
			}
			if errors.Is(err, outbox.ErrPermanent) {
				t.Errorf("Deliver = %v: permanent", err)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	hold, release := holdUntilDone(t)
	srv := serve(t, hold)
	t.Cleanup(release)
	d := newDeliverer(t, config.HTTP{URL: srv.URL, Timeout: config.Duration{Duration: 100 * time.Millisecond}})
	err := d.Deliver(t.Context(), delivery(messageID, payload))
	if err == nil || errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("Deliver = %v, want a timeout", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	d := newDeliverer(t, config.HTTP{URL: "http://" + addr + "/eingang?token=abc"})
	err = d.Deliver(t.Context(), delivery(messageID, payload))
	if err == nil || errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "token=abc") {
		t.Errorf("error %q should name %s and not the path", err, addr)
	}
}

func TestAttachmentsMultipart(t *testing.T) {
	t.Parallel()
	for _, soap := range []string{"", "1.1", "1.2"} {
		t.Run("soap "+soap, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{}
			srv := serve(t, rc)
			s := config.HTTP{URL: srv.URL, SOAP: soap}
			if soap != "" {
				s.SOAPAction = "urn:xbau:antrag"
			}
			d := newDeliverer(t, s)
			dl := delivery(messageID, attachmentZIP(t, messageID, payload, testFiles))
			dl.Metadata[outbox.MetaContentType] = "application/zip"
			dl.Metadata[outbox.MetaMessageType] = "xbau.baugenehmigung.antrag.0200"
			if err := d.Deliver(t.Context(), dl); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			got := rc.got()
			if len(got) != 1 {
				t.Fatalf("received %d requests, want 1", len(got))
			}
			r := got[0]
			if r.Header.Get(httppost.HeaderIdempotency) != messageID || r.Header.Get(httppost.HeaderMessageID) != messageID {
				t.Errorf("headers = %v, want the message id", r.Header)
			}
			if soap == "1.1" && r.Header.Get("SOAPAction") != `"urn:xbau:antrag"` {
				t.Errorf("SOAPAction = %q", r.Header.Get("SOAPAction"))
			}
			mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/related" {
				t.Fatalf("Content-Type = %q (%v), want multipart/related", r.Header.Get("Content-Type"), err)
			}
			wantRootType := map[string]string{"": "application/xml", "1.1": "text/xml", "1.2": "application/soap+xml"}[soap]
			if params["type"] != wantRootType || params["start"] != "<"+messageID+"@amtsbote>" {
				t.Errorf("multipart parameters = %v, want type %s and start <%s@amtsbote>", params, wantRootType, messageID)
			}
			mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
			root, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			if root.Header.Get("Content-Id") != params["start"] {
				t.Errorf("root Content-ID = %q, want %q", root.Header.Get("Content-Id"), params["start"])
			}
			rootBody, err := io.ReadAll(root)
			if err != nil {
				t.Fatal(err)
			}
			rootMT, _, _ := mime.ParseMediaType(root.Header.Get("Content-Type"))
			if rootMT != wantRootType {
				t.Errorf("root Content-Type = %q, want %s", root.Header.Get("Content-Type"), wantRootType)
			}
			if soap == "" && !bytes.Equal(rootBody, payload) {
				t.Errorf("root part = %q, want the XML", rootBody)
			}
			if soap != "" {
				var env soapEnvelope
				if err := xml.Unmarshal(rootBody, &env); err != nil || env.XMLName.Local != "Envelope" ||
					len(env.Body.Content) != 1 || env.Body.Content[0].XMLName.Local != "wohnungsgeberbestaetigung.0001" {
					t.Errorf("root part is not the envelope of the document (%v): %s", err, rootBody)
				}
			}
			for i, f := range testFiles {
				p, err := mr.NextPart()
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				body, err := io.ReadAll(p)
				if err != nil {
					t.Fatal(err)
				}
				if p.FileName() != f.name || p.Header.Get("Content-Type") != f.contentType ||
					p.Header.Get("Content-Id") != "<"+f.id+"@amtsbote>" || !bytes.Equal(body, f.content) {
					t.Errorf("part %d: file %q, type %q, id %q, %d bytes; want %q, %q, <%s@amtsbote>, %d bytes",
						i+1, p.FileName(), p.Header.Get("Content-Type"), p.Header.Get("Content-Id"), len(body),
						f.name, f.contentType, f.id, len(f.content))
				}
			}
			if _, err := mr.NextPart(); err != io.EOF {
				t.Errorf("after the files: %v, want the end", err)
			}
		})
	}
}

func TestAttachmentsSeparate(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := serve(t, rc)
	d := newDeliverer(t, config.HTTP{URL: srv.URL + "/eingang", Attachments: "separate",
		Auth: config.HTTPAuth{Bearer: config.NewSecret("token")}})
	dl := delivery(messageID, attachmentZIP(t, messageID, payload, testFiles))
	dl.Metadata[outbox.MetaContentType] = "application/zip"
	if err := d.Deliver(t.Context(), dl); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := rc.got()
	if len(got) != 1+len(testFiles) {
		t.Fatalf("received %d requests, want %d", len(got), 1+len(testFiles))
	}
	first := got[0]
	if !bytes.Equal(first.Body, payload) || first.Header.Get("Content-Type") != "application/xml; charset=utf-8" ||
		first.Header.Get(httppost.HeaderAttachments) != fmt.Sprint(len(testFiles)) ||
		first.Header.Get(httppost.HeaderIdempotency) != messageID {
		t.Errorf("first request: %v %q, want the XML announcing %d attachments", first.Header, first.Body, len(testFiles))
	}
	for i, f := range testFiles {
		r := got[1+i]
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
		if err != nil {
			t.Fatalf("attachment %d: Content-Disposition %q: %v", i+1, r.Header.Get("Content-Disposition"), err)
		}
		for name, want := range map[string]string{
			httppost.HeaderAttachmentID: f.id,
			httppost.HeaderMessageID:    messageID,
			httppost.HeaderIdempotency:  messageID + "/" + f.id,
			"Content-Type":              f.contentType,
			"Authorization":             "Bearer token",
			"User-Agent":                "Amtsbote",
		} {
			if v := r.Header.Get(name); v != want {
				t.Errorf("attachment %d: %s = %q, want %q", i+1, name, v, want)
			}
		}
		if params["filename"] != f.name || r.Path != "/eingang" || !bytes.Equal(r.Body, f.content) {
			t.Errorf("attachment %d: %s %q, %d bytes; want /eingang %q, %d bytes", i+1, r.Path, params["filename"],
				len(r.Body), f.name, len(f.content))
		}
	}
}

func TestXdomeaContainer(t *testing.T) {
	t.Parallel()
	for _, soap := range []string{"", "1.2"} {
		t.Run("soap "+soap, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{}
			srv := serve(t, rc)
			d := newDeliverer(t, config.HTTP{URL: srv.URL, SOAP: soap})
			// An xdomea container holds other names than <id>.xml: it travels as it is.
			container := attachmentZIP(t, "a1b2c3d4_Nachricht", []byte("<xdomea/>"), testFiles[:1])
			dl := delivery(messageID, container)
			dl.Metadata[outbox.MetaContentType] = "application/zip"
			dl.Metadata[outbox.MetaMessageType] = "xdomea.0401"
			dl.Metadata[outbox.MetaFileName] = messageID + "_FVDaten.SGOAblegen.0605"
			if err := d.Deliver(t.Context(), dl); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			got := rc.got()
			if len(got) != 1 || !bytes.Equal(got[0].Body, container) || got[0].Header.Get("Content-Type") != "application/zip" {
				t.Fatalf("received %d requests, want the container once as application/zip", len(got))
			}
			// Named like the xdomea message inside it (MetaFileName).
			if cd, want := got[0].Header.Get("Content-Disposition"), "filename="+messageID+"_FVDaten.SGOAblegen.0605.zip"; !strings.Contains(cd, want) {
				t.Errorf("Content-Disposition = %q, want %s", cd, want)
			}
		})
	}
}

func TestMalformedPayloadIsPermanent(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := serve(t, rc)
	d := newDeliverer(t, config.HTTP{URL: srv.URL})
	tests := []struct {
		name, contentType string
		payload           []byte
	}{
		{name: "empty", contentType: "application/xml"},
		{name: "not a zip", contentType: "application/zip", payload: payload},
		{name: "zip without the message", contentType: "application/zip", payload: attachmentZIP(t, "other", payload, nil)},
		{name: "zip with a stray entry", contentType: "application/zip",
			payload: attachmentZIP(t, messageID, payload, []testFile{{id: "x/y", name: "z", content: []byte("a")}})},
		{name: "other content type", contentType: "application/pdf", payload: payload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := delivery(messageID, tt.payload)
			dl.Metadata[outbox.MetaContentType] = tt.contentType
			if err := d.Deliver(t.Context(), dl); !errors.Is(err, outbox.ErrPermanent) {
				t.Errorf("Deliver = %v, want a permanent error", err)
			}
		})
	}
	if n := len(rc.got()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
}

// TestProbe: the probe succeeds while the receiver accepts connections and
// fails once it does not (outbox.Prober), and sends no request.
func TestProbe(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := serve(t, rc)
	d := newDeliverer(t, config.HTTP{URL: srv.URL + "/in"})
	if err := d.Probe(t.Context()); err != nil {
		t.Fatalf("Probe of a listening receiver: %v", err)
	}
	if got := rc.got(); len(got) != 0 {
		t.Fatalf("the probe sent %d requests, want none", len(got))
	}
	srv.Close()
	if err := d.Probe(t.Context()); err == nil {
		t.Fatal("Probe of a closed receiver succeeded")
	}
}
