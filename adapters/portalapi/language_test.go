package portalapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
)

// Every problem, not only 422, is written in the language negotiated from
// Accept-Language, with Content-Language and Vary.
func TestProblemsInGerman(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const unknownID = "/v1/submissions/0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"
	tests := []struct {
		name    string
		send    func(lang ...string) response
		status  int
		typ     string
		titleDE string
	}{
		{
			"unauthorized", func(lang ...string) response { return e.submit(t, "", readDemo(t), lang...) },
			http.StatusUnauthorized, portalapi.ProblemUnauthorized, "Nicht authentifiziert",
		},
		{
			"not found", func(lang ...string) response { return e.do(t, http.MethodGet, unknownID, demoKey, nil, lang...) },
			http.StatusNotFound, portalapi.ProblemNotFound, "Nicht gefunden",
		},
		{
			"method not allowed", func(lang ...string) response { return e.do(t, http.MethodDelete, unknownID, demoKey, nil, lang...) },
			http.StatusMethodNotAllowed, portalapi.ProblemMethodNotAllowed, "Methode nicht erlaubt",
		},
		{
			"unsupported media type", func(lang ...string) response {
				return e.do(t, http.MethodPost, "/v1/submissions", demoKey, bytes.NewReader(readDemo(t)),
					append([]string{"Content-Type", "text/plain"}, lang...)...)
			},
			http.StatusUnsupportedMediaType, portalapi.ProblemUnsupportedMediaType, "Nicht unterstützter Medientyp",
		},
		{
			"malformed", func(lang ...string) response { return e.submit(t, demoKey, []byte(`{"tenant":`), lang...) },
			http.StatusBadRequest, portalapi.ProblemMalformedRequest, "Fehlerhafte Anfrage",
		},
		{
			"forbidden", func(lang ...string) response {
				return e.submit(t, demoKey, demoBody(t, func(m map[string]any) { m["tenant"] = otherTenant }), lang...)
			},
			http.StatusForbidden, portalapi.ProblemForbidden, "Nicht erlaubt",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			en := problemOf(t, tt.send(), tt.status, tt.typ)
			explicitEN := problemIn(t, tt.send("Accept-Language", "en-GB, de;q=0.5"), tt.status, tt.typ, "en")
			rDE := tt.send("Accept-Language", "de-AT")
			de := problemIn(t, rDE, tt.status, tt.typ, "de")
			if en.Title != explicitEN.Title || en.Detail != explicitEN.Detail {
				t.Errorf("problem without Accept-Language %+v differs from English %+v", en, explicitEN)
			}
			if de.Title != tt.titleDE {
				t.Errorf("German title = %q, want %q", de.Title, tt.titleDE)
			}
			if de.Detail == "" || de.Detail == en.Detail {
				t.Errorf("German detail = %q, English %q: want a translation", de.Detail, en.Detail)
			}
			if !strings.Contains(strings.Join(rDE.header.Values("Vary"), ","), "Accept-Language") {
				t.Errorf("Vary = %q, want Accept-Language", rDE.header.Values("Vary"))
			}
		})
	}
}
