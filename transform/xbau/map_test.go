package xbau_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xbau"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// xsd is the official schema of the message, relative to xoevtest.SchemaDir.
const xsd = "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd"

// examples are the example requests in testdata/submissions, by name.
var examples = []string{"minimal", "maximal", "organisation", "entwurfsverfasser", "long-names", "anlagen", "mit-dateien"}

func examplePath(name string) string {
	return filepath.Join("..", "..", "testdata", "submissions", "bau.baugenehmigung-"+name+".json")
}

// readExample reads the example request name like the intake: the
// submission (mappertest.DecodeSubmission) and its attachments, whose
// content only counts for the size.
func readExample(t testing.TB, name string) transform.Submission {
	t.Helper()
	return readRequest(t, examplePath(name))
}

// readRequest reads the request body at path like readExample.
func readRequest(t testing.TB, path string) transform.Submission {
	t.Helper()
	name := filepath.Base(path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	var files []struct {
		ID       string `json:"id"`
		Filename string `json:"filename"`
		MIMEType string `json:"mime_type"`
		Content  []byte `json:"content"`
	}
	if a, ok := body["attachments"]; ok {
		if err := json.Unmarshal(a, &files); err != nil {
			t.Fatalf("%s: attachments: %v", name, err)
		}
		delete(body, "attachments")
	}
	rest, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	s, err := mappertest.DecodeSubmission(rest, true)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	for _, f := range files {
		s.Attachments = append(s.Attachments, transform.Attachment{
			ID: f.ID, FileName: transform.NormalizeText(f.Filename), MIMEType: f.MIMEType,
			Size: int64(len(f.Content)), Ref: "blob-" + f.ID,
		})
	}
	return s
}

// author and reader are the parties of the example messages.
var (
	author = transform.Party{
		ID: "musterstadt-portal", Name: "Stadt Musterstadt, Bürgerservice Online",
		Kennung: "ozg:musterstadt-0001", AGS: "01234567",
	}
	reader = transform.Party{
		ID: "musterstadt-bauaufsicht", Name: "Stadt Musterstadt, Untere Bauaufsichtsbehörde",
		Kennung: "bau:012345670000",
	}
)

// fullInput returns an Input with fixed Nachrichtenkopf values.
func fullInput(s transform.Submission) transform.Input {
	return mappertest.Input(s, author, reader)
}

func newMapper(t testing.TB) *xbau.Baugenehmigung {
	t.Helper()
	m, err := xbau.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// suite describes the mapper for the shared mapper tests.
func suite(t testing.TB) mappertest.Suite {
	t.Helper()
	example := func(name string) func(t testing.TB) transform.Input {
		return func(t testing.TB) transform.Input { return fullInput(readExample(t, name)) }
	}
	var golden []mappertest.Golden
	for _, name := range examples {
		golden = append(golden, mappertest.Golden{Name: name, Input: example(name)})
	}
	return mappertest.Suite{
		Mapper:        newMapper(t),
		MessageType:   xbau.MessageType,
		Root:          xbau.Nachrichtentyp,
		Procedure:     xbau.Procedure,
		Tenant:        "musterstadt",
		Schema:        func(t testing.TB) string { return xoevtest.Schema(t, xsd) },
		Valid:         example("minimal"),
		Deterministic: example("maximal"),
		Golden:        golden,
		MapErrors: []mappertest.MapError{
			{Name: "invalid submission", Modify: func(in *transform.Input) {
				in.Submission.Applicant = map[string]any{"familienname": "Иван", "anschrift": map[string]any{"postleitzahl": "12345", "ort": "X"}}
			}, Invalid: true, Want: `"/applicant/familienname" unsupported_character`},
			{Name: "author", Modify: func(in *transform.Input) { in.Author = transform.Party{} }, Want: "author kennung is empty"},
			{Name: "reader name", Modify: func(in *transform.Input) { in.Reader.Name = "Bauamt – Nord" }, Want: "reader name has characters outside DIN 91379"},
			{Name: "product", Modify: func(in *transform.Input) { in.Product.Manufacturer = "" }, Want: "product manufacturer is empty"},
		},
	}
}

// TestMapper runs the tests every mapper shares: golden files, schema
// validity, determinism, errors.
func TestMapper(t *testing.T) {
	t.Parallel()
	mappertest.Run(t, suite(t))
}

// TestMapStructure checks what the golden files cannot show at a glance: the
// roles that default to another Akteur share its id, and Identity stays out.
func TestMapStructure(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	tests := []struct {
		name             string
		sameBauherr      bool // bauherr id == antragsteller id
		sameGebuehren    bool // gebuehrenpflichtiger id == bauherr id
		entwurfsverfasse bool
	}{
		{"minimal", true, true, false},
		{"maximal", false, false, true},
		{"organisation", true, true, false},
		{"entwurfsverfasser", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := fullInput(readExample(t, tt.name))
			out, err := m.Map(in)
			if err != nil {
				t.Fatal(err)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(out.XML); err != nil {
				t.Fatal(err)
			}
			id := func(path string) string {
				e := doc.FindElement(path)
				if e == nil {
					t.Fatalf("no element %s", path)
				}
				return e.Text()
			}
			root := "/baugenehmigung.antrag.0200"
			antragsteller := id(root + "/antragsteller/*/id")
			bauherr := id(root + "/bauvorhaben/beteiligte/bauherr/bauherr/*/id")
			gebuehren := id(root + "/bauvorhaben/beteiligte/gebuehrenpflichtiger/*/id")
			if (antragsteller == bauherr) != tt.sameBauherr {
				t.Errorf("antragsteller %s, bauherr %s: same = %v, want %v", antragsteller, bauherr, antragsteller == bauherr, tt.sameBauherr)
			}
			if (gebuehren == bauherr) != tt.sameGebuehren {
				t.Errorf("gebuehrenpflichtiger %s, bauherr %s: same = %v, want %v", gebuehren, bauherr, gebuehren == bauherr, tt.sameGebuehren)
			}
			if got := doc.FindElement(root+"/bauvorhaben/beteiligte/entwurfsverfasser") != nil; got != tt.entwurfsverfasse {
				t.Errorf("entwurfsverfasser present = %v, want %v", got, tt.entwurfsverfasse)
			}
			if got := id(root + "/referenzAntragsservice/referenzAntragsservice"); got != in.Submission.ID {
				t.Errorf("referenzAntragsservice = %q, want the submission id", got)
			}
			if id := in.Submission.Identity; id != nil && id.PostboxReference != "" && bytes.Contains(out.XML, []byte(id.PostboxReference)) {
				t.Error("the identity's postbox reference leaked into the XBau message")
			}
		})
	}
}

// TestMapGebaeude checks the identifikationGebaeude: one per named
// gebaeude; for one building named by none, one with the Bezeichnung of the
// Bauvorhaben on one line; none for more buildings named by none or for no
// building.
func TestMapGebaeude(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	schema := xoevtest.Schema(t, xsd)
	tests := []struct {
		name     string
		anzahl   string
		gebaeude []any
		want     []string
	}{
		{name: "one, not named", anzahl: "1", want: []string{"Neubau eines Wohnhauses mit Garage"}},
		{name: "one, named", anzahl: "1", gebaeude: []any{map[string]any{"bezeichnung": "Haus Ost"}}, want: []string{"Haus Ost"}},
		{name: "two, named", anzahl: "2", gebaeude: []any{map[string]any{"bezeichnung": "Haus Ost"}, map[string]any{"bezeichnung": "Haus West"}},
			want: []string{"Haus Ost", "Haus West"}},
		{name: "three, not named", anzahl: "3"},
		{name: "none", anzahl: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := readExample(t, "minimal")
			s.Data = clone(s.Data).(map[string]any)
			bv := s.Data["bauvorhaben"].(map[string]any)
			bv["bezeichnung"] = "Neubau eines\nWohnhauses  mit\tGarage "
			bv["anzahlGebaeude"] = json.Number(tt.anzahl)
			if tt.gebaeude != nil {
				bv["gebaeude"] = tt.gebaeude
			}
			doc, err := m.Map(fullInput(s))
			if err != nil {
				t.Fatal(err)
			}
			xoevtest.Validate(t, schema, doc.XML)
			parsed := etree.NewDocument()
			if err := parsed.ReadFromBytes(doc.XML); err != nil {
				t.Fatal(err)
			}
			var got []string
			uuids := map[string]bool{}
			for _, e := range parsed.FindElements("//anzahlDerGebaeude/identifikationGebaeude") {
				got = append(got, e.FindElement("gebaeudeBezeichnung").Text())
				uuids[e.FindElement("uuidGebaeude").Text()] = true
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("gebaeudeBezeichnung = %q, want %q", got, tt.want)
			}
			if len(uuids) != len(tt.want) {
				t.Errorf("%d distinct uuidGebaeude for %d buildings", len(uuids), len(tt.want))
			}
		})
	}
}

// TestMapText checks that text is written in NFC and survives escaping.
func TestMapText(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	s := readExample(t, "minimal")
	s.Applicant["familienname"] = "Mu\u0308ller & <Söhne> \"Dvor\u030Cák\""
	s.Data["bauvorhaben"].(map[string]any)["weitereAngaben"] = "Zeile 1\r\nZeile 2\tEnde"
	doc, err := m.Map(fullInput(s))
	if err != nil {
		t.Fatal(err)
	}
	xoevtest.Validate(t, xoevtest.Schema(t, xsd), doc.XML)
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(doc.XML); err != nil {
		t.Fatal(err)
	}
	name := parsed.FindElement("//antragsteller/natuerlichePerson/name/familienname/name")
	if name == nil || name.Text() != "Müller & <Söhne> \"Dvořák\"" {
		t.Errorf("familienname = %v, want the NFC text", name)
	}
	weitere := parsed.FindElement("//weitereAngaben")
	if weitere == nil || weitere.Text() != "Zeile 1\r\nZeile 2\tEnde" {
		t.Errorf("weitereAngaben did not survive: %v", weitere)
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := transform.NewRegistry()
	if err := r.Register(xbau.Procedure, newMapper(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Mapper("bau.baugenehmigung"); !ok {
		t.Fatal("mapper not found under bau.baugenehmigung")
	}
}

// TestSchemaRejectsBrokenMessage shows that the XSD validation of the
// golden tests has teeth: each of the XBau traps, put into the minimal
// message, makes xmllint reject it.
func TestSchemaRejectsBrokenMessage(t *testing.T) {
	t.Parallel()
	schema := xoevtest.Schema(t, xsd)
	valid, err := os.ReadFile(filepath.Join("testdata", "minimal.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	mappertest.SchemaRejects(t, schema, valid, []mappertest.Breakage{
		{Name: "prefixed header", Old: "<nachrichtenkopf.g2g>", New: "<xbau:nachrichtenkopf.g2g>"},
		{Name: "prefixed code", Old: "<code>0200</code>", New: "<xbau:code>0200</xbau:code>"},
		{Name: "wrong listVersionID", Old: `listVersionID="4.0"`, New: `listVersionID="3.0"`},
		{Name: "wrong listURI", Old: `listURI="urn:xoev-de:xbau:codeliste:baumassnahmeart"`, New: `listURI="urn:xoev-de:xbau:codeliste:massnahme"`},
		{Name: "wrong version attribute", Old: `version="2.6"`, New: `version="2.5"`},
		{Name: "no produkthersteller", Old: `produkthersteller="Amtsbote-Projekt" `, New: ``},
		{Name: "unknown Baumaßnahme", Old: "<code>11</code>", New: "<code>15</code>"},
		{Name: "text outside datatype C", Old: "<xbau:bezeichnungDesBauvorhabens>Neubau", New: "<xbau:bezeichnungDesBauvorhabens>„Neubau“"},
	})
	maximal, err := os.ReadFile(filepath.Join("testdata", "maximal.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	mappertest.SchemaRejects(t, schema, maximal, []mappertest.Breakage{
		{Name: "three fraction digits", Old: "<xbau:hoeheNachMBO>4.35<", New: "<xbau:hoeheNachMBO>4.355<"},
		{Name: "Gebäudeklasse list version", Old: `codeliste:gebaeudeklasse" listVersionID="3.0"`, New: `codeliste:gebaeudeklasse" listVersionID="2.0"`},
		{Name: "Gebäudeklasse 6", Old: "<code>2</code>\n        </xbau:gebaeudeklasse>", New: "<code>6</code>\n        </xbau:gebaeudeklasse>"},
		{Name: "unknown Kammer", Old: "<code>16</code>", New: "<code>32</code>"},
		{Name: "Klassifikation out of order", Old: "<xbau:istFreistehend>false</xbau:istFreistehend>\n        <xbau:mittelOderGrossGarage>false</xbau:mittelOderGrossGarage>",
			New: "<xbau:mittelOderGrossGarage>false</xbau:mittelOderGrossGarage>\n        <xbau:istFreistehend>false</xbau:istFreistehend>"},
		{Name: "verlinkung without uriVerlinkung", Old: "<uriVerlinkung>urn:uuid:8e7d6c5b-4f3a-4b2c-8d9e-0f1a2b3c4d5e</uriVerlinkung>", New: ""},
	})
}

// TestMapAnlagen checks the two kinds of Anlage of the example
// "mit-dateien": an attached file is an anhang with the attachment's size,
// a file marked wirdNachgereicht has no anhang, only the verlinkung XBau
// requires in its place.
func TestMapAnlagen(t *testing.T) {
	t.Parallel()
	in := fullInput(readExample(t, "mit-dateien"))
	out, err := newMapper(t).Map(in)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(out.XML); err != nil {
		t.Fatal(err)
	}
	anlagen := doc.FindElements("//anlagen/anlage")
	if len(anlagen) != len(in.Submission.Data["anlagen"].([]any)) {
		t.Fatalf("%d anlage elements, want one per Anlage", len(anlagen))
	}
	attached := map[string]int64{}
	for _, a := range in.Submission.Attachments {
		attached["urn:uuid:"+a.ID] = a.Size
	}
	for i, a := range anlagen {
		anhang, verlinkung := a.FindElement("anhangOderVerlinkung/anhang"), a.FindElement("anhangOderVerlinkung/verlinkung")
		later := a.FindElement("wirdNachgereicht")
		if anhang != nil {
			id := anhang.FindElement("dokumentid").Text()
			size, ok := attached[id]
			if !ok {
				t.Errorf("anlage %d: anhang %s without an attached file", i, id)
			}
			if got := anhang.SelectAttrValue("filesize", ""); got != strconv.FormatInt(size, 10) {
				t.Errorf("anlage %d: filesize %q, want %d", i, got, size)
			}
			if later != nil && later.Text() != "false" {
				t.Errorf("anlage %d: attached and wirdNachgereicht %s", i, later.Text())
			}
			continue
		}
		if verlinkung == nil || later == nil || later.Text() != "true" {
			t.Errorf("anlage %d: neither an anhang nor a verlinkung marked wirdNachgereicht", i)
			continue
		}
		if _, ok := attached[verlinkung.FindElement("uriVerlinkung").Text()]; ok {
			t.Errorf("anlage %d: an attached file marked wirdNachgereicht", i)
		}
	}
	if n := len(doc.FindElements("//anhang")); n != len(in.Submission.Attachments) {
		t.Errorf("%d anhang elements, want one per attachment (%d)", n, len(in.Submission.Attachments))
	}
}

// TestMapExtremes maps the maximal example with every optional block
// present at its largest: 999 Nutzungseinheiten, 20 Sonderbauten, 200
// Anlagen, and texts, numbers and codes at their maximum lengths; the
// message must be valid against the official XSD and carry all of it.
func TestMapExtremes(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	s := readExample(t, "maximal")
	text := func(n int) string { return "Ä" + strings.Repeat("ß", n-2) + "Z" }
	fremd := func() map[string]any {
		return map[string]any{"listURI": "urn:de:" + strings.Repeat("x", 248), "listVersionID": strings.Repeat("1", 20), "code": strings.Repeat("9", 50)}
	}
	s.Data["prozessmerkmale"] = map[string]any{"verfahrensart": fremd()}
	s.Data["bauvorlageberechtigung"] = map[string]any{"grundlage": "8", "kammer": "31",
		"mitgliedsnummer": strings.Repeat("M", 50), "personennummer": strings.Repeat("P", 50), "berufsbezeichnung": text(255)}
	bv := s.Data["bauvorhaben"].(map[string]any)
	bv["weitereAngaben"] = text(4000)
	bv["artDerBaulichenAnlage"] = map[string]any{"nichtwohngebaeudeArt": "999"}
	var sonderbau, ne []any
	for range 20 {
		sonderbau = append(sonderbau, fremd())
	}
	for range 999 {
		ne = append(ne, map[string]any{"flaeche": json.Number("9999999.99"), "beschreibung": text(255)})
	}
	bv["klassifikation"] = map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": json.Number("999.99"), "istFreistehend": true,
		"sonderbau": sonderbau, "mittelOderGrossGarage": true, "garage": "3"}
	bv["nutzungseinheiten"] = ne
	anlagen := s.Data["anlagen"].([]any)
	for i := len(anlagen); i < 200; i++ {
		name := fmt.Sprintf("%03d_%s.pdf", i, strings.Repeat("x", 140-len("000_.pdf")))
		anlagen = append(anlagen, map[string]any{"bezeichnung": text(255), "anlageart": "9999", "mimeType": "application/pdf",
			"dateiname": name, "dokumentId": fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "versionsnummer": json.Number("9999"),
			"datum": "2026-02-28", "wirdNachgereicht": true})
	}
	s.Data["anlagen"] = anlagen
	out, err := m.Map(fullInput(s))
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	xoevtest.Validate(t, xoevtest.Schema(t, xsd), out.XML)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(out.XML); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"//nutzungen/nutzungseinheit":                      999,
		"//bauordnungsrechtlicheKlassifikation/sonderbau":  20,
		"//anlagen/anlage":                                 200,
		"//anlagen/anlage/anhangOderVerlinkung/verlinkung": 199,
	} {
		if got := len(doc.FindElements(path)); got != want {
			t.Errorf("%s: %d elements, want %d", path, got, want)
		}
	}
	if got := doc.FindElement("//nutzungen/anzahlDerNutzungseinheiten").Text(); got != "999" {
		t.Errorf("anzahlDerNutzungseinheiten %s, want 999", got)
	}
}
