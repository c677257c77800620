package envelope_test

import (
	"bytes"
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
	return mappertest.Input(s, mappertest.Buergeramt, mappertest.Meldebehoerde)
}

// suite describes the mapper for the shared mapper tests.
func suite(t testing.TB) mappertest.Suite {
	t.Helper()
	read := func(path string) func(t testing.TB) transform.Input {
		return func(t testing.TB) transform.Input { return fullInput(mappertest.ReadSubmission(t, path)) }
	}
	return mappertest.Suite{
		Mapper:      envelope.New(),
		MessageType: envelope.MessageType,
		Root:        envelope.Nachrichtentyp,
		Schema: func(t testing.TB) string {
			return xoevtest.WriteSchema(t, "envelope.xsd", envelope.Schema)
		},
		Valid:         read("testdata/minimal.json"),
		Deterministic: read("testdata/sonderzeichen.json"),
		Golden: []mappertest.Golden{
			{Name: "demo", Input: read("../../testdata/submissions/demo.json")},
			{Name: "sonderzeichen", Input: func(t testing.TB) transform.Input {
				in := fullInput(mappertest.ReadSubmission(t, "testdata/sonderzeichen.json"))
				in.Author.Name = "Gemeinde Ae\u0301 & <Söhne> \"Ort\""
				in.Product.Version = "1.2.3-rc.1+g1234abc"
				return in
			}},
			// Only what Map requires: no parties, no product, no AGS.
			{Name: "minimal", Input: func(t testing.TB) transform.Input {
				return transform.Input{
					Submission: mappertest.ReadSubmission(t, "testdata/minimal.json"),
					MessageID:  "5F2C8E1A-93B7-4D06-8E4F-A1B2C3D4E5F6",
					CreatedAt:  time.Date(2026, 11, 28, 10, 0, 0, 999999999, time.UTC),
				}
			}},
		},
		MapErrors: []mappertest.MapError{
			{Name: "invalid submission", Modify: func(in *transform.Input) { in.Submission.Applicant = map[string]any{"name": "Иван"} },
				Invalid: true, Want: `"/applicant/name" unsupported_character`},
			{Name: "tenant", Modify: func(in *transform.Input) { in.Submission.Tenant = "" }, Want: "tenant is empty"},
			{Name: "procedure", Modify: func(in *transform.Input) { in.Submission.Procedure = "" }, Want: "procedure is empty"},
		},
	}
}

// TestMapper runs the tests every mapper shares: golden files, schema
// validity, determinism, errors.
func TestMapper(t *testing.T) {
	t.Parallel()
	mappertest.Run(t, suite(t))
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
