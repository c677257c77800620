package xgewerbe_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xgewerbe"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// examples are the request bodies in testdata/submissions, by golden name.
var examples = []string{"minimal", "maximal", "gmbh", "lange-namen", "ek"}

func examplePath(name string) string {
	return filepath.Join("..", "..", "testdata", "submissions", "gewerbe.anmeldung-"+name+".json")
}

// receivedAt is the receipt time of the example submissions: 00:59:58 on
// the 29th in Berlin, a day after the UTC date.
var receivedAt = time.Date(2026, 11, 28, 23, 59, 58, 123456789, time.UTC)

// readSubmission reads an example request with mappertest.ReadSubmission,
// received at receivedAt.
func readSubmission(t testing.TB, path string) transform.Submission {
	t.Helper()
	s := mappertest.ReadSubmission(t, path)
	s.ReceivedAt = receivedAt
	return s
}

// reader is the reader of the example messages, sent by mappertest.Gewerbeamt.
var reader = transform.Party{
	ID: "musterstadt-gewerbefachverfahren", Name: "Stadt Musterstadt, Gewerbefachverfahren",
	Kennung: "gad:01234568",
}

// The Behördenkennungen of Autor and Leser in the 2.2 example's form: an
// AGS under praefix MELDID, an Ausländerbehörden-Kennung under azr.
const (
	exampleAutorKennung = "MELDID:01234567"
	exampleLeserKennung = "azr:000100"
)

// fullInput returns an Input with every Nachrichtenkopf value set, created
// 00:00:05 on the 29th (UTC).
func fullInput(s transform.Submission) transform.Input {
	in := mappertest.Input(s, mappertest.Gewerbeamt, reader)
	in.CreatedAt = time.Date(2026, 11, 29, 0, 0, 5, 0, time.UTC)
	return in
}

func newMapper(t testing.TB) *xgewerbe.Anmeldung {
	t.Helper()
	m, err := xgewerbe.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// schemaPath is gewerbemeldung.xsd where it stands in the module.
func schemaPath(t testing.TB) string {
	t.Helper()
	return xoevtest.InPlace(t, "transform/xgewerbe/gewerbemeldung.xsd")
}

// suite describes the mapper for the shared mapper tests.
func suite(t testing.TB) mappertest.Suite {
	t.Helper()
	example := func(name string) func(t testing.TB) transform.Input {
		return func(t testing.TB) transform.Input { return fullInput(readSubmission(t, examplePath(name))) }
	}
	var golden []mappertest.Golden
	for _, name := range examples {
		g := mappertest.Golden{Name: name, Input: example(name)}
		if name == "ek" { // the parties of the 2.2 example, whose kennung lists it names
			g.Input = func(t testing.TB) transform.Input {
				in := fullInput(readSubmission(t, examplePath(name)))
				in.Author.Kennung, in.Reader.Kennung = exampleAutorKennung, exampleLeserKennung
				return in
			}
		}
		if name == "minimal" { // only what Map requires: no parties, no product
			g.Input = func(t testing.TB) transform.Input {
				in := fullInput(readSubmission(t, examplePath(name)))
				return transform.Input{Submission: in.Submission, MessageID: in.MessageID, CreatedAt: in.CreatedAt}
			}
		}
		golden = append(golden, g)
	}
	return mappertest.Suite{
		Mapper:        newMapper(t),
		MessageType:   xgewerbe.MessageType,
		Root:          xgewerbe.RootElement,
		Procedure:     xgewerbe.Procedure,
		Tenant:        "musterstadt",
		Schema:        schemaPath,
		Valid:         example("minimal"),
		Deterministic: example("maximal"),
		Golden:        golden,
		MapErrors: []mappertest.MapError{
			{Name: "message id", Modify: func(in *transform.Input) { in.MessageID = "x" }, Want: "message id is not a UUID"},
			{Name: "kennung", Modify: func(in *transform.Input) { in.Reader.Kennung = "01234567" }, Want: "reader kennung is not of the form praefix:kennung"},
			{Name: "ags", Modify: func(in *transform.Input) { in.Author.AGS = "1234" }, Want: "author AGS is not 8 digits"},
			{Name: "MELDID kennung", Modify: func(in *transform.Input) { in.Author.Kennung = "MELDID:0123" }, Want: "author kennung with praefix MELDID is not an AGS of 8 digits"},
		},
	}
}

// TestMapper runs the tests every mapper shares: golden files, schema
// validity, determinism, errors.
func TestMapper(t *testing.T) {
	t.Parallel()
	mappertest.Run(t, suite(t))
}

// elementPaths returns the element paths of doc, each step written as
// "{namespace URI}local name" so that prefixes do not matter.
func elementPaths(t testing.TB, xml []byte) map[string]bool {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		t.Fatalf("parse: %v", err)
	}
	paths := map[string]bool{}
	var walk func(prefix string, e *etree.Element)
	walk = func(prefix string, e *etree.Element) {
		p := prefix + "/{" + e.NamespaceURI() + "}" + e.Tag
		paths[p] = true
		for _, c := range e.ChildElements() {
			walk(p, c)
		}
	}
	walk("", doc.Root())
	return paths
}

