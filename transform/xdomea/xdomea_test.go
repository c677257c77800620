package xdomea_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xdomea"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

const xdomeaXSD = "xdomea-3.0.0/schemes/xdomea_3.0.0/xdomea.xsd"

// innerDoc is a small XÖV document standing for a mapper's output.
var innerDoc = transform.Document{
	XML: []byte(`<?xml version="1.0" encoding="UTF-8"?>
<xga:abh.gewerbemeldung.0500 xmlns:xga="http://www.xgewerbeanzeige.de/spezifikation/2.2" standard="XGewerbeanzeige" version="2.2"/>
`),
	MessageType: "xgewerbeanzeige.gewerbemeldung.0500",
}

// fullInput returns the input of a filing with every value set, received
// 23:59:58 UTC, the 29th in Berlin.
func fullInput() transform.Input {
	in := mappertest.Input(transform.Submission{
		ID:         mappertest.SubmissionID,
		Tenant:     "musterstadt",
		Procedure:  "gewerbe.anmeldung",
		Applicant:  map[string]any{"art": "natuerlichePerson"},
		Data:       map[string]any{},
		ReceivedAt: time.Date(2026, 11, 28, 23, 59, 58, 123456789, time.UTC),
	}, mappertest.Gewerbeamt, transform.Party{
		ID: "musterstadt-dms", Name: "Stadt Musterstadt, E-Akte (Dokumentenmanagement)",
		Kennung: "dms:01234567-eakte",
	})
	in.MessageID = "7C9E6679-7425-40DE-944B-E07FC1F90AE7"
	in.CreatedAt = time.Date(2026, 11, 29, 0, 0, 5, 999, time.UTC)
	return in
}

func fullMetadata() xdomea.Metadata {
	return xdomea.Metadata{
		ProcedureName:    "Gewerbeanmeldung",
		TenantName:       "Stadt Musterstadt",
		Creator:          "svc-amtsbote",
		Container:        "c0ffee00-1234-4abc-8def-0123456789ab",
		ReceiptRequested: true,
	}
}

