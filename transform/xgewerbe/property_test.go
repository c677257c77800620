package xgewerbe_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xgewerbe/xgewerbetest"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// TestMapRandomValid maps 200 random valid payloads (xgewerbetest.Random)
// and the extremes (xgewerbetest.Extremes): each must pass Validate, map
// without error, validate against Schema, use only element paths of the
// example instance, and keep its activity text (in NFC).
func TestMapRandomValid(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	xsd := schemaPath(t)
	example, err := os.ReadFile(filepath.Join(xoevtest.SchemaDir(t), "xgewerbeanzeige-2.2", "xgwa2.2-valid.xml"))
	if err != nil {
		t.Fatal(err)
	}
	known := elementPaths(t, example)
	r := rand.New(rand.NewPCG(2026, 1128))
	cases := xgewerbetest.Extremes()
	for i := range 200 {
		cases = append(cases, xgewerbetest.Extreme{Name: fmt.Sprint("random-", i), Submission: xgewerbetest.Random(r)})
	}
	dir := t.TempDir()
	var files []string
	for _, c := range cases {
		s := c.Submission
		if errs := m.Validate(s); errs != nil {
			t.Errorf("%s: Validate: %+v", c.Name, errs)
			continue
		}
		doc, err := m.Map(fullInput(s))
		if err != nil {
			t.Errorf("%s: Map: %v", c.Name, err)
			continue
		}
		for p := range elementPaths(t, doc.XML) {
			if !known[p] {
				t.Errorf("%s: element path %s does not occur in the example", c.Name, p)
			}
		}
		parsed := etree.NewDocument()
		if err := parsed.ReadFromBytes(doc.XML); err != nil {
			t.Fatal(err)
		}
		want := transform.NormalizeText(s.Data["taetigkeit"].(map[string]any)["beschreibung"].(string))
		if e := parsed.FindElement("//taetigkeitSchwerpunkt"); e == nil || e.Text() != want {
			t.Errorf("%s: taetigkeitSchwerpunkt does not round-trip: want %q", c.Name, want)
		}
		f := filepath.Join(dir, c.Name+".xml")
		if err := os.WriteFile(f, doc.XML, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for f, complaint := range xoevtest.CheckFiles(t, xsd, files) {
		t.Errorf("%s is not valid:\n%s", filepath.Base(f), complaint)
	}
	if len(files) < 200+len(xgewerbetest.Extremes()) {
		t.Errorf("only %d documents validated", len(files))
	}
}

// FuzzAnmeldung feeds request bodies to Validate and Map and checks what
// every mapper promises of any submission (mappertest.Suite.Check): neither
// panics; a body that passes Validate maps to well-formed XML, one that does
// not is refused by Map with a *transform.ValidationError whose pointers are
// RFC 6901 pointers into the body.
func FuzzAnmeldung(f *testing.F) {
	for _, name := range examples {
		raw, err := os.ReadFile(examplePath(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"tenant":"t","procedure":"gewerbe.anmeldung","applicant":{"art":"organisation"},"data":{}}`))
	f.Add([]byte(`{"applicant":{"art":"natuerlichePerson","vorname":"\u0000"},"data":{"beschaeftigteVollzeit":1e400}}`))
	f.Add([]byte(`{"applicant":{"art":"natuerlichePerson","geschlecht":"m","aufenthaltstitel":{"ausgestelltVon":{"name":"]]>"}}},` +
		`"data":{"betriebArt":["handel","handel",null],"niederlassung":1,"reisegewerbe":"ja","handwerkskarte":{"ausgestelltAm":"2012-13-01","ausgestelltVon":{"schluessel":"7"}}}}`))
	check := suite(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := mappertest.DecodeSubmission(raw, true)
		if err != nil {
			return
		}
		s.ID = "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"
		s.ReceivedAt = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		check.Check(t, fullInput(s))
	})
}