// TestPathsOccurInExample checks every element path of every golden output
// against the official XGewerbeanzeige 2.2 example instance.
func TestPathsOccurInExample(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile(filepath.Join(xoevtest.SchemaDir(t), "xgewerbeanzeige-2.2", "xgwa2.2-valid.xml"))
	if err != nil {
		t.Fatal(err)
	}
	known := elementPaths(t, example)
	if !known["/{"+xgewerbe.Namespace+"}"+xgewerbe.RootElement+"/{"+xgewerbe.Namespace+"}satz/{"+xgewerbe.Namespace+"}anmeldung/{}grundAnmeldungSchluessel"] &&
		!known["/{"+xgewerbe.Namespace+"}"+xgewerbe.RootElement+"/{"+xgewerbe.Namespace+"}satz/{"+xgewerbe.Namespace+"}anmeldung/{"+xgewerbe.Namespace+"}grundAnmeldungSchluessel/{}code"] {
		t.Fatal("example paths not read as expected")
	}
	m := newMapper(t)
	covered := 0
	for _, name := range examples {
		doc, err := m.Map(fullInput(readSubmission(t, examplePath(name))))
		if err != nil {
			t.Fatal(err)
		}
		for p := range elementPaths(t, doc.XML) {
			covered++
			if !known[p] {
				t.Errorf("%s: element path %s does not occur in xgwa2.2-valid.xml", name, p)
			}
		}
	}
	if covered == 0 {
		t.Fatal("no paths checked")
	}
}

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	t.Parallel()
	doc, err := newMapper(t).Map(fullInput(readSubmission(t, examplePath("gmbh"))))
	if err != nil {
		t.Fatal(err)
	}
	xsd := schemaPath(t)
	mappertest.SchemaRejects(t, xsd, doc.XML, []mappertest.Breakage{
		{Name: "wrong nachrichtentyp", Old: `<code>0500</code>`, New: `<code>0501</code>`},
		{Name: "code in namespace", Old: `<code>0500</code>`, New: `<xga:code>0500</xga:code>`},
		{Name: "wrong version", Old: `version="2.2"`, New: `version="2.1"`},
		{Name: "wrong namespace", Old: `xmlns:xga="` + xgewerbe.Namespace + `"`, New: `xmlns:xga="http://www.xgewerbeanzeige.de/spezifikation/2.1"`},
		{Name: "local time", Old: `<xga:erstellungszeitpunkt>2026-11-29T00:00:05Z<`, New: `<xga:erstellungszeitpunkt>2026-11-29T01:00:05+01:00<`},
		{Name: "unknown element", Old: `<xga:gewerbe>`, New: `<xga:gewerbe><xga:sonstiges/>`},
		{Name: "no person", Old: `<xga:beteiligtePerson>`, New: `<xga:beteiligtePersonX>`},
	})
}