// bauantragInput is a Bauantrag (the members of an XBau payload that the
// filing reads) with two of its declared Anlagen and one undeclared file
// attached, received on 31 December 2026 at 23:30 UTC, which is already
// 2027 in Berlin.
func bauantragInput(testing.TB) transform.Input {
	in := fullInput()
	s := &in.Submission
	s.Procedure = "bau.baugenehmigung"
	s.Applicant = map[string]any{"vorname": "Sören", "familienname": "Köhler"}
	s.Data = map[string]any{
		"bauvorhaben": map[string]any{"bezeichnung": "Neubau einer Doppelhaushälfte", "anzahlGebaeude": json.Number("1")},
		"baugrundstueck": map[string]any{"flurstuecke": []any{map[string]any{
			"bundesland": "03", "gemarkung": map[string]any{"nummer": "4711"}, "flur": "2", "zaehler": "58", "nenner": "3",
		}}},
		"anlagen": []any{
			map[string]any{"bezeichnung": "Lageplan", "dateiname": "lageplan.pdf", "dokumentId": "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a"},
			map[string]any{"bezeichnung": "Ansicht Süd", "dateiname": "ansicht-süd.png", "dokumentId": "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b"},
			map[string]any{"bezeichnung": "Statik", "dateiname": "statik.pdf", "dokumentId": "5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c",
				"wirdNachgereicht": true},
		},
	}
	s.ReceivedAt = time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	s.Attachments = []transform.Attachment{
		{ID: "3D4E5F6A-7B8C-4D9E-8F0A-1B2C3D4E5F6A", FileName: "lageplan.pdf", MIMEType: "application/pdf", Size: 187, Ref: "blob-1"},
		{ID: "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b", FileName: "ansicht-süd.png", MIMEType: "image/png", Size: 70, Ref: "blob-2"},
		{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", FileName: "undeclared.pdf", MIMEType: "application/pdf", Size: 9, Ref: "blob-3"},
	}
	in.CreatedAt = s.ReceivedAt.Add(2 * time.Second)
	return in
}

func bauantragMetadata() xdomea.Metadata {
	return xdomea.Metadata{
		ProcedureName: "Baugenehmigung",
		TenantName:    "Stadt Musterstadt",
		Creator:       "svc-amtsbote",
		Akte: xdomea.Akte{
			Betreff:              "Bauanträge {jahr}",
			Aktenzeichen:         "63.01.01-{jahr}",
			Aktenplankennzeichen: "63.01.01",
			Typ:                  "Sammelakte",
		},
		Ablageort: `\\dms01\eakte-import\musterstadt\bau.baugenehmigung`,
	}
}

// filing is xdomea.Wrap as a transform.Mapper, for the shared mapper tests:
// it files inner with meta. Its Validate finds nothing, since a filing wraps
// a message another mapper made from a valid submission.
type filing struct {
	inner transform.Document
	meta  xdomea.Metadata
}

func (filing) Validate(transform.Submission) []transform.FieldError { return nil }

func (f filing) Map(in transform.Input) (transform.Document, error) {
	return xdomea.Wrap(in, f.inner, f.meta)
}

// suite describes the filing for the shared mapper tests.
func suite() mappertest.Suite {
	in := func(testing.TB) transform.Input { return fullInput() }
	minimal := xdomea.Metadata{ProcedureName: "Allgemeine Anfrage", TenantName: "Gemeinde Beispielheim", Creator: "amtsbote"}
	sonderzeichen := fullMetadata()
	sonderzeichen.ProcedureName = "Anzeige nach § 62 BauO - \"vereinfacht\" <Test> & Co"
	sonderzeichen.TenantName = "Große Kreisstadt Mühlhausen/Thüringen"
	return mappertest.Suite{
		Mapper:      filing{innerDoc, fullMetadata()},
		MessageType: xdomea.MessageType,
		Root:        xdomea.Nachricht,
		Schema:      func(t testing.TB) string { return xoevtest.Schema(t, xdomeaXSD) },
		Valid:       in,
		NoPayload:   true,
		Golden: []mappertest.Golden{
			{Name: "gewerbe", Input: in},
			{
				// Only what Wrap requires: no parties, no product, no container.
				Name: "minimal",
				Input: func(testing.TB) transform.Input {
					in := fullInput()
					in.Author, in.Reader, in.Product = transform.Party{}, transform.Party{}, transform.Product{}
					return in
				},
				Mapper: filing{transform.Document{XML: []byte("<?xml version=\"1.0\"?>\n<a/>\n"), MessageType: "amtsbote.einreichung.0001"}, minimal},
			},
			{
				// A Bauantrag with Anlagen into a yearly Akte of the
				// Aktenplan, with the Ablageort of a shared directory.
				Name:   "bauantrag",
				Input:  bauantragInput,
				Mapper: filing{innerDoc, bauantragMetadata()},
			},
			{
				Name: "sonderzeichen",
				Input: func(testing.TB) transform.Input {
					in := fullInput()
					in.Author.Name = "Gemeinde Ae\u0301 & <Söhne> \"Ort\""
					in.Submission.Procedure = "bau/anzeige & <mehr>"
					return in
				},
				Mapper: filing{innerDoc, sonderzeichen},
			},
		},
	}
}

// TestWrapMapper runs the tests every mapper shares on Wrap: golden files,
// schema validity, determinism, errors of the input.
func TestWrapMapper(t *testing.T) {
	t.Parallel()
	mappertest.Run(t, suite())
}

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	t.Parallel()
	doc, err := xdomea.Wrap(fullInput(), innerDoc, fullMetadata())
	if err != nil {
		t.Fatal(err)
	}
	xsd := xoevtest.Schema(t, xdomeaXSD)
	mappertest.SchemaRejects(t, xsd, doc.XML, []mappertest.Breakage{
		{Name: "wrong Nachrichtentyp", Old: `<code>0605</code>`, New: `<code>0699</code>`},
		{Name: "Importbestaetigung not 1", Old: `<xdomea:Importbestaetigung>1<`, New: `<xdomea:Importbestaetigung>0<`},
		{Name: "file name without UUID", Old: `<xdomea:Dateiname>7c9e6679`, New: `<xdomea:Dateiname>x7c9e6679`},
		{Name: "missing Erstellerkennung", Old: `<xdomea:Erstellerkennung>svc-amtsbote</xdomea:Erstellerkennung>`, New: ``},
		{Name: "wrong namespace", Old: `xmlns:xdomea="urn:xoev-de:xdomea:schema:3.0.0"`, New: `xmlns:xdomea="urn:xoev-de:xdomea:schema:2.4.0"`},
	})
}

