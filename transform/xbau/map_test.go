package xbau_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xbau"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// xsd is the official schema of the message, relative to xoevtest.SchemaDir.
const xsd = "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd"

// examples are the example requests in testdata/submissions, by name.
var examples = []string{"minimal", "maximal", "organisation", "entwurfsverfasser", "long-names", "anlagen"}

func examplePath(name string) string {
	return filepath.Join("..", "..", "testdata", "submissions", "bau.baugenehmigung-"+name+".json")
}

// fullInput returns an Input with fixed Nachrichtenkopf values.
func fullInput(s transform.Submission) transform.Input {
	return transform.Input{
		Submission: s,
		MessageID:  "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6",
		Author: transform.Party{
			ID: "musterstadt-portal", Name: "Stadt Musterstadt, Bürgerservice Online",
			Kennung: "ozg:musterstadt-0001", AGS: "01234567",
		},
		Reader: transform.Party{
			ID: "musterstadt-bauaufsicht", Name: "Stadt Musterstadt, Untere Bauaufsichtsbehörde",
			Kennung: "bau:012345670000",
		},
		Product:   transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "dev"},
		CreatedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
	}
}

func newMapper(t testing.TB) *xbau.Baugenehmigung {
	t.Helper()
	m, err := xbau.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapGolden(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	schema := xoevtest.Schema(t, xsd)
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := mappertest.ReadSubmission(t, examplePath(name))
			if s.Tenant != "musterstadt" || s.Procedure != xbau.Procedure {
				t.Errorf("example has tenant %q, procedure %q", s.Tenant, s.Procedure)
			}
			if errs := m.Validate(s); errs != nil {
				t.Fatalf("Validate: %+v", errs)
			}
			doc, err := m.Map(fullInput(s))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if doc.MessageType != "xbau.baugenehmigung.antrag.0200" {
				t.Errorf("MessageType = %q", doc.MessageType)
			}
			want := xoevtest.Golden(t, filepath.Join("testdata", name+".golden.xml"), doc.XML)
			xoevtest.Validate(t, schema, doc.XML)
			xoevtest.Validate(t, schema, want)
		})
	}
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
			in := fullInput(mappertest.ReadSubmission(t, examplePath(tt.name)))
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

func TestMapDeterministic(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	in := fullInput(mappertest.ReadSubmission(t, examplePath("maximal")))
	mappertest.MapDeterministic(t, m, in, 30)
}

// TestMapText checks that text is written in NFC and survives escaping.
func TestMapText(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	s := mappertest.ReadSubmission(t, examplePath("minimal"))
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

func TestMapErrors(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	valid := fullInput(mappertest.ReadSubmission(t, examplePath("minimal")))
	tests := []struct {
		name    string
		modify  func(in *transform.Input)
		invalid bool   // a *transform.ValidationError is expected
		want    string // part of the error message
	}{
		{"invalid submission", func(in *transform.Input) {
			in.Submission.Applicant = map[string]any{"familienname": "Иван", "anschrift": map[string]any{"postleitzahl": "12345", "ort": "X"}}
		}, true, `"/applicant/familienname" unsupported_character`},
		{"no data", func(in *transform.Input) { in.Submission.Data = nil }, true, `"/data" required`},
		{"message id", func(in *transform.Input) { in.MessageID = "../../etc/passwd" }, false, "message id is not a UUID"},
		{"submission id", func(in *transform.Input) { in.Submission.ID = "0b0f1c6e7d4a4f5e9a513c2d1e0f9a8b" }, false, "submission id is not a UUID"},
		{"created", func(in *transform.Input) { in.CreatedAt = time.Time{} }, false, "creation time is zero"},
		{"received", func(in *transform.Input) { in.Submission.ReceivedAt = time.Time{} }, false, "receipt time is zero"},
		{"author", func(in *transform.Input) { in.Author = transform.Party{} }, false, "author kennung is empty"},
		{"reader name", func(in *transform.Input) { in.Reader.Name = "Bauamt – Nord" }, false, "reader name has characters outside DIN 91379"},
		{"product", func(in *transform.Input) { in.Product.Manufacturer = "" }, false, "product manufacturer is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := valid
			tt.modify(&in)
			mappertest.CheckMapError(t, m, in, tt.invalid, tt.want)
		})
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
	xoevtest.Validate(t, schema, valid)
	tests := []struct{ name, old, new string }{
		{"prefixed header", "<nachrichtenkopf.g2g>", "<xbau:nachrichtenkopf.g2g>"},
		{"prefixed code", "<code>0200</code>", "<xbau:code>0200</xbau:code>"},
		{"wrong listVersionID", `listVersionID="4.0"`, `listVersionID="3.0"`},
		{"wrong listURI", `listURI="urn:xoev-de:xbau:codeliste:baumassnahmeart"`, `listURI="urn:xoev-de:xbau:codeliste:massnahme"`},
		{"wrong version attribute", `version="2.6"`, `version="2.5"`},
		{"no produkthersteller", `produkthersteller="Amtsbote-Projekt" `, ``},
		{"unknown Baumaßnahme", "<code>11</code>", "<code>15</code>"},
		{"text outside datatype C", "<xbau:bezeichnungDesBauvorhabens>Neubau", "<xbau:bezeichnungDesBauvorhabens>„Neubau“"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !bytes.Contains(valid, []byte(tt.old)) {
				t.Fatalf("minimal.golden.xml does not contain %q", tt.old)
			}
			broken := bytes.Replace(valid, []byte(tt.old), []byte(tt.new), 1)
			if err := xoevtest.Check(t, schema, broken); err == nil {
				t.Errorf("xmllint accepted the message with %s", tt.name)
			}
		})
	}
}
