package envelope_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

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

func TestMapGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input func(t *testing.T) transform.Input
	}{
		{
			name: "demo",
			input: func(t *testing.T) transform.Input {
				return fullInput(mappertest.ReadSubmission(t, "../../testdata/submissions/demo.json"))
			},
		},
		{
			name: "sonderzeichen",
			input: func(t *testing.T) transform.Input {
				in := fullInput(mappertest.ReadSubmission(t, "testdata/sonderzeichen.json"))
				in.Author.Name = "Gemeinde Ae\u0301 & <Söhne> \"Ort\""
				in.Product.Version = "1.2.3-rc.1+g1234abc"
				return in
			},
		},
		{
			// Only what Map requires: no parties, no product, no AGS.
			name: "minimal",
			input: func(t *testing.T) transform.Input {
				return transform.Input{
					Submission: mappertest.ReadSubmission(t, "testdata/minimal.json"),
					MessageID:  "5F2C8E1A-93B7-4D06-8E4F-A1B2C3D4E5F6",
					CreatedAt:  time.Date(2026, 11, 28, 10, 0, 0, 999999999, time.UTC),
				}
			},
		},
	}
	m := envelope.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := m.Map(tt.input(t))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if doc.MessageType != envelope.MessageType {
				t.Errorf("MessageType = %q, want %q", doc.MessageType, envelope.MessageType)
			}
			xoevtest.Golden(t, filepath.Join("testdata", tt.name+".golden.xml"), doc.XML)
			validateXML(t, doc.XML)
		})
	}
}

// validateXML validates doc against envelope.Schema with xmllint. Without
// xmllint the test is skipped, unless CI=true, where it fails.
func validateXML(t *testing.T, doc []byte) {
	t.Helper()
	if err := xmllint(t, doc); err != nil {
		t.Errorf("output does not validate against envelope.xsd: %v", err)
	}
}

// xmllint validates doc against envelope.Schema and returns xmllint's
// complaint, if any (see xoevtest.Check).
func xmllint(t *testing.T, doc []byte) error {
	t.Helper()
	return xoevtest.Check(t, xoevtest.WriteSchema(t, "envelope.xsd", envelope.Schema), doc)
}

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	t.Parallel()
	m := envelope.New()
	doc, err := m.Map(fullInput(mappertest.ReadSubmission(t, "../../testdata/submissions/demo.json")))
	if err != nil {
		t.Fatal(err)
	}
	valid := string(doc.XML)
	tests := []struct{ name, old, new string }{
		{"feld without name", `<ab:feld name="art">`, `<ab:feld>`},
		{"wrong nachrichtentyp", `<ab:nachrichtentyp>einreichung.0001<`, `<ab:nachrichtentyp>einreichung.0002<`},
		{"local time", `<ab:erstellungszeitpunkt>2026-11-28T10:00:00Z<`, `<ab:erstellungszeitpunkt>2026-11-28T11:00:00+01:00<`},
		{"message id not a UUID", `<ab:nachrichtenUUID>5f2c8e1a-`, `<ab:nachrichtenUUID>x5f2c8e1a-`},
		{"unknown element", `<ab:daten>`, `<ab:daten><ab:sonstiges/>`},
		{"wrong namespace", `xmlns:ab="urn:amtsbote:envelope:1"`, `xmlns:ab="urn:amtsbote:envelope:2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(valid, tt.old) {
				t.Fatalf("demo output does not contain %q", tt.old)
			}
			broken := strings.Replace(valid, tt.old, tt.new, 1)
			if err := xmllint(t, []byte(broken)); err == nil {
				t.Errorf("xmllint accepted the document with %s", tt.name)
			}
		})
	}
}

func TestMapDeterministic(t *testing.T) {
	t.Parallel()
	m := envelope.New()
	in := fullInput(mappertest.ReadSubmission(t, "testdata/sonderzeichen.json"))
	// Go randomises map iteration, so repeated runs expose any dependence on it.
	mappertest.MapDeterministic(t, m, in, 50)
}

// TestMapRoundTrip parses the output back and checks that text survives
// escaping and indentation unchanged (in NFC).
func TestMapRoundTrip(t *testing.T) {
	t.Parallel()
	s := mappertest.ReadSubmission(t, "testdata/minimal.json")
	values := map[string]string{
		"xml":                             `<a href="x">&amp; 'q'</a>`,
		"zeilen":                          "Zeile 1\r\nZeile 2\rZeile 3\n",
		"tab":                             "\tvorne und hinten\t",
		"leerzeichen":                     "   ",
		"nfd":                             "Rene\u0301 Mu\u0308ller",
		"schlüssel\tmit\r\nsteuerzeichen": "wert",
	}
	s.Data = map[string]any{}
	for k, v := range values {
		s.Data[k] = v
	}
	doc, err := envelope.New().Map(fullInput(s))
	if err != nil {
		t.Fatal(err)
	}
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(doc.XML); err != nil {
		t.Fatalf("parse output: %v", err)
	}
	daten := parsed.FindElement("/einreichung.0001/daten")
	if daten == nil {
		t.Fatal("no daten element")
	}
	got := map[string]string{}
	for _, f := range daten.SelectElements("feld") {
		got[f.SelectAttrValue("name", "")] = f.Text()
	}
	for k, v := range values {
		k, v = transform.NormalizeText(k), transform.NormalizeText(v)
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("feld %q = %q (present %v), want %q", k, g, ok, v)
		}
	}
	if bytes.Contains(doc.XML, []byte("e\u0301")) || !bytes.Contains(doc.XML, []byte("René Müller")) {
		t.Error("text is not written in NFC")
	}
}

func TestMapErrors(t *testing.T) {
	t.Parallel()
	valid := fullInput(mappertest.ReadSubmission(t, "testdata/minimal.json"))
	tests := []struct {
		name    string
		modify  func(in *transform.Input)
		invalid bool   // a *transform.ValidationError is expected
		want    string // part of the error message
	}{
		{"invalid submission", func(in *transform.Input) { in.Submission.Applicant = map[string]any{"name": "Иван"} }, true, `"/applicant/name" unsupported_character`},
		{"no data", func(in *transform.Input) { in.Submission.Data = nil }, true, `"/data" required`},
		{"message id", func(in *transform.Input) { in.MessageID = "../../etc/passwd" }, false, "message id is not a UUID"},
		{"empty message id", func(in *transform.Input) { in.MessageID = "" }, false, "message id is not a UUID"},
		{"submission id", func(in *transform.Input) { in.Submission.ID = "0b0f1c6e7d4a4f5e9a513c2d1e0f9a8b" }, false, "submission id is not a UUID"},
		{"tenant", func(in *transform.Input) { in.Submission.Tenant = "" }, false, "tenant is empty"},
		{"procedure", func(in *transform.Input) { in.Submission.Procedure = "" }, false, "procedure is empty"},
		{"created", func(in *transform.Input) { in.CreatedAt = time.Time{} }, false, "creation time is zero"},
		{"received", func(in *transform.Input) { in.Submission.ReceivedAt = time.Time{} }, false, "receipt time is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := valid
			tt.modify(&in)
			mappertest.CheckMapError(t, envelope.New(), in, tt.invalid, tt.want)
		})
	}
}