func TestBuildPrimaryAndZIP(t *testing.T) {
	t.Parallel()
	in := fullInput()
	m, err := xdomea.Build(in, innerDoc, fullMetadata())
	if err != nil {
		t.Fatal(err)
	}
	const id = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	if m.Name != id+"_FVDaten.SGOAblegen.0605" {
		t.Errorf("Name = %q", m.Name)
	}
	if m.Primary.Name != id+".xml" || m.Primary.MIMEType != "application/xml" || !bytes.Equal(m.Primary.Content, innerDoc.XML) {
		t.Errorf("Primary = %q %q %q", m.Primary.Name, m.Primary.MIMEType, m.Primary.Content)
	}
	// The message references exactly the primary file.
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(m.Document.XML); err != nil {
		t.Fatal(err)
	}
	if e := parsed.FindElement("//Primaerdokument/Dateiname"); e == nil || e.Text() != m.Primary.Name {
		t.Errorf("Dateiname does not name the primary file %q", m.Primary.Name)
	}
	files := m.Files()
	want := []struct {
		name    string
		content []byte
	}{{m.Name + ".xml", m.Document.XML}, {m.Primary.Name, innerDoc.XML}}
	if len(files) != len(want) {
		t.Fatalf("%d files in the container, want %d", len(files), len(want))
	}
	for i, f := range files {
		if f.Name != want[i].name || !bytes.Equal(f.Content, want[i].content) || f.Attachment != nil {
			t.Errorf("file %d = %q (%d bytes), want %q (%d bytes)", i, f.Name, len(f.Content), want[i].name, len(want[i].content))
		}
	}
	if !m.Modified().Equal(in.CreatedAt.Truncate(time.Second)) {
		t.Errorf("Modified = %v, want %v", m.Modified(), in.CreatedAt)
	}
}

func TestWrapContent(t *testing.T) {
	t.Parallel()
	doc, err := xdomea.Wrap(fullInput(), innerDoc, fullMetadata())
	if err != nil {
		t.Fatal(err)
	}
	const sgo = "/FVDaten.SGOAblegen.0605/SchriftgutobjektZumAblegen/"
	const vorgang = sgo + "Schriftgutobjekt/Vorgang/"
	const dok = vorgang + "Dokument/"
	mappertest.CheckTexts(t, doc.XML, map[string]string{
		"/FVDaten.SGOAblegen.0605/Kopf/ProzessID":                                            "7C9E6679-7425-40DE-944B-E07FC1F90AE7",
		"/FVDaten.SGOAblegen.0605/Kopf/Absender/Behoerdenkennung/Praefix/code":               "gad",
		"/FVDaten.SGOAblegen.0605/Kopf/Empfaenger/Behoerdenkennung/Behoerdenschluessel/code": "01234567-eakte",
		"/FVDaten.SGOAblegen.0605/Kopf/Empfangsbestaetigung":                                 "1",
		sgo + "FachverfahrenObjektID":                                                        "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		sgo + "IDContainer":                                                                  "c0ffee00-1234-4abc-8def-0123456789ab",
		vorgang + "AllgemeineMetadaten/Betreff":                                              "Gewerbeanmeldung, Eingang 29.11.2026",
		vorgang + "Aktenbetreff":                                                             "Gewerbeanmeldung 2026",
		vorgang + "Typ":                                                                      "Gewerbeanmeldung",
		vorgang + "Laufzeit/Beginn":                                                          "2026-11-29",
		dok + "AllgemeineMetadaten/Betreff":                                                  "Gewerbeanmeldung, Eingang 29.11.2026",
		dok + "FremdesGeschaeftszeichen":                                                     "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		dok + "Posteingangsdatum":                                                            "2026-11-29",
		dok + "Version/Format/Name/code":                                                     "030",
		dok + "AnwendungsspezifischeErweiterung/Kennung":                                     xdomea.ErweiterungKennung,
		dok + "AnwendungsspezifischeErweiterung/Feld[Name='verfahren']/Wert":                 "gewerbe.anmeldung",
		dok + "AnwendungsspezifischeErweiterung/Feld[Name='mandant']/Wert":                   "musterstadt",
		dok + "AnwendungsspezifischeErweiterung/Feld[Name='mandantenname']/Wert":             "Stadt Musterstadt",
		dok + "AnwendungsspezifischeErweiterung/Feld[Name='einreichungID']/Wert":             "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		dok + "AnwendungsspezifischeErweiterung/Feld[Name='eingangszeitpunkt']/Wert":         "2026-11-28T23:59:58Z",
		dok + "AnwendungsspezifischeErweiterung/Feld[Name='nachrichtentyp']/Wert":            "xgewerbeanzeige.gewerbemeldung.0500",
	})
}

