package xmeld_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// TestMapper runs the tests every mapper shares: golden files, schema
// validity, determinism, errors.
func TestMapper(t *testing.T) {
	t.Parallel()
	mappertest.Run(t, suite(t))
}

// TestMapContent checks the content § 19 BMG requires, read back from the output.
func TestMapContent(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	doc, err := m.Map(fullInput(mappertest.ReadSubmission(t, examples["auszug"])))
	if err != nil {
		t.Fatal(err)
	}
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(doc.XML); err != nil {
		t.Fatal(err)
	}
	root := parsed.Root()
	if root.Space != "xmeld" || root.Tag != xmeld.Nachrichtentyp || root.SelectAttrValue("xmlns:xmeld", "") != xmeld.Namespace {
		t.Fatalf("root element %s:%s xmlns:xmeld=%q", root.Space, root.Tag, root.SelectAttrValue("xmlns:xmeld", ""))
	}
	want := map[string]string{
		"nachrichtenkopf/identifikation.nachricht/nachrichtentyp/code":               xmeld.Nachrichtentyp,
		"nachrichtenkopf/leser/behoerdenkennung/praefix/code":                        "psw",
		"nachrichtenkopf/leser/behoerdenkennung/kennung/code":                        "01234568",
		"nachrichtenkopf/autor/name":                                                 "Stadt Musterstadt, Bürgeramt",
		"wohnungsgeberbestaetigung/meldevorgang/code":                                "auszug",
		"wohnungsgeberbestaetigung/auszugsdatum":                                     "2026-11-15",
		"wohnungsgeberbestaetigung/wohnung/strasse":                                  "Lindenallee",
		"wohnungsgeberbestaetigung/wohnungsgeber/organisation/name":                  "Hausverwaltung Dvořák & Partner GmbH",
		"wohnungsgeberbestaetigung/wohnungsgeber/artWohnungsgeber/code":              "beauftragter",
		"wohnungsgeberbestaetigung/wohnungsgeber/identifizierung/verfahren/code":     "keine",
		"wohnungsgeberbestaetigung/eigentuemer/natuerlichePerson/familienname":       "Øster-Dahl",
		"wohnungsgeberbestaetigung/eigentuemer/anschrift/ort":                        "Flensburg",
		"wohnungsgeberbestaetigung/meldepflichtigePerson[2]/familienname":            "Åkesson-Lefèvre",
		"wohnungsgeberbestaetigung/meldepflichtigePerson[2]/vorname":                 "Élodie",
		"wohnungsgeberbestaetigung/bestaetigungsdatum":                               "2026-11-20",
		"wohnungsgeberbestaetigung/wohnungsgeber/identifizierung/verfahren/@listURI": xmeld.ListIdentifizierungsverfahren,
	}
	for path, v := range want {
		var got string
		if elemPath, attr, ok := strings.Cut(path, "/@"); ok {
			e := root.FindElement(prefixed(elemPath))
			if e == nil {
				t.Errorf("%s: no element", path)
				continue
			}
			got = e.SelectAttrValue(attr, "")
		} else {
			e := root.FindElement(prefixed(path))
			if e == nil {
				t.Errorf("%s: no element", path)
				continue
			}
			got = e.Text()
		}
		if got != v {
			t.Errorf("%s = %q, want %q", path, got, v)
		}
	}
	if n := len(root.FindElements(prefixed("wohnungsgeberbestaetigung/meldepflichtigePerson"))); n != 2 {
		t.Errorf("%d meldepflichtigePerson elements, want 2", n)
	}
	if root.FindElement(prefixed("wohnungsgeberbestaetigung/einzugsdatum")) != nil {
		t.Error("einzugsdatum written for an Auszug")
	}
}

// prefixed puts the prefix xmeld: on every step of path except code (unqualified).
func prefixed(path string) string {
	steps := strings.Split(path, "/")
	for i, s := range steps {
		if s != "code" {
			steps[i] = "xmeld:" + s
		}
	}
	return "./" + strings.Join(steps, "/")
}

func TestMapNormalizesText(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	s := mappertest.ReadSubmission(t, examples["minimal"])
	s.Data["meldepflichtige"] = []any{map[string]any{"vorname": "Rene\u0301", "familienname": "Mu\u0308ller"}}
	doc, err := m.Map(fullInput(s))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc.XML, []byte("<xmeld:familienname>Müller</xmeld:familienname>")) ||
		!bytes.Contains(doc.XML, []byte("<xmeld:vorname>René</xmeld:vorname>")) {
		t.Errorf("names are not written in NFC:\n%s", doc.XML)
	}
	xoevtest.Validate(t, schemaPath(t), doc.XML)
}

