package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestContentRulesRefused: the content rules of the XÖV messages (code lists,
// Anlagen, plausible dates, the Gebäudeklasse) refuse bad input through the
// real binary with 422 at the field's pointer, in German and in English,
// and store nothing.
func TestContentRulesRefused(t *testing.T) {
	t.Parallel()
	p := start(t, t.TempDir(), []string{"AMTSBOTE_DEMO_PORTAL_KEY=demo-key"})

	example := func(name string) map[string]any {
		raw, err := os.ReadFile("../testdata/submissions/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	data := func(v map[string]any) map[string]any { return v["data"].(map[string]any) }

	tests := []struct {
		name    string
		body    func() map[string]any
		pointer string
	}{
		{"unknown Art der Maßnahme", func() map[string]any {
			v := example("bau.baugenehmigung-minimal.json")
			data(v)["bauvorhaben"].(map[string]any)["artDerMassnahme"] = []any{"99"}
			return v
		}, "/data/bauvorhaben/artDerMassnahme/0"},
		{"unknown Anlageart", func() map[string]any {
			v := example("bau.baugenehmigung-minimal.json")
			data(v)["anlagen"].([]any)[0].(map[string]any)["anlageart"] = "0050"
			return v
		}, "/data/anlagen/0/anlageart"},
		{"Anlage neither attached nor announced", func() map[string]any {
			v := example("bau.baugenehmigung-minimal.json")
			delete(data(v)["anlagen"].([]any)[0].(map[string]any), "wirdNachgereicht")
			return v
		}, "/data/anlagen/0"},
		{"Gebäudeklasse below the height's", func() map[string]any {
			v := example("bau.baugenehmigung-minimal.json")
			data(v)["bauvorhaben"].(map[string]any)["klassifikation"] = map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": 20.5}
			return v
		}, "/data/bauvorhaben/klassifikation/gebaeudeklasse"},
		{"confirmation years before the Einzug", func() map[string]any {
			v := example("demo.json")
			data(v)["bestaetigungsdatum"] = "2019-01-15"
			return v
		}, "/data/bestaetigungsdatum"},
		{"unknown Gewerbe code", func() map[string]any {
			v := example("gewerbe.anmeldung-minimal.json")
			data(v)["niederlassung"] = "filiale"
			return v
		}, "/data/niederlassung"},
	}
	for _, tt := range tests {
		body, err := json.Marshal(tt.body())
		if err != nil {
			t.Fatal(err)
		}
		details := map[string]string{}
		for _, lang := range []string{"de", "en"} {
			req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/submissions", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer demo-key")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept-Language", lang)
			code, resp := do(t, req)
			if code != http.StatusUnprocessableEntity {
				t.Errorf("%s (%s): %d, want 422: %v", tt.name, lang, code, resp)
				continue
			}
			detail := problemDetail(resp, tt.pointer)
			if detail == "" {
				t.Errorf("%s (%s): no problem at %s: %v", tt.name, lang, tt.pointer, resp)
			}
			details[lang] = detail
		}
		if details["de"] != "" && details["de"] == details["en"] {
			t.Errorf("%s: the same detail in German and English: %q", tt.name, details["de"])
		}
	}

	// Nothing was stored: the portal's list is empty.
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/v1/submissions", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer demo-key")
	if code, resp := do(t, req); code != http.StatusOK || len(resp["submissions"].([]any)) != 0 {
		t.Errorf("submissions after refused requests: %d %v, want none", code, resp)
	}
}

// problemDetail returns the detail of the problem in resp's errors that
// points at pointer, or "" when there is none.
func problemDetail(resp map[string]any, pointer string) string {
	errs, _ := resp["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		if m["pointer"] == pointer {
			if d, _ := m["detail"].(string); d != "" {
				return d
			}
			return strings.TrimSpace(toJSON(m))
		}
	}
	return ""
}