// TestWrapAkte files a Bauantrag into a yearly Akte of the Aktenplan: the
// message carries the Akte with one Vorgang holding the document, {jahr}
// is the year of receipt in Berlin, the Betreffe say what was applied for,
// each Anlage is named by its bezeichnung, and the Ablageort is set.
func TestWrapAkte(t *testing.T) {
	t.Parallel()
	in := bauantragInput(t)
	doc, err := xdomea.Wrap(in, innerDoc, bauantragMetadata())
	if err != nil {
		t.Fatal(err)
	}
	const sgo = "/FVDaten.SGOAblegen.0605/SchriftgutobjektZumAblegen/"
	const akte = sgo + "Schriftgutobjekt/Akte/"
	const vorgang = akte + "Akteninhalt/Vorgang/"
	const dok = vorgang + "Dokument/"
	const betreff = "Bauantrag: Neubau einer Doppelhaushälfte, Flurstück Gemarkung 4711, Flur 2, 58/3"
	parsed := mappertest.CheckTexts(t, doc.XML, map[string]string{
		akte + "AllgemeineMetadaten/Betreff":                      "Bauanträge 2027",
		akte + "AllgemeineMetadaten/Kennzeichen":                  "63.01.01-2027",
		akte + "AllgemeineMetadaten/Aktenplaneinheit/Kennzeichen": "63.01.01",
		akte + "Typ":                                                       "Sammelakte",
		akte + "Laufzeit/Beginn":                                           "2027-01-01",
		vorgang + "AllgemeineMetadaten/Betreff":                            betreff,
		vorgang + "Typ":                                                    "Baugenehmigung",
		vorgang + "Laufzeit/Beginn":                                        "2027-01-01",
		dok + "AllgemeineMetadaten/Betreff":                                betreff,
		dok + "Anlage[1]/AllgemeineMetadaten/Betreff":                      "Lageplan",
		dok + "Anlage[2]/AllgemeineMetadaten/Betreff":                      "Ansicht Süd",
		dok + "Anlage[3]/AllgemeineMetadaten/Betreff":                      "undeclared.pdf",
		dok + "Anlage[2]/Version/Format/Primaerdokument/DateinameOriginal": "ansicht-süd.png",
		sgo + "Ablageort":                                                  `\\dms01\eakte-import\musterstadt\bau.baugenehmigung`,
	})
	if e := parsed.FindElement(sgo + "IDContainer"); e != nil {
		t.Errorf("IDContainer %q without a configured container", e.Text())
	}
	if e := parsed.FindElement(vorgang + "Aktenbetreff"); e != nil {
		t.Error("Aktenbetreff in a Vorgang sent with its Akte")
	}
	// The year's Akte is open: no Ende, which a DMS may read as closed.
	if e := parsed.FindElement(akte + "Laufzeit/Ende"); e != nil {
		t.Errorf("Laufzeit/Ende %s on the Akte of the running year", e.Text())
	}
	xoevtest.Validate(t, xoevtest.Schema(t, xdomeaXSD), doc.XML)

	// A message created after the year of receipt has ended closes its Laufzeit.
	in.CreatedAt = time.Date(2027, 12, 31, 23, 0, 0, 0, time.UTC) // 2028 in Berlin
	doc, err = xdomea.Wrap(in, innerDoc, bauantragMetadata())
	if err != nil {
		t.Fatal(err)
	}
	mappertest.CheckTexts(t, doc.XML, map[string]string{akte + "Laufzeit/Beginn": "2027-01-01", akte + "Laufzeit/Ende": "2027-12-31"})
	xoevtest.Validate(t, xoevtest.Schema(t, xdomeaXSD), doc.XML)
}