// TestSchemaRejectsBrokenDocuments shows that the XSD constrains: each
// variant of a valid output breaks one rule and xmllint must reject it.
func TestSchemaRejectsBrokenDocuments(t *testing.T) {
	t.Parallel()
	xsd := schemaPath(t)
	doc, err := newMapper(t).Map(fullInput(mappertest.ReadSubmission(t, examples["maximal"])))
	if err != nil {
		t.Fatal(err)
	}
	mappertest.SchemaRejects(t, xsd, doc.XML, []mappertest.Breakage{
		{Name: "unknown Meldevorgang", Old: `<code>einzug</code>`, New: `<code>umzug</code>`},
		{Name: "wrong listURI", Old: `listURI="urn:xoev-de:amtsbote:codeliste:meldevorgang"`, New: `listURI="urn:xoev-de:amtsbote:codeliste:meldevorgang2"`},
		{Name: "wrong listVersionID", Old: `listURI="urn:xoev-de:amtsbote:codeliste:art-wohnungsgeber" listVersionID="1"`, New: `listURI="urn:xoev-de:amtsbote:codeliste:art-wohnungsgeber" listVersionID="2"`},
		{Name: "no listURI", Old: ` listURI="urn:xoev-de:amtsbote:codeliste:vertrauensniveau"`, New: ``},
		{Name: "code qualified", Old: `<code>einzug</code>`, New: `<xmeld:code>einzug</xmeld:code>`},
		{Name: "Cyrillic name", Old: `<xmeld:familienname>Ionescu</xmeld:familienname>`, New: `<xmeld:familienname>Иванов</xmeld:familienname>`},
		{Name: "digit in name", Old: `<xmeld:familienname>Ionescu</xmeld:familienname>`, New: `<xmeld:familienname>Ionescu2</xmeld:familienname>`},
		{Name: "emoji in street", Old: `<xmeld:strasse>Am Mühlbach</xmeld:strasse>`, New: `<xmeld:strasse>Am Mühlbach 🏠</xmeld:strasse>`},
		{Name: "blank name", Old: `<xmeld:familienname>Ionescu</xmeld:familienname>`, New: `<xmeld:familienname>   </xmeld:familienname>`},
		{Name: "name too long", Old: `<xmeld:familienname>Ionescu</xmeld:familienname>`, New: `<xmeld:familienname>` + strings.Repeat("a", 121) + `</xmeld:familienname>`},
		{Name: "Postleitzahl", Old: `<xmeld:postleitzahl>12345</xmeld:postleitzahl>`, New: `<xmeld:postleitzahl>1234</xmeld:postleitzahl>`},
		{Name: "invalid date", Old: `<xmeld:einzugsdatum>2026-11-15</xmeld:einzugsdatum>`, New: `<xmeld:einzugsdatum>2026-02-30</xmeld:einzugsdatum>`},
		{Name: "both dates", Old: `<xmeld:einzugsdatum>2026-11-15</xmeld:einzugsdatum>`, New: `<xmeld:einzugsdatum>2026-11-15</xmeld:einzugsdatum><xmeld:auszugsdatum>2026-11-15</xmeld:auszugsdatum>`},
		{Name: "Zuordnungsmerkmal with a space", Old: `<xmeld:zuordnungsmerkmal>WGB-2026-7F3K9Q2M<`, New: `<xmeld:zuordnungsmerkmal>WGB 2026<`},
		{Name: "Zuordnungsmerkmal too long", Old: `<xmeld:zuordnungsmerkmal>WGB-2026-7F3K9Q2M<`, New: `<xmeld:zuordnungsmerkmal>` + strings.Repeat("X", 65) + `<`},
		{Name: "Zuordnungsmerkmal before the date", Old: `<xmeld:bestaetigungsdatum>2026-11-27</xmeld:bestaetigungsdatum>
    <xmeld:zuordnungsmerkmal>WGB-2026-7F3K9Q2M</xmeld:zuordnungsmerkmal>`, New: `<xmeld:zuordnungsmerkmal>WGB-2026-7F3K9Q2M</xmeld:zuordnungsmerkmal><xmeld:bestaetigungsdatum>2026-11-27</xmeld:bestaetigungsdatum>`},
		{Name: "no meldepflichtige Person", Edit: func(doc string) string {
			return strings.ReplaceAll(strings.ReplaceAll(doc, "<xmeld:meldepflichtigePerson>", "<!--"), "</xmeld:meldepflichtigePerson>", "-->")
		}},
		{Name: "wrong nachrichtentyp", Old: `<code>meldung.wohnungsgeberbestaetigung.0001</code>`, New: `<code>meldung.wohnungsgeberbestaetigung.0002</code>`},
		{Name: "local time", Old: `<xmeld:erstellungszeitpunkt>2026-11-28T10:00:00Z<`, New: `<xmeld:erstellungszeitpunkt>2026-11-28T11:00:00+01:00<`},
		{Name: "no produkthersteller", Old: ` produkthersteller="Amtsbote-Projekt"`, New: ``},
		{Name: "wrong namespace", Old: `xmlns:xmeld="urn:amtsbote:xmeld:wohnungsgeberbestaetigung:1"`, New: `xmlns:xmeld="urn:amtsbote:xmeld:wohnungsgeberbestaetigung:2"`},
		{Name: "person and organisation", Old: `<xmeld:natuerlichePerson>`, New: `<xmeld:organisation><xmeld:name>X</xmeld:name></xmeld:organisation><xmeld:natuerlichePerson>`},
	})
}

