package xmeld_test

import (
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