// TestAkteID: every Vorgang of the same Akte names the same Akte id; another
// year, tenant, procedure or Aktenzeichen is another Akte. Each submission
// has its own Vorgang id, the same for every message that files it.
func TestAkteID(t *testing.T) {
	t.Parallel()
	ids := func(in transform.Input, meta xdomea.Metadata) (akte, vorgang string) {
		t.Helper()
		doc, err := xdomea.Wrap(in, innerDoc, meta)
		if err != nil {
			t.Fatal(err)
		}
		parsed := etree.NewDocument()
		if err := parsed.ReadFromBytes(doc.XML); err != nil {
			t.Fatal(err)
		}
		return parsed.FindElement("//Akte/Identifikation/ID").Text(), parsed.FindElement("//Vorgang/Identifikation/ID").Text()
	}
	base := bauantragInput(t)
	akte, vorgang := ids(base, bauantragMetadata())

	same := bauantragInput(t)
	same.Submission.ID, same.MessageID = "5d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	same.Submission.ReceivedAt = time.Date(2027, 6, 1, 8, 0, 0, 0, time.UTC)
	if a, v := ids(same, bauantragMetadata()); a != akte || v == vorgang {
		t.Errorf("another submission of 2027: Akte %s (want %s), Vorgang %s (want not %s)", a, akte, v, vorgang)
	}
	again := base
	again.MessageID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	if a, v := ids(again, bauantragMetadata()); a != akte || v != vorgang {
		t.Errorf("the same submission in another message: Akte %s, Vorgang %s, want %s, %s", a, v, akte, vorgang)
	}
	for name, modify := range map[string]func(*transform.Input, *xdomea.Metadata){
		"year": func(in *transform.Input, _ *xdomea.Metadata) {
			in.Submission.ReceivedAt = in.Submission.ReceivedAt.AddDate(1, 0, 0)
		},
		"tenant":       func(in *transform.Input, _ *xdomea.Metadata) { in.Submission.Tenant = "nachbarstadt" },
		"procedure":    func(in *transform.Input, _ *xdomea.Metadata) { in.Submission.Procedure = "bau.vorbescheid" },
		"aktenzeichen": func(_ *transform.Input, m *xdomea.Metadata) { m.Akte.Aktenzeichen = "63.01.02-{jahr}" },
	} {
		in, meta := bauantragInput(t), bauantragMetadata()
		modify(&in, &meta)
		if a, _ := ids(in, meta); a == akte {
			t.Errorf("another %s files into the same Akte %s", name, a)
		}
	}
}

// TestWrapContainer: with a configured container, the message carries the
// Vorgang alone, IDContainer names the Akte with {jahr} replaced, and the
// Vorgang names its Akte by Aktenbetreff.
func TestWrapContainer(t *testing.T) {
	t.Parallel()
	meta := bauantragMetadata()
	meta.Container = "AKTE-63.01.01-{jahr}"
	doc, err := xdomea.Wrap(bauantragInput(t), innerDoc, meta)
	if err != nil {
		t.Fatal(err)
	}
	const sgo = "/FVDaten.SGOAblegen.0605/SchriftgutobjektZumAblegen/"
	parsed := mappertest.CheckTexts(t, doc.XML, map[string]string{
		sgo + "IDContainer":                           "AKTE-63.01.01-2027",
		sgo + "Schriftgutobjekt/Vorgang/Aktenbetreff": "Bauanträge 2027",
		sgo + "Schriftgutobjekt/Vorgang/Dokument/Anlage[1]/AllgemeineMetadaten/Betreff": "Lageplan",
	})
	if parsed.FindElement("//Akte") != nil {
		t.Error("an Akte in the message although the container is configured")
	}
	xoevtest.Validate(t, xoevtest.Schema(t, xdomeaXSD), doc.XML)
}