// TestRepertoireWithinDIN91379 checks every character Validate admits in
// names and in other text against the official DIN SPEC 91379 datatypes.
func TestRepertoireWithinDIN91379(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	var names, texts []rune
	// The blocks up to U+024F and U+1E00–U+20FF hold every candidate: Latin,
	// Latin Extended Additional, general punctuation and currency symbols.
	var candidates []rune
	for r := rune(0); r < 0x2100; r++ {
		if r < 0x250 || r >= 0x1E00 {
			candidates = append(candidates, r)
		}
	}
	for _, r := range candidates {
		s := string(r)
		if transform.NormalizeText(s) != s {
			continue // not written as such
		}
		// "A-" and not "A": a combining mark must not compose with the letter.
		sub := mappertest.ReadSubmission(t, examples["minimal"])
		sub.Data["meldepflichtige"] = []any{map[string]any{"familienname": "A-" + s}}
		sub.Applicant["anschrift"].(map[string]any)["ort"] = "A-" + s
		errs := m.Validate(sub)
		for _, e := range errs {
			if e.Code != transform.CodeUnsupportedCharacter && e.Code != transform.CodeControlCharacter {
				t.Fatalf("U+%04X: unexpected problem %+v", r, e)
			}
		}
		if !slices.ContainsFunc(errs, func(e transform.FieldError) bool { return e.Pointer == "/data/meldepflichtige/0/familienname" }) {
			names = append(names, r)
		}
		if !slices.ContainsFunc(errs, func(e transform.FieldError) bool { return e.Pointer == "/applicant/anschrift/ort" }) {
			texts = append(texts, r)
		}
	}
	// 52 ASCII letters, 284 accented letters and 6 punctuation characters in
	// names; 95 printable ASCII characters, the same letters and 4 others in text.
	if len(names) != 342 || len(texts) != 383 {
		t.Fatalf("%d name and %d text characters admitted, want 342 and 383", len(names), len(texts))
	}
	s := mappertest.ReadSubmission(t, examples["minimal"])
	chunk := func(rs []rune, i int) string { return "A" + string(rs[i:min(i+90, len(rs))]) }
	var persons []any
	for i := 0; i < len(names); i += 90 {
		persons = append(persons, map[string]any{"familienname": chunk(names, i)})
	}
	s.Data["meldepflichtige"] = persons
	s.Data["wohnung"].(map[string]any)["adresszusatz"] = chunk(texts, 0)
	doc, err := m.Map(fullInput(s))
	if err != nil {
		t.Fatal(err)
	}
	xsd := schemaPath(t)
	xoevtest.Validate(t, xsd, doc.XML)
	for i := 90; i < len(texts); i += 90 {
		s.Data["wohnung"].(map[string]any)["adresszusatz"] = chunk(texts, i)
		doc, err := m.Map(fullInput(s))
		if err != nil {
			t.Fatal(err)
		}
		xoevtest.Validate(t, xsd, doc.XML)
	}
}

func TestMapUppercaseUUIDs(t *testing.T) {
	t.Parallel()
	in := fullInput(mappertest.ReadSubmission(t, examples["minimal"]))
	in.MessageID = strings.ToUpper(in.MessageID)
	doc, err := newMapper(t).Map(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc.XML, []byte("<xmeld:nachrichtenUUID>5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6<")) {
		t.Error("nachrichtenUUID not written in lower case")
	}
	xoevtest.Validate(t, schemaPath(t), doc.XML)
}