func TestMapContent(t *testing.T) {
	t.Parallel()
	doc, err := newMapper(t).Map(fullInput(readSubmission(t, examplePath("gmbh"))))
	if err != nil {
		t.Fatal(err)
	}
	const a = "/abh.gewerbemeldung.0500/satz/anmeldung/"
	parsed := mappertest.CheckTexts(t, doc.XML, map[string]string{
		"/abh.gewerbemeldung.0500/nachrichtenkopf/identifikation.nachricht/nachrichtenUUID": "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6",
		"/abh.gewerbemeldung.0500/nachrichtenkopf/autor/behoerdenkennung/praefix/code":      "gad",
		"/abh.gewerbemeldung.0500/nachrichtenkopf/leser/behoerdenkennung/kennung/code":      "01234568",
		a + "uuid":                                                "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		a + "gemeindeSchluessel/code":                             "01234567",
		a + "gewerbe/betrieb/eingetragenerName":                   "Müller & Söhne Gebäudetechnik GmbH",
		a + "gewerbe/betrieb/eintragungArt/code":                  "B",
		a + "gewerbe/betrieb/rechtsformSchluessel/code":           "350",
		a + "gewerbe/beteiligtePerson[1]/geburtsdatum":            "01051970",
		a + "gewerbe/beteiligtePerson[2]/vorname":                 "Lüder",
		a + "gewerbe/anschrift/plz":                               "12346",
		a + "gueltigAb":                                           "2027-03-01",
		a + "datumMeldung":                                        "2026-11-29", // received 23:59:58 UTC, the 29th in Berlin
		a + "taetigkeitenGesamt/schwerpunkt/taetigkeitSchluessel": "43220",
		a + "grundAnmeldungSchluessel/code":                       "01",
	})
	if n := len(parsed.FindElements(a + "gewerbe/beteiligtePerson")); n != 2 {
		t.Errorf("%d beteiligtePerson, want 2", n)
	}
}

// TestMapEingetragenerKaufmann: the 2.2 example's own case, an e. K.: a
// natural person with the betrieb of its firm, who is its Inhaber
// (personFunktion 1); and the Behördenkennungen with the lists of their
// kennung, as the example pairs them with the praefix (none for gad).
func TestMapEingetragenerKaufmann(t *testing.T) {
	t.Parallel()
	in := fullInput(readSubmission(t, examplePath("ek")))
	in.Author.Kennung, in.Reader.Kennung = exampleAutorKennung, exampleLeserKennung
	doc, err := newMapper(t).Map(in)
	if err != nil {
		t.Fatal(err)
	}
	const kopf = "/abh.gewerbemeldung.0500/nachrichtenkopf/"
	const g = "/abh.gewerbemeldung.0500/satz/anmeldung/gewerbe/"
	parsed := mappertest.CheckTexts(t, doc.XML, map[string]string{
		g + "betrieb/eingetragenerName":            "Tomás Peña e.K.",
		g + "betrieb/eintragungNr":                 "11111",
		g + "betrieb/eintragungArt/code":           "A",
		g + "betrieb/gerichtSchluessel/code":       "G1103",
		g + "betrieb/rechtsformSchluessel/code":    "170",
		g + "beteiligtePerson/personFunktion/code": "1",
		g + "beteiligtePerson/familienname":        "Peña",
	})
	if n := len(parsed.FindElements(g + "beteiligtePerson")); n != 1 {
		t.Errorf("%d beteiligtePerson, want the Inhaber alone", n)
	}
	for _, tt := range []struct{ path, uri, version string }{
		{kopf + "autor/behoerdenkennung/kennung", "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ags", "2018-01-31"},
		{kopf + "leser/behoerdenkennung/kennung", "urn:de:xauslaender:codelist:abhkennung", "14"},
	} {
		e := parsed.FindElement(tt.path)
		if e == nil || e.SelectAttrValue("listURI", "") != tt.uri || e.SelectAttrValue("listVersionID", "") != tt.version {
			t.Errorf("%s: want listURI %q listVersionID %q", tt.path, tt.uri, tt.version)
		}
	}

	// Another praefix: no list is known, none is written.
	doc, err = newMapper(t).Map(fullInput(readSubmission(t, examplePath("ek"))))
	if err != nil {
		t.Fatal(err)
	}
	parsed = mappertest.CheckTexts(t, doc.XML, map[string]string{kopf + "autor/behoerdenkennung/praefix/code": "gad"})
	if e := parsed.FindElement(kopf + "autor/behoerdenkennung/kennung"); e == nil || len(e.Attr) != 0 {
		t.Errorf("kennung under praefix gad: want no attributes")
	}
}

