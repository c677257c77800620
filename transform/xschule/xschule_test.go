package xschule_test

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/declarative"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
	"github.com/amtsbote/amtsbote/transform/xschule"
	"github.com/amtsbote/amtsbote/transform/xschule/xschuletest"
)

func newProcedure(t testing.TB) *declarative.Procedure {
	t.Helper()
	p, err := xschule.New()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func schemaPath(t testing.TB) string {
	t.Helper()
	return xoevtest.LocalSchema(t, "xschule-anmeldung.xsd", xschule.Schema)
}

// examples are the example submissions of the procedure, by name.
var examples = map[string]string{
	"gymnasium":    "procedure/examples/gymnasium.json",
	"berufskolleg": "procedure/examples/berufskolleg.json",
	"minimal":      "procedure/examples/minimal.json",
	"demo":         "../../testdata/submissions/schule.schueleranmeldung.json",
}

func input(t testing.TB, name string) transform.Input {
	p := newProcedure(t)
	return p.ExampleInput(mappertest.ReadSubmission(t, examples[name]))
}

// TestMapper runs the tests every mapper shares; the golden files are those
// of the procedure directory's examples, which check-config also compares.
func TestMapper(t *testing.T) {
	t.Parallel()
	p := newProcedure(t)
	var golden []mappertest.Golden
	for _, name := range []string{"gymnasium", "berufskolleg", "minimal", "demo"} {
		golden = append(golden, mappertest.Golden{Name: name, Input: func(t testing.TB) transform.Input { return input(t, name) }})
	}
	mappertest.Run(t, mappertest.Suite{
		Mapper:        p,
		MessageType:   xschule.MessageType,
		Root:          xschule.Nachrichtentyp,
		Procedure:     xschule.Procedure,
		Schema:        schemaPath,
		Valid:         func(t testing.TB) transform.Input { return input(t, "minimal") },
		Deterministic: func(t testing.TB) transform.Input { return input(t, "gymnasium") },
		Golden:        golden,
		MapErrors: []mappertest.MapError{
			{Name: "unknown Schulform", Modify: func(in *transform.Input) {
				in.Submission.Data["angestrebteSchule"].(map[string]any)["schulform"] = "grundschule"
			}, Invalid: true, Want: `"/data/angestrebteSchule/schulform" enum`},
			{Name: "minor without Sorgeberechtigte", Modify: func(in *transform.Input) {
				delete(in.Submission.Data, "sorgeberechtigte")
			}, Invalid: true, Want: `"/data/sorgeberechtigte" required`},
			{Name: "Cyrillic name", Modify: func(in *transform.Input) {
				in.Submission.Data["schueler"].(map[string]any)["familienname"] = "Иванова"
			}, Invalid: true, Want: `"/data/schueler/familienname" unsupported_character`},
			{Name: "reader kennung", Modify: func(in *transform.Input) { in.Reader.Kennung = "165432" }, Want: "reader kennung"},
		},
	})
}

// TestExamples runs the procedure directory's own test, as check-config
// does, with xmllint against the XSD where the XÖV library is at hand.
func TestExamples(t *testing.T) {
	t.Parallel()
	opts := declarative.TestOptions{}
	if bin, err := exec.LookPath("xmllint"); err == nil {
		opts.Xmllint = bin
		opts.SchemaPath = []string{xoevtest.Schema(t, xoevtest.LibraryDir)}
	}
	rep, err := newProcedure(t).Test(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Examples) != 3 {
		t.Errorf("%d examples, want 3", len(rep.Examples))
	}
	for _, e := range rep.Examples {
		if !e.OK() {
			t.Errorf("example %s: %v %s %v", e.Name, e.Err, e.Diff, e.XSDErr)
		}
	}
}

// TestSchemaRejectsBrokenDocuments shows that the XSD constrains.
func TestSchemaRejectsBrokenDocuments(t *testing.T) {
	t.Parallel()
	doc, err := newProcedure(t).Map(input(t, "gymnasium"))
	if err != nil {
		t.Fatal(err)
	}
	mappertest.SchemaRejects(t, schemaPath(t), doc.XML, []mappertest.Breakage{
		{Name: "unknown Schulform", Old: `<code>gymnasium</code>`, New: `<code>grundschule</code>`},
		{Name: "wrong listURI", Old: `listURI="urn:xoev-de:amtsbote:codeliste:geschlecht"`, New: `listURI="urn:xoev-de:amtsbote:codeliste:sex"`},
		{Name: "invalid birth date", Old: `2016-03-14`, New: `2016-02-30`},
		{Name: "Jahrgangsstufe 4", Old: `<xschule:jahrgangsstufe>5<`, New: `<xschule:jahrgangsstufe>4<`},
		{Name: "fifth Sorgeberechtigter", Old: `nummer="2"`, New: `nummer="5"`},
		{Name: "Schulnummer", Old: `<xschule:schulnummer>165432<`, New: `<xschule:schulnummer>16543<`},
		{Name: "Cyrillic name", Old: `<xschule:vorname>Ayşe</xschule:vorname>`, New: `<xschule:vorname>Айше</xschule:vorname>`},
		{Name: "order", Old: `<xschule:schuljahr>2027/28</xschule:schuljahr>`, New: ``},
		{Name: "consent not boolean", Old: `<xschule:fotos>false<`, New: `<xschule:fotos>nein<`},
	})
}

// suite describes the procedure for the property and fuzz tests.
func suite(t testing.TB) mappertest.Suite {
	return mappertest.Suite{
		Mapper: newProcedure(t), MessageType: xschule.MessageType, Root: xschule.Nachrichtentyp,
		Schema: schemaPath, Valid: func(t testing.TB) transform.Input { return input(t, "minimal") },
	}
}

// TestProperties: random valid payloads and the payload's extremes pass
// Validate and map to messages valid against the XSD.
func TestProperties(t *testing.T) {
	t.Parallel()
	s := suite(t)
	p := s.Mapper.(*declarative.Procedure)
	r := rand.New(rand.NewPCG(5, 2027))
	var subs []transform.Submission
	for range 60 {
		subs = append(subs, xschuletest.RandomAt(r, xschuletest.Received))
	}
	for _, e := range xschuletest.ExtremesAt(xschuletest.Received) {
		subs = append(subs, e.Submission)
	}
	for i, sub := range subs {
		in := p.ExampleInput(sub)
		in.Submission.ID, in.Submission.ReceivedAt = sub.ID, sub.ReceivedAt
		if errs := s.Check(t, in); errs != nil {
			t.Fatalf("payload %d: %q", i, mappertest.Problems[struct{ Pointer, Code string }](errs))
		}
	}
}

// FuzzSchuelerOnline: any change of a valid payload gives a validation
// error or a well-formed message (Suite.Check).
func FuzzSchuelerOnline(f *testing.F) {
	for _, name := range []string{"gymnasium", "berufskolleg", "minimal"} {
		f.Add(string(readFile(f, examples[name])))
	}
	s := suite(f)
	f.Fuzz(func(t *testing.T, body string) {
		sub, err := mappertest.DecodeSubmission([]byte(body), false)
		if err != nil {
			return
		}
		s.Check(t, s.Mapper.(*declarative.Procedure).ExampleInput(sub))
	})
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
