package xdomea_test

import (
	"bytes"
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
	const dok = sgo + "Schriftgutobjekt/Dokument/"
	mappertest.CheckTexts(t, doc.XML, map[string]string{
		"/FVDaten.SGOAblegen.0605/Kopf/ProzessID":                                            "7C9E6679-7425-40DE-944B-E07FC1F90AE7",
		"/FVDaten.SGOAblegen.0605/Kopf/Absender/Behoerdenkennung/Praefix/code":               "gad",
		"/FVDaten.SGOAblegen.0605/Kopf/Empfaenger/Behoerdenkennung/Behoerdenschluessel/code": "01234567-eakte",
		"/FVDaten.SGOAblegen.0605/Kopf/Empfangsbestaetigung":                                 "1",
		sgo + "FachverfahrenObjektID":                                                        "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		sgo + "IDContainer":                                                                  "c0ffee00-1234-4abc-8def-0123456789ab",
		dok + "AllgemeineMetadaten/Betreff":                                                  "Gewerbeanmeldung",
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
			if e := parsed.FindElement("//AllgemeineMetadaten/Betreff"); e == nil || e.Text() != transform.NormalizeText(meta.ProcedureName) {
				t.Error("Betreff does not round-trip")
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