// TestMapNewFields checks the fields of the XGewerbeanzeige 2.2 example
// added in issue 16: codes with their listVersionID, and the
// nationSchluessel of every address, Germany where no state is given.
func TestMapNewFields(t *testing.T) {
	t.Parallel()
	const a = "/abh.gewerbemeldung.0500/satz/anmeldung/"
	gmbh, err := newMapper(t).Map(fullInput(readSubmission(t, examplePath("gmbh"))))
	if err != nil {
		t.Fatal(err)
	}
	parsed := mappertest.CheckTexts(t, gmbh.XML, map[string]string{
		a + "gewerbe/betrieb/ID":                                          "1",
		a + "gewerbe/betrieb/eintragungPLZ":                               "12345",
		a + "gewerbe/betrieb/gerichtSchluessel/code":                      "G1103",
		a + "gewerbe/betriebArt/industrie/code":                           "0",
		a + "gewerbe/betriebArt/handwerk/code":                            "1",
		a + "gewerbe/betriebArt/handel/code":                              "0",
		a + "gewerbe/betriebArt/sonstiges/code":                           "0",
		a + "gewerbe/niederlassungArt/code":                               "2",
		a + "gewerbe/istReisegewerbe/code":                                "0",
		a + "gewerbe/beteiligtePerson[1]/geschlecht/code":                 "1",
		a + "gewerbe/beteiligtePerson[1]/anschrift/nationSchluessel/code": "276",
		a + "gewerbe/anschrift/nationSchluessel/code":                     "276",
	})
	for path, version := range map[string]string{
		a + "gewerbe/betrieb/gerichtSchluessel":                                   "5",
		a + "gewerbe/beteiligtePerson[1]/geschlecht":                              "3",
		a + "gewerbe/beteiligtePerson[1]/anschrift/nationSchluessel":              "2",
		a + "gemeindeSchluessel":                                                  "2019-05-31",
		"/abh.gewerbemeldung.0500/nachrichtenkopf/autor/behoerdenkennung/praefix": "7",
	} {
		e := parsed.FindElement(path)
		if e == nil || e.SelectAttrValue("listVersionID", "") != version {
			t.Errorf("%s: listVersionID is not %q", path, version)
		}
	}

	maximal, err := newMapper(t).Map(fullInput(readSubmission(t, examplePath("maximal"))))
	if err != nil {
		t.Fatal(err)
	}
	p := a + "gewerbe/beteiligtePerson/"
	mappertest.CheckTexts(t, maximal.XML, map[string]string{
		a + "gewerbe/handwerkskarte/status/code":                        "1",
		a + "gewerbe/handwerkskarte/ausgestelltAm":                      "2012-03-01",
		a + "gewerbe/handwerkskarte/ausgestelltVonSchluessel/code":      "00007",
		p + "geschlecht/code":                                           "2",
		p + "staatangehoerigkeiten/staatsangehoerigkeitSchluessel/code": "163",
		p + "aufenthaltstitel/status/code":                              "1",
		p + "aufenthaltstitel/ausgestelltVonName":                       "Stadt Musterstadt, Ausländerbehörde",
		a + "taetigkeitenGesamt/schwerpunkt/stichwort":                  "Friseurgewerbe (Damen- und Herrenfriseursalons)",
	})
}

