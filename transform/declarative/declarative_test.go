package declarative_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/declarative"
)

// A small procedure: the files a test changes one at a time.
const (
	testProcedure = `id: test.verfahren
name: Test
message_type: test.nachricht.0001
namespace: urn:test:1
`
	testSchema = `{
  "type": "object", "required": ["applicant", "data"], "additionalProperties": false,
  "properties": {
    "applicant": {"type": "object", "properties": {"name": {"type": "string", "format": "din91379-b"}}},
    "data": {"type": "object", "required": ["art"], "additionalProperties": false, "properties": {
      "art": {"enum": ["a", "b"]},
      "optional": {"type": "string"},
      "liste": {"type": "array", "items": {"type": "integer"}},
      "personen": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}
    }}
  }
}`
	testMapping = `namespaces:
  t: urn:test:1
codelists:
  art: {uri: "urn:test:art", version: "1", codes: {a: A}}
root:
  element: t:nachricht
  product_attributes: true
  children:
    - identifikation_nachricht: {prefix: t, list: art, nachrichtentyp: test.nachricht.0001}
    - {element: t:art, list: art, value: /data/art}
    - {element: t:name, value: /applicant/name, optional: true}
    - element: t:person
      each: /data/personen
      attributes: [{name: nr, expr: "index + 1"}]
      children: [{element: t:name, value: ./name}]
`
	testExample = `{"tenant": "t", "procedure": "test.verfahren", "applicant": {"name": "Ärger & <Co>"},
  "data": {"art": "a", "personen": [{"name": "Eins"}, {"name": "Zwei"}]}}`
)

