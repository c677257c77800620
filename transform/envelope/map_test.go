package envelope_test

import (
	"bytes"
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

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	t.Parallel()
	m := envelope.New()
	doc, err := m.Map(fullInput(mappertest.ReadSubmission(t, "../../testdata/submissions/demo.json")))
	if err != nil {
		t.Fatal(err)
	}
	xsd := xoevtest.WriteSchema(t, "envelope.xsd", envelope.Schema)
	mappertest.SchemaRejects(t, xsd, doc.XML, []mappertest.Breakage{
		{Name: "feld without name", Old: `<ab:feld name="art">`, New: `<ab:feld>`},
		{Name: "wrong nachrichtentyp", Old: `<ab:nachrichtentyp>einreichung.0001<`, New: `<ab:nachrichtentyp>einreichung.0002<`},
		{Name: "local time", Old: `<ab:erstellungszeitpunkt>2026-11-28T10:00:00Z<`, New: `<ab:erstellungszeitpunkt>2026-11-28T11:00:00+01:00<`},
		{Name: "message id not a UUID", Old: `<ab:nachrichtenUUID>5f2c8e1a-`, New: `<ab:nachrichtenUUID>x5f2c8e1a-`},
		{Name: "unknown element", Old: `<ab:daten>`, New: `<ab:daten><ab:sonstiges/>`},
		{Name: "wrong namespace", Old: `xmlns:ab="urn:amtsbote:envelope:1"`, New: `xmlns:ab="urn:amtsbote:envelope:2"`},
	})
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