// TestCodeTablesMatchPayloadSchema keeps the code tables of codes.go and
// the enumerations of the payload schema in step: a value the schema
// accepts always has a code, and no code is unreachable.
func TestCodeTablesMatchPayloadSchema(t *testing.T) {
	t.Parallel()
	var schema map[string]any
	if err := json.Unmarshal(xgewerbe.PayloadSchema, &schema); err != nil {
		t.Fatal(err)
	}
	// enum returns the enumeration at the path of object members below the schema.
	enum := func(path ...string) []string {
		var v any = schema
		for _, k := range path {
			v, _ = v.(map[string]any)[k]
		}
		var out []string
		list, _ := v.(map[string]any)["enum"].([]any)
		for _, e := range list {
			out = append(out, e.(string))
		}
		return out
	}
	data := []string{"properties", "data", "properties"}
	tests := []struct {
		name   string
		schema []string
		table  string
	}{
		{"anmeldegrund", enum(append(data, "anmeldegrund")...), "anmeldegrund"},
		{"niederlassung", enum(append(data, "niederlassung")...), "niederlassung"},
		{"betriebArt", enum(append(data, "betriebArt", "items")...), "betriebArt"},
		{"geschlecht (person)", enum("$defs", "natuerlichePerson", "properties", "geschlecht"), "geschlecht"},
		{"geschlecht (vertreter)", enum("$defs", "vertreter", "properties", "geschlecht"), "geschlecht"},
		{"register", enum("$defs", "registereintrag", "properties", "register"), "register"},
	}
	for _, tt := range tests {
		got, want := slices.Sorted(slices.Values(tt.schema)), slices.Sorted(slices.Values(xgewerbe.CodeKeys(tt.table)))
		if len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: payload schema %v, code table %v", tt.name, got, want)
		}
	}
}