// files returns the test procedure with the files of replace changed ("" deletes one).
func files(replace map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"procedure.yaml":        {Data: []byte(testProcedure)},
		"schema.json":           {Data: []byte(testSchema)},
		"mapping.yaml":          {Data: []byte(testMapping)},
		"examples/example.json": {Data: []byte(testExample)},
	}
	for name, data := range replace {
		if data == "" {
			delete(fsys, name)
			continue
		}
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

func load(t *testing.T, replace map[string]string) *declarative.Procedure {
	t.Helper()
	p, err := declarative.Load(files(replace), "p")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mapExample(t *testing.T, p *declarative.Procedure, body string) (transform.Document, error) {
	t.Helper()
	s, err := declarative.DecodeExample([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return p.Map(p.ExampleInput(s))
}

func TestMapBuildsWithEtree(t *testing.T) {
	t.Parallel()
	doc, err := mapExample(t, load(t, nil), testExample)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<t:nachricht xmlns:t="urn:test:1" produkt="Amtsbote" produkthersteller="Amtsbote-Projekt" produktversion="dev">`,
		`<t:nachrichtentyp listURI="urn:test:art" listVersionID="1">`,
		`<t:art listURI="urn:test:art" listVersionID="1">` + "\n    <code>A</code>",
		`<t:name>Ärger &amp; &lt;Co&gt;</t:name>`,
		`<t:person nr="2">` + "\n    <t:name>Zwei</t:name>",
	} {
		if !strings.Contains(string(doc.XML), want) {
			t.Errorf("output lacks %q:\n%s", want, doc.XML)
		}
	}
	if doc.MessageType != "test.nachricht.0001" {
		t.Errorf("MessageType %q", doc.MessageType)
	}
}

// TestLoadErrors: each broken directory is refused with the file, the line
// and, where one is involved, the pointer; several problems at once.
func TestLoadErrors(t *testing.T) {
	t.Parallel()
	mapping := func(old, new string) map[string]string {
		if !strings.Contains(testMapping, old) {
			panic("test mapping lacks " + old)
		}
		return map[string]string{"mapping.yaml": strings.Replace(testMapping, old, new, 1)}
	}
	cases := []struct {
		name    string
		replace map[string]string
		want    []string
	}{
		{"pointer unknown to the schema", mapping("value: /data/art}", "value: /data/artt}"),
			[]string{"p/mapping.yaml:10: /data/artt:", `allows no member "artt"`}},
		{"relative pointer unknown to the schema", mapping("value: ./name}]", "value: ./vorname}]"),
			[]string{"p/mapping.yaml:15: ./vorname:"}},
		{"pointer outside the payload", mapping("value: /applicant/name,", "value: /tenant,"),
			[]string{"p/mapping.yaml:11: /tenant:", "/applicant, /data or /identity"}},
		{"each over no array", mapping("each: /data/personen", "each: /data/art"),
			[]string{"p/mapping.yaml:13: /data/art:", "no array elements"}},
		{"undeclared prefix", mapping("element: t:art,", "element: x:art,"),
			[]string{"p/mapping.yaml:10:", `prefix "x"`}},
		{"unknown key", mapping("optional: true}", "optinal: true}"),
			[]string{"p/mapping.yaml:11:", `unknown key "optinal"`}},
		{"expression that does not compile", mapping(`expr: "index + 1"`, `expr: "index +"`),
			[]string{"p/mapping.yaml:14:", "expression"}},
		{"unknown identifier", mapping(`expr: "index + 1"`, `expr: "indx + 1"`),
			[]string{"p/mapping.yaml:14:", "indx"}},
		{"clock", mapping(`expr: "index + 1"`, `expr: "now()"`),
			[]string{"p/mapping.yaml:14:", "now"}},
		{"expression member unknown to the schema", mapping(`expr: "index + 1"`, `expr: "data.personen[0].nam ?? index"`),
			[]string{"p/mapping.yaml:14: /data/personen/0/nam:", `allows no member "nam"`}},
		{"item member unknown to the schema", mapping(`expr: "index + 1"`, `expr: "item.vorname"`),
			[]string{"p/mapping.yaml:14: item/vorname:", `no member "vorname"`}},
		{"rule member unknown to the schema", map[string]string{"procedure.yaml": testProcedure + "rules:\n  - {pointer: /data/art, assert: \"data.arts != nil\", message: m, message_de: m}\n"},
			[]string{"p/procedure.yaml:6: /data/art:", "/data/arts", `no member "arts"`}},
		{"value and expr", mapping("value: /data/art}", "value: /data/art, expr: data.art}"),
			[]string{"p/mapping.yaml:10:", "only one of value, expr and text"}},
		{"unknown code list", mapping("list: art, value", "list: arten, value"),
			[]string{"p/mapping.yaml:10:", `no code list "arten"`}},
		{"template loop", map[string]string{"mapping.yaml": strings.Replace(testMapping, "root:",
			"templates:\n  a: [{use: b}]\n  b: [{element: t:x, children: [{use: a}]}]\nroot:", 1) + "    - use: a\n"},
			[]string{"p/mapping.yaml:", `template "a" uses itself (a -> b -> a)`, "loop"}},
		{"templates that multiply", map[string]string{"mapping.yaml": strings.Replace(testMapping, "root:",
			"templates:\n  a: [{element: t:x, text: x}, {element: t:x, text: x}, {element: t:x, text: x}, {element: t:x, text: x}]\n"+
				"  b: [{use: a}, {use: a}, {use: a}, {use: a}, {use: a}, {use: a}, {use: a}, {use: a}]\n"+
				"  c: [{use: b}, {use: b}, {use: b}, {use: b}, {use: b}, {use: b}, {use: b}, {use: b}]\n"+
				"  d: [{use: c}, {use: c}, {use: c}, {use: c}, {use: c}, {use: c}, {use: c}, {use: c}]\n"+
				"  e: [{use: d}, {use: d}, {use: d}, {use: d}, {use: d}, {use: d}, {use: d}, {use: d}]\nroot:", 1) + "    - use: e\n"},
			[]string{"p/mapping.yaml:", "more than 20000 nodes"}},
		{"namespace of the procedure", map[string]string{"procedure.yaml": strings.Replace(testProcedure, "urn:test:1", "urn:test:2", 1)},
			[]string{"p/mapping.yaml:6:", `"urn:test:1" is not the procedure's namespace "urn:test:2"`}},
		{"procedure.yaml key", map[string]string{"procedure.yaml": testProcedure + "colour: blue\n"},
			[]string{"p/procedure.yaml:", "colour"}},
		{"rule pointer", map[string]string{"procedure.yaml": testProcedure + "rules:\n  - {pointer: /data/nix, assert: \"true\", message: m, message_de: m}\n"},
			[]string{"p/procedure.yaml:6: /data/nix:"}},
		{"rule without German", map[string]string{"procedure.yaml": testProcedure + "rules:\n  - {pointer: /data/art, assert: \"true\", message: m}\n"},
			[]string{"p/procedure.yaml:6: /data/art:", "message_de"}},
		{"no mapping", map[string]string{"mapping.yaml": ""}, []string{"p/mapping.yaml: read:"}},
		{"schema", map[string]string{"schema.json": `{"type": 5}`}, []string{"p/schema.json:"}},
		{"two problems", mapping("value: /data/art}", "value: /data/artt}\n    - {element: y:z, text: a}"),
			[]string{"p/mapping.yaml:10: /data/artt:", "p/mapping.yaml:11:", `prefix "y"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := declarative.Load(files(c.replace), "p")
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var derr *declarative.Error
			if !errors.As(err, &derr) {
				t.Errorf("no *declarative.Error in %v", err)
			}
		})
	}
}

// TestMapErrors: a mapping step that fails at run time names the line and
// the pointer, and Map returns no XML.
func TestMapErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, old, new, body string
		want                 []string
	}{
		{"required value absent", "{element: t:name, value: /applicant/name, optional: true}", "{element: t:name, value: /data/optional}", testExample,
			[]string{"p/mapping.yaml:11: /data/optional:", "required value is absent"}},
		{"value outside the codes", "codes: {a: A}", "codes: {c: C}", testExample,
			[]string{"p/mapping.yaml:10: /data/art:", "not in the codes"}},
		{"expression without bound", `expr: "index + 1"`, `expr: "len(map(1..1000000000, # * 2))"`, testExample,
			[]string{"p/mapping.yaml:14:", "memory budget"}},
		{"too many elements", "{element: t:name, value: ./name}]", "{element: t:n, each: /data/liste, text: x}]",
			strings.Replace(testExample, `"personen": [{"name": "Eins"}, {"name": "Zwei"}]`,
				`"liste": [`+strings.Repeat("1,", 999)+`1], "personen": [`+strings.Repeat(`{},`, 199)+`{}]`, 1),
			[]string{"p/mapping.yaml:15:", "more than 100000 elements"}},
		{"object as text", "{element: t:name, value: /applicant/name, optional: true}", "{element: t:name, value: /applicant}", testExample,
			[]string{"p/mapping.yaml:11: /applicant:", "is a object"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := load(t, map[string]string{"mapping.yaml": strings.Replace(testMapping, c.old, c.new, 1)})
			doc, err := mapExample(t, p, c.body)
			if err == nil {
				t.Fatalf("Map succeeded:\n%s", doc.XML)
			}
			if doc.XML != nil {
				t.Error("XML with an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

func TestValidateRulesAndFormats(t *testing.T) {
	t.Parallel()
	p := load(t, map[string]string{"procedure.yaml": testProcedure + `rules:
  - pointer: /data/optional
    if: data.art == "b"
    assert: data.optional != nil
    code: required
    message: is required for art b
    message_de: ist für art b erforderlich
  - pointer: /data/liste
    assert: sum(data.liste ?? []) <= 10
    code: out_of_range
    message: must not add up to more than 10
    message_de: darf zusammen nicht mehr als 10 ergeben
`})
	check := func(body string, want ...string) {
		t.Helper()
		s, err := declarative.DecodeExample([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range p.Validate(s) {
			got = append(got, e.Pointer+" "+e.Code)
			if e.Message == "" || e.MessageDE == "" {
				t.Errorf("%+v lacks a message", e)
			}
		}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s:\n got %q\nwant %q", body, got, want)
		}
	}
	check(testExample)
	check(`{"applicant": {}, "data": {"art": "b"}}`, "/data/optional required")
	check(`{"applicant": {}, "data": {"art": "a", "liste": [5, 6]}}`, "/data/liste out_of_range")
	check(`{"applicant": {"name": "Иван"}, "data": {"art": "b"}}`, "/applicant/name unsupported_character") // rules wait for a valid schema
	check(`{"applicant": {"name": "A\u0007"}, "data": {"art": "a"}}`, "/applicant/name control_character")
	check(`{"data": {"art": "c"}}`, "/applicant required", "/data/art enum")
}

func TestMappingVersion(t *testing.T) {
	t.Parallel()
	a, b := load(t, nil), load(t, nil)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(a.MappingVersion()) || a.MappingVersion() != b.MappingVersion() {
		t.Fatalf("versions %q %q", a.MappingVersion(), b.MappingVersion())
	}
	hidden := files(nil)
	hidden[".mapping.yaml.swp"] = &fstest.MapFile{Data: []byte("x")}
	if c, err := declarative.Load(hidden, "p"); err != nil || c.MappingVersion() != a.MappingVersion() {
		t.Errorf("a hidden file changes the version (%v)", err)
	}
	for _, name := range []string{"mapping.yaml", "schema.json", "procedure.yaml", "examples/example.json"} {
		fsys := files(nil)
		fsys[name].Data = append(append([]byte{}, fsys[name].Data...), '\n')
		c, err := declarative.Load(fsys, "p")
		if err != nil {
			t.Fatal(err)
		}
		if c.MappingVersion() == a.MappingVersion() {
			t.Errorf("a change of %s keeps the version", name)
		}
	}
}

// TestExamples: Test compares with the golden output, writes it with
// Update, and reports a difference, a missing golden file and output
// invalid against the XSD.
func TestExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, f := range files(nil) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := declarative.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Test(declarative.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 1 || rep.Examples[0].Err == nil || !strings.Contains(rep.Examples[0].Err.Error(), "no golden output") {
		t.Fatalf("without a golden file: %+v", rep.Examples)
	}
	if rep, err = p.Test(declarative.TestOptions{Update: true}); err != nil || rep.Failed() != 0 || !rep.Examples[0].Updated {
		t.Fatalf("update: %v %+v", err, rep)
	}
	golden := filepath.Join(dir, "examples", "example.xml")
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(golden, []byte(strings.Replace(string(b), "Zwei", "Drei", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = p.Test(declarative.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := rep.Examples[0].Diff; !strings.Contains(d, "-    <t:name>Drei</t:name>\n+    <t:name>Zwei</t:name>") {
		t.Errorf("diff:\n%s", d)
	}

	// An XSD the output breaks: xmllint's complaint is the example's failure.
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed")
	}
	const xsd = `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:1" elementFormDefault="qualified">
  <xs:element name="nachricht"><xs:complexType><xs:sequence><xs:any processContents="skip" maxOccurs="3"/></xs:sequence>
    <xs:anyAttribute processContents="skip"/></xs:complexType></xs:element>
</xs:schema>`
	if err := os.WriteFile(filepath.Join(dir, "test.xsd"), []byte(xsd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "procedure.yaml"), []byte(testProcedure+"xsd: test.xsd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err = declarative.LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	rep, err = p.Test(declarative.TestOptions{Update: true, Xmllint: xmllint})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.XSDChecked || rep.Examples[0].XSDErr == nil || !strings.Contains(rep.Examples[0].XSDErr.Error(), "not valid against test.xsd") {
		t.Errorf("output with five children passed an XSD that allows three: %+v", rep.Examples[0])
	}
}

func TestLineDiff(t *testing.T) {
	t.Parallel()
	want := "a\nb\nc\nd\ne\nf\ng\nh\n"
	got := "a\nb\nC\nd\ne\nf\ng\nh\ni\n"
	d := declarative.LineDiff("w", want, got)
	for _, line := range []string{"--- w", "@@ line 1 @@", "-c", "+C", " d", "+i"} {
		if !strings.Contains(d, "\n"+line+"\n") && !strings.HasPrefix(d, line+"\n") {
			t.Errorf("diff lacks line %q:\n%s", line, d)
		}
	}
	if strings.Contains(d, " f\n") && !strings.Contains(d, "@@ line 7 @@") {
		t.Errorf("context beyond two lines without a hunk header:\n%s", d)
	}
}

// TestDocumentedExample keeps the example of docs/procedures.md true.
func TestDocumentedExample(t *testing.T) {
	t.Parallel()
	p, err := declarative.LoadDir("../../testdata/procedures/hundesteuer")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Test(declarative.TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Examples) != 1 || rep.Failed() != 0 {
		t.Fatalf("%+v", rep.Examples)
	}
	s, err := declarative.DecodeExample([]byte(`{"applicant": {"familienname": "A", "anschrift": {"strasse": "S", "postleitzahl": "12345", "ort": "O"}},
		"data": {"beginn": "2027-01-01", "hunde": [{"name": "A", "rasse": "pitbull-terrier", "gefaehrlich": true}, {"name": "B", "rasse": "pitbull-terrier", "gefaehrlich": true}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if errs := p.Validate(s); len(errs) != 1 || errs[0].Pointer != "/data/hunde" {
		t.Errorf("two dangerous dogs: %+v", errs)
	}
}

// TestMapConcurrently: one Procedure maps from many goroutines (run with -race).
func TestMapConcurrently(t *testing.T) {
	t.Parallel()
	p := load(t, nil)
	want, err := mapExample(t, p, testExample)
	if err != nil {
		t.Fatal(err)
	}
	s, err := declarative.DecodeExample([]byte(testExample))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				doc, err := p.Map(p.ExampleInput(s))
				if err == nil && string(doc.XML) != string(want.XML) {
					err = errors.New("output differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestNumbers: numbers are numbers in expressions and written in decimal.
func TestNumbers(t *testing.T) {
	t.Parallel()
	p := load(t, map[string]string{"mapping.yaml": strings.Replace(testMapping,
		"    - {element: t:name, value: /applicant/name, optional: true}\n",
		"    - {element: t:zahl, each: /data/liste, value: .}\n    - {element: t:summe, expr: \"sum(data.liste) * 2\"}\n", 1)})
	doc, err := mapExample(t, p, strings.Replace(testExample, `"art": "a",`, `"art": "a", "liste": [7, 1e3, 12],`, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<t:zahl>7</t:zahl>", "<t:zahl>1000</t:zahl>", "<t:summe>2038</t:summe>"} {
		if !strings.Contains(string(doc.XML), want) {
			t.Errorf("output lacks %s:\n%s", want, doc.XML)
		}
	}
}