func TestBetreff(t *testing.T) {
	t.Parallel()
	received := time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC) // the 29th in Berlin
	long := strings.Repeat("Neubau ", 60)
	tests := []struct {
		name      string
		procedure string
		data      map[string]any
		want      string
	}{
		{"bauantrag", "bau.baugenehmigung", map[string]any{
			"bauvorhaben": map[string]any{"bezeichnung": "Anbau eines\nWintergartens"},
			"baugrundstueck": map[string]any{"flurstuecke": []any{
				map[string]any{"gemarkung": map[string]any{"bezeichnung": "Musterstadt"}, "zaehler": "123"},
				map[string]any{"gemarkung": map[string]any{"nummer": "0815"}, "zaehler": "124"},
				map[string]any{"gemarkung": map[string]any{"nummer": "0815"}, "zaehler": "125"},
			}},
		}, "Bauantrag: Anbau eines Wintergartens, Flurstück Gemarkung Musterstadt, 123 (und 2 weitere)"},
		{"bauantrag without flurstueck", "bau.baugenehmigung", map[string]any{
			"bauvorhaben": map[string]any{"bezeichnung": "Abriss"}}, "Bauantrag: Abriss"},
		{"bauantrag too long", "bau.baugenehmigung", map[string]any{
			"bauvorhaben": map[string]any{"bezeichnung": long}},
			string([]rune("Bauantrag: " + long)[:xdomea.MaxBetreff-3]) + "..."},
		{"bauantrag without vorhaben", "bau.baugenehmigung", map[string]any{}, "Baugenehmigung, Eingang 29.11.2026"},
		{"gewerbeanmeldung", "gewerbe.anmeldung", map[string]any{
			"taetigkeit": map[string]any{"beschreibung": "Hausmeisterdienste"}}, "Gewerbeanmeldung: Hausmeisterdienste"},
		{"einzug", "meldewesen.wohnungsgeberbestaetigung", map[string]any{
			"art": "einzug", "einzugsdatum": "2026-12-15", "wohnung": map[string]any{"strasse": "Am Mühlbach"}},
			"Wohnungsgeberbestätigung: Einzug am 15.12.2026"},
		{"auszug", "meldewesen.wohnungsgeberbestaetigung", map[string]any{"art": "auszug", "auszugsdatum": "2027-01-31"},
			"Wohnungsgeberbestätigung: Auszug am 31.01.2027"},
		{"einzug with Zuordnungsmerkmal", "meldewesen.wohnungsgeberbestaetigung", map[string]any{
			"art": "einzug", "einzugsdatum": "2026-12-15", "zuordnungsmerkmal": "WGB-2026-004711"},
			"Wohnungsgeberbestätigung: Einzug am 15.12.2026, Zuordnungsmerkmal WGB-2026-004711"},
		{"unknown procedure", "ordnung.sondernutzung", map[string]any{"antragsteller": "Erika Mustermann"},
			"Baugenehmigung, Eingang 29.11.2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := transform.Submission{Procedure: tt.procedure, Data: tt.data, ReceivedAt: received,
				Applicant: map[string]any{"vorname": "Erika", "familienname": "Mustermann"}}
			got := xdomea.Betreff(s, "Baugenehmigung")
			if got != tt.want {
				t.Errorf("Betreff = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "Mustermann") {
				t.Error("the Betreff names the applicant")
			}
		})
	}
}

func TestWrapErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(in *transform.Input, inner *transform.Document, meta *xdomea.Metadata)
		want   string
	}{
		{"tenant", func(in *transform.Input, _ *transform.Document, _ *xdomea.Metadata) { in.Submission.Tenant = "" }, "tenant is empty"},
		{"procedure", func(in *transform.Input, _ *transform.Document, _ *xdomea.Metadata) { in.Submission.Procedure = "" }, "procedure is empty"},
		{"kennung", func(in *transform.Input, _ *transform.Document, _ *xdomea.Metadata) { in.Reader.Kennung = "dms" }, "reader kennung is not of the form praefix:kennung"},
		{"empty inner", func(_ *transform.Input, inner *transform.Document, _ *xdomea.Metadata) { inner.XML = nil }, "inner document is empty"},
		{"inner not UTF-8", func(_ *transform.Input, inner *transform.Document, _ *xdomea.Metadata) {
			inner.XML = []byte("<a>\xff</a>")
		}, "inner document is not UTF-8"},
		{"inner type", func(_ *transform.Input, inner *transform.Document, _ *xdomea.Metadata) { inner.MessageType = "" }, "inner message type is empty"},
		{"procedure name", func(_ *transform.Input, _ *transform.Document, m *xdomea.Metadata) { m.ProcedureName = "" }, "procedure name is empty"},
		{"tenant name", func(_ *transform.Input, _ *transform.Document, m *xdomea.Metadata) { m.TenantName = "" }, "tenant name is empty"},
		{"creator", func(_ *transform.Input, _ *transform.Document, m *xdomea.Metadata) { m.Creator = "" }, "creator is empty"},
		{"control character", func(_ *transform.Input, _ *transform.Document, m *xdomea.Metadata) { m.TenantName = "Stadt\x00" }, "tenant name: control character U+0000"},
		{"akte", func(_ *transform.Input, _ *transform.Document, m *xdomea.Metadata) { m.Akte.Aktenzeichen = "63\x01" }, "aktenzeichen: control character U+0001"},
		{"betreff from the payload", func(in *transform.Input, _ *transform.Document, _ *xdomea.Metadata) {
			in.Submission.Procedure = "gewerbe.anmeldung"
			in.Submission.Data = map[string]any{"taetigkeit": map[string]any{"beschreibung": "Handel\x00"}}
		}, "betreff: control character U+0000"},
		{"anlage betreff from the file name", func(in *transform.Input, _ *transform.Document, _ *xdomea.Metadata) {
			in.Submission.Attachments = []transform.Attachment{{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", FileName: "a\x7fb.pdf", MIMEType: "application/pdf"}}
		}, "attachment 0: betreff: control character U+007F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, inner, meta := fullInput(), innerDoc, fullMetadata()
			tt.modify(&in, &inner, &meta)
			doc, err := xdomea.Wrap(in, inner, meta)
			if err == nil {
				t.Fatalf("Wrap succeeded, want an error; output:\n%s", doc.XML)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if doc.XML != nil {
				t.Error("Wrap returned XML with an error")
			}
		})
	}
}

// randomInner returns a random inner document: random well-formed XML with
// text of the permitted repertoire, a random message type.
func randomInner(r *rand.Rand) transform.Document {
	d := etree.NewDocument()
	d.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := d.CreateElement(fmt.Sprintf("x:nachricht.%04d", r.IntN(10000)))
	root.CreateAttr("xmlns:x", "urn:test:"+fmt.Sprint(r.IntN(100)))
	for range r.IntN(50) {
		root.CreateElement("x:feld").CreateText(randomText(r, 200))
	}
	out, _ := d.WriteToBytes()
	return transform.Document{XML: out, MessageType: fmt.Sprintf("test.nachricht.%04d", r.IntN(10000))}
}

var alphabet = []rune("aZßäÖéłØçİŉ09 -.,'&<>\"§€/()")

func randomText(r *rand.Rand, n int) string {
	rs := make([]rune, 1+r.IntN(n))
	for i := range rs {
		rs[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(rs)
}

func randomUUID(r *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&0xffffffffffff)
}

// TestWrapRandom wraps 20 random inner documents with random metadata: each
// message must validate against the official xdomea.xsd, reference its
// primary file, and carry the inner document unchanged as that file.
func TestWrapRandom(t *testing.T) {
	t.Parallel()
	xsd := xoevtest.Schema(t, xdomeaXSD)
	r := rand.New(rand.NewPCG(2026, 1128))
	for i := range 20 {
		in := fullInput()
		in.MessageID = randomUUID(r)
		in.Submission.ID = randomUUID(r)
		in.Submission.Tenant = "mandant-" + fmt.Sprint(r.IntN(1000))
		in.Submission.Procedure = "verfahren." + fmt.Sprint(r.IntN(1000))
		in.Submission.ReceivedAt = time.Unix(r.Int64N(4_000_000_000), r.Int64N(1e9))
		in.CreatedAt = in.Submission.ReceivedAt.Add(time.Duration(r.IntN(1e6)) * time.Second)
		in.Author.Name = randomText(r, 80)
		if r.IntN(2) == 0 {
			in.Reader = transform.Party{}
		}
		meta := xdomea.Metadata{
			ProcedureName: randomText(r, 120), TenantName: randomText(r, 120), Creator: randomText(r, 30),
			ReceiptRequested: r.IntN(2) == 0,
		}
		if r.IntN(2) == 0 {
			meta.Container = randomUUID(r)
		}
		if r.IntN(2) == 0 {
			meta.Akte = xdomea.Akte{Betreff: randomText(r, 80) + "{jahr}", Aktenzeichen: randomText(r, 20),
				Aktenplankennzeichen: randomText(r, 12), Typ: randomText(r, 20)}
			meta.Ablageort = randomText(r, 100)
		}
		inner := randomInner(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			m, err := xdomea.Build(in, inner, meta)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			xoevtest.Validate(t, xsd, m.Document.XML)
			if !bytes.Equal(m.Primary.Content, inner.XML) {
				t.Error("primary file differs from the inner document")
			}
			if !bytes.Contains(m.Document.XML, []byte("<xdomea:Dateiname>"+m.Primary.Name+"<")) {
				t.Error("message does not reference the primary file")
			}
			parsed := etree.NewDocument()
			if err := parsed.ReadFromBytes(m.Document.XML); err != nil {
				t.Fatal(err)
			}
			if e := parsed.FindElement("//Vorgang/AllgemeineMetadaten/Betreff"); e == nil || e.Text() != xdomea.Betreff(in.Submission, meta.ProcedureName) {
				t.Error("the Vorgang's Betreff is not xdomea.Betreff")
			}
			again, err := xdomea.Wrap(in, inner, meta)
			if err != nil || !bytes.Equal(again.XML, m.Document.XML) {
				t.Errorf("Wrap differs from Build or is not deterministic (err %v)", err)
			}
		})
	}
}

// BenchmarkWrap wraps a 10 kB inner document.
func BenchmarkWrap(b *testing.B) {
	inner := randomInner(rand.New(rand.NewPCG(1, 2)))
	for len(inner.XML) < 10_000 {
		inner.XML = append(inner.XML, inner.XML...)
	}
	in, meta := fullInput(), fullMetadata()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xdomea.Wrap(in, inner, meta); err != nil {
			b.Fatal(err)
		}
	}
}