// TestValidateInvalid checks that each problem is reported at its exact pointer.
func TestValidateInvalid(t *testing.T) {
	t.Parallel()
	type problem struct{ Pointer, Code string }
	tests := []struct {
		name   string
		base   string // example name
		modify func(s *transform.Submission)
		want   []problem
	}{
		{"no applicant, no data", "minimal", func(s *transform.Submission) { s.Applicant, s.Data = nil, nil },
			[]problem{{"/applicant", transform.CodeRequired}, {"/data", transform.CodeRequired}}},
		{"unknown member", "minimal", func(s *transform.Submission) { s.Data["farbe"] = "blau" },
			[]problem{{"/data/farbe", transform.CodeUnknownField}}},
		{"bad art", "minimal", func(s *transform.Submission) { s.Applicant["art"] = "verein" },
			[]problem{{"/applicant/art", transform.CodeEnum}}},
		{"person without name", "minimal", func(s *transform.Submission) { delete(s.Applicant, "familienname") },
			[]problem{{"/applicant/familienname", transform.CodeRequired}}},
		{"organisation member on person", "minimal", func(s *transform.Submission) { s.Applicant["rechtsform"] = "230" },
			[]problem{{"/applicant/rechtsform", transform.CodeUnknownField}}},
		{"e. K.: betrieb without rechtsform, bad register, emoji in the firm", "ek", func(s *transform.Submission) {
			b := s.Applicant["betrieb"].(map[string]any)
			delete(b, "rechtsform")
			b["name"] = "Peña 💈 e.K."
			b["registereintrag"].(map[string]any)["register"] = "GnR"
			b["vertreter"] = []any{}
		}, []problem{
			{"/applicant/betrieb/name", transform.CodeUnsupportedCharacter},
			{"/applicant/betrieb/rechtsform", transform.CodeRequired},
			{"/applicant/betrieb/registereintrag/register", transform.CodeEnum},
			{"/applicant/betrieb/vertreter", transform.CodeUnknownField},
		}},
		{"e. K.: betrieb without name", "ek", func(s *transform.Submission) { delete(s.Applicant["betrieb"].(map[string]any), "name") },
			[]problem{{"/applicant/betrieb/name", transform.CodeRequired}}},
		{"cyrillic name", "minimal", func(s *transform.Submission) { s.Applicant["vorname"] = "Иван" },
			[]problem{{"/applicant/vorname", transform.CodeUnsupportedCharacter}}},
		{"control character deep", "gmbh", func(s *transform.Submission) {
			s.Applicant["vertreter"].([]any)[1].(map[string]any)["familienname"] = "Mül\x07ler"
		}, []problem{{"/applicant/vertreter/1/familienname", transform.CodeControlCharacter}}},
		{"emoji in activity", "minimal", func(s *transform.Submission) {
			s.Data["taetigkeit"].(map[string]any)["beschreibung"] = "Kiosk 🍦"
		}, []problem{{"/data/taetigkeit/beschreibung", transform.CodeUnsupportedCharacter}}},
		{"invalid utf-8", "minimal", func(s *transform.Submission) { s.Applicant["anschrift"].(map[string]any)["ort"] = "M\xfcnchen" },
			[]problem{{"/applicant/anschrift/ort", transform.CodeInvalidUTF8}}},
		{"dates and codes", "gmbh", func(s *transform.Submission) {
			s.Data["beginn"] = "01.03.2027"
			s.Data["anmeldegrund"] = "neugruendung"
			s.Data["betriebsstaette"].(map[string]any)["postleitzahl"] = "1234"
			s.Data["taetigkeit"].(map[string]any)["wirtschaftszweig"] = "43.22"
			s.Applicant["rechtsform"] = "GmbH"
			s.Applicant["registereintrag"].(map[string]any)["register"] = "VR"
		}, []problem{
			{"/applicant/rechtsform", transform.CodePattern},
			{"/applicant/registereintrag/register", transform.CodeEnum},
			{"/data/anmeldegrund", transform.CodeEnum},
			{"/data/beginn", transform.CodeFormat},
			{"/data/betriebsstaette/postleitzahl", transform.CodePattern},
			{"/data/taetigkeit/wirtschaftszweig", transform.CodePattern},
		}},
		{"unknown code values", "maximal", func(s *transform.Submission) {
			s.Data["niederlassung"] = "filiale"
			s.Data["betriebArt"] = []any{"handwerk", "landwirtschaft"}
			s.Applicant["geschlecht"] = "m"
		}, []problem{
			{"/applicant/geschlecht", transform.CodeEnum},
			{"/data/betriebArt/1", transform.CodeEnum},
			{"/data/niederlassung", transform.CodeEnum},
		}},
		{"code values of the organisation", "gmbh", func(s *transform.Submission) {
			s.Applicant["registereintrag"].(map[string]any)["gericht"] = "Amtsgericht"
			s.Applicant["vertreter"].([]any)[0].(map[string]any)["geschlecht"] = "x"
			s.Data["betriebArt"] = []any{"handwerk", "handwerk"}
		}, []problem{
			{"/applicant/registereintrag/gericht", transform.CodePattern},
			{"/applicant/vertreter/0/geschlecht", transform.CodeEnum},
			{"/data/betriebArt", transform.CodeInvalid},
		}},
		{"new required members", "minimal", func(s *transform.Submission) {
			delete(s.Data, "betriebArt")
			delete(s.Data, "niederlassung")
		}, []problem{{"/data/betriebArt", transform.CodeRequired}, {"/data/niederlassung", transform.CodeRequired}}},
		{"documents", "maximal", func(s *transform.Submission) {
			s.Data["handwerkskarte"].(map[string]any)["ausgestelltAm"] = "2012-02-30"
			delete(s.Applicant["aufenthaltstitel"].(map[string]any), "ausgestelltVon")
		}, []problem{
			{"/applicant/aufenthaltstitel/ausgestelltVon", transform.CodeRequired},
			{"/data/handwerkskarte/ausgestelltAm", transform.CodeFormat},
		}},
		{"no representatives", "gmbh", func(s *transform.Submission) { s.Applicant["vertreter"] = []any{} },
			[]problem{{"/applicant/vertreter", transform.CodeTooShort}}},
		{"too long", "minimal", func(s *transform.Submission) { s.Applicant["vorname"] = strings.Repeat("ä", 81) },
			[]problem{{"/applicant/vorname", transform.CodeTooLong}}},
		{"numbers", "gmbh", func(s *transform.Submission) {
			s.Data["beschaeftigteVollzeit"] = json.Number("-1")
			s.Data["beschaeftigteTeilzeit"] = json.Number("1.5")
			s.Data["nebenerwerb"] = "nein"
		}, []problem{
			{"/data/beschaeftigteTeilzeit", transform.CodeType},
			{"/data/beschaeftigteVollzeit", transform.CodeOutOfRange},
			{"/data/nebenerwerb", transform.CodeType},
		}},
		{"identity", "maximal", func(s *transform.Submission) {
			s.Identity = &transform.Identity{Method: "passwort", TrustLevel: "hoch", Provider: "Bund\u200bID"}
		}, []problem{
			{"/identity/method", transform.CodeEnum},
			{"/identity/provider", transform.CodeUnsupportedCharacter},
			{"/identity/trust_level", transform.CodeEnum},
		}},
		{"identity rules", "maximal", func(s *transform.Submission) {
			s.Identity = &transform.Identity{Method: "servicekonto"}
		}, []problem{{"/identity/provider", transform.CodeRequired}, {"/identity/trust_level", transform.CodeRequired}}},
		{"identity none", "maximal", func(s *transform.Submission) {
			s.Identity = &transform.Identity{Method: "none", TrustLevel: "basic"}
		}, []problem{{"/identity/trust_level", transform.CodeUnknownField}}},
		{"tab in a name, not in free text", "maximal", func(s *transform.Submission) {
			s.Applicant["familienname"] = "Köhler\tÇelik"
			s.Data["taetigkeit"].(map[string]any)["weitereTaetigkeiten"] = "Verkauf\tBeratung"
		}, []problem{{"/applicant/familienname", transform.CodeControlCharacter}}},
		{"pointer escaping", "minimal", func(s *transform.Submission) { s.Data["a/b~c"] = "Иван" },
			[]problem{{"/data/a~1b~0c", transform.CodeUnknownField}, {"/data/a~1b~0c", transform.CodeUnsupportedCharacter}}},
	}
	m := newMapper(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := readSubmission(t, examplePath(tt.base))
			tt.modify(&s)
			mappertest.CheckProblems(t, m.Validate(s), tt.want)
			if _, err := m.Map(fullInput(s)); !errors.As(err, new(*transform.ValidationError)) {
				t.Errorf("Map error = %v, want a *transform.ValidationError", err)
			}
		})
	}
}

