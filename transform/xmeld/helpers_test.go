package xmeld_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// examples are the example requests of the procedure, by golden file name.
var examples = map[string]string{
	"demo":             "../../testdata/submissions/demo.json",
	"minimal":          "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-minimal.json",
	"maximal":          "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-maximal.json",
	"organisation":     "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-organisation.json",
	"mehrere-personen": "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-mehrere-personen.json",
	"lange-namen":      "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-lange-namen.json",
	"auszug":           "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-auszug.json",
}

// requestBody is a portal request as the tests decode it.
type requestBody struct {
	Tenant    string         `json:"tenant"`
	Procedure string         `json:"procedure"`
	Applicant map[string]any `json:"applicant"`
	Data      map[string]any `json:"data"`
	Identity  *struct {
		Method           string `json:"method"`
		Provider         string `json:"provider"`
		TrustLevel       string `json:"trust_level"`
		PostboxReference string `json:"postbox_reference"`
	} `json:"identity"`
}

// decodeBody decodes a request body the way the intake does (numbers as
// json.Number) into a Submission with fixed id and receipt time.
func decodeBody(raw []byte, disallowUnknown bool) (transform.Submission, error) {
	var body requestBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&body); err != nil {
		return transform.Submission{}, err
	}
	s := transform.Submission{
		ID:         "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		Tenant:     body.Tenant,
		Procedure:  body.Procedure,
		Applicant:  body.Applicant,
		Data:       body.Data,
		ReceivedAt: time.Date(2026, 11, 28, 9, 59, 58, 123456789, time.FixedZone("CET", 3600)),
	}
	if id := body.Identity; id != nil {
		s.Identity = &transform.Identity{Method: id.Method, Provider: id.Provider, TrustLevel: id.TrustLevel, PostboxReference: id.PostboxReference}
	}
	return s, nil
}

func readSubmission(t testing.TB, path string) transform.Submission {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := decodeBody(raw, true)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return s
}

// fullInput returns an Input with every Nachrichtenkopf value set.
func fullInput(s transform.Submission) transform.Input {
	return transform.Input{
		Submission: s,
		MessageID:  "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6",
		Author: transform.Party{
			ID: "musterstadt-buergeramt", Name: "Stadt Musterstadt, Bürgeramt",
			Kennung: "psw:01234567", AGS: "01234567",
		},
		Reader: transform.Party{
			ID: "musterstadt-meldebehoerde", Name: "Stadt Musterstadt, Meldebehörde",
			Kennung: "psw:01234568",
		},
		Product:   transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "dev"},
		CreatedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
	}
}

func newMapper(t testing.TB) *xmeld.Wohnungsgeberbestaetigung {
	t.Helper()
	m, err := xmeld.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// schemaPath returns xmeld.Schema as a file whose imports point to the official
// XÖV library schemas.
func schemaPath(t testing.TB) string {
	t.Helper()
	return xoevtest.LocalSchema(t, "wohnungsgeberbestaetigung.xsd", xmeld.Schema)
}

// lineDiff describes the first differing line of want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference in line %d:\nwant: %q\n got: %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}