// Attachments are filed as numbered Anlagen of the document, travel in the ZIP
// under the names the message references, and the message stays valid, also for
// a media type the Dateiformat code list lacks.
func TestBuildAttachments(t *testing.T) {
	t.Parallel()
	in := fullInput()
	pdf := transform.Attachment{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", FileName: "Lageplan Grundstück.pdf",
		MIMEType: "application/pdf", Size: 17, Ref: "blob-1"}
	odd := transform.Attachment{ID: "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", FileName: "statik.ifc",
		MIMEType: "application/x-step", Size: 13, Ref: "blob-2"}
	in.Submission.Attachments = []transform.Attachment{pdf, odd}
	m, err := xdomea.Build(in, innerDoc, fullMetadata())
	if err != nil {
		t.Fatal(err)
	}
	xoevtest.Validate(t, xoevtest.Schema(t, xdomeaXSD), m.Document.XML)

	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(m.Document.XML); err != nil {
		t.Fatal(err)
	}
	anlagen := parsed.FindElements("//Dokument/Anlage")
	if len(anlagen) != 2 {
		t.Fatalf("%d Anlagen, want 2", len(anlagen))
	}
	wantCodes := []string{"018", "100"}
	for i, a := range anlagen {
		name := a.FindElement("Version/Format/Primaerdokument/Dateiname").Text()
		if name != m.Attachments[i].Name || !strings.HasPrefix(name, in.Submission.Attachments[i].ID+"_") {
			t.Errorf("Anlage %d: Dateiname %q, file %q", i+1, name, m.Attachments[i].Name)
		}
		if c := a.FindElement("Version/Format/Name/code").Text(); c != wantCodes[i] {
			t.Errorf("Anlage %d: Dateiformat %s, want %s", i+1, c, wantCodes[i])
		}
		if n := a.FindElement("Nummer").Text(); n != fmt.Sprint(i+1) {
			t.Errorf("Anlage %d: Nummer %s", i+1, n)
		}
	}
	files := m.Files()
	if len(files) != 4 {
		t.Fatalf("the container holds %d files, want message, primary document and 2 attachments", len(files))
	}
	for i, a := range in.Submission.Attachments {
		f := files[2+i]
		if f.Name != m.Attachments[i].Name || f.Content != nil || f.Attachment == nil || *f.Attachment != a {
			t.Errorf("file %d = %q %+v, want attachment %s by reference", 2+i, f.Name, f.Attachment, a.Ref)
		}
	}
}