// TestMapIntegers checks that integers the schema accepts in any JSON
// spelling (2.0, 1e2) are written in canonical decimal form.
func TestMapIntegers(t *testing.T) {
	t.Parallel()
	s := readSubmission(t, examplePath("gmbh"))
	s.Data["beschaeftigteVollzeit"] = json.Number("2.0")
	s.Data["beschaeftigteTeilzeit"] = json.Number("1e2")
	doc, err := newMapper(t).Map(fullInput(s))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<xga:anzahlVollzeitBeschaeftigte>2</xga:anzahlVollzeitBeschaeftigte>",
		"<xga:anzahlTeilzeitBeschaeftigte>100</xga:anzahlTeilzeitBeschaeftigte>",
	} {
		if !bytes.Contains(doc.XML, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}
	xoevtest.Validate(t, schemaPath(t), doc.XML)
}

// TestLongNamesAtMaximum keeps the lange-namen example a boundary test: its
// texts have exactly the maximum length the payload schema allows.
func TestLongNamesAtMaximum(t *testing.T) {
	t.Parallel()
	s := readSubmission(t, examplePath("lange-namen"))
	v := s.Applicant["vertreter"].([]any)[0].(map[string]any)
	tests := []struct {
		name  string
		value any
		max   int
	}{
		{"applicant name", s.Applicant["name"], 250},
		{"vorname", v["vorname"], 80},
		{"familienname", v["familienname"], 120},
		{"geburtsname", v["geburtsname"], 120},
		{"strasse", v["anschrift"].(map[string]any)["strasse"], 120},
		{"hausnummer", v["anschrift"].(map[string]any)["hausnummer"], 20},
		{"beschreibung", s.Data["taetigkeit"].(map[string]any)["beschreibung"], 1000},
	}
	for _, tt := range tests {
		if n := utf8.RuneCountInString(tt.value.(string)); n != tt.max {
			t.Errorf("%s has %d characters, want the maximum %d", tt.name, n, tt.max)
		}
	}
}
