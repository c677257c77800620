package xmeld_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// examples are the example requests of the procedure, by golden file name.
var examples = map[string]string{
	"demo":             "../../testdata/submissions/demo.json",
	"minimal":          "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-minimal.json",
	"maximal":          "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-maximal.json",
	"organisation":     "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-organisation.json",
	"mehrere-personen": "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-mehrere-personen.json",
	"lange-namen":      "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-lange-namen.json",
	"auszug":           "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-auszug.json",
}

// fullInput returns an Input with every Nachrichtenkopf value set.
func fullInput(s transform.Submission) transform.Input {
	return mappertest.Input(s, mappertest.Buergeramt, mappertest.Meldebehoerde)
}

func newMapper(t testing.TB) *xmeld.Wohnungsgeberbestaetigung {
	t.Helper()
	m, err := xmeld.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// schemaPath returns xmeld.Schema as a file whose imports point to the official
// XÖV library schemas.
func schemaPath(t testing.TB) string {
	t.Helper()
	return xoevtest.LocalSchema(t, "wohnungsgeberbestaetigung.xsd", xmeld.Schema)
}

// suite describes the mapper for the shared mapper tests.
func suite(t testing.TB) mappertest.Suite {
	t.Helper()
	example := func(name string) func(t testing.TB) transform.Input {
		return func(t testing.TB) transform.Input { return fullInput(mappertest.ReadSubmission(t, examples[name])) }
	}
	var golden []mappertest.Golden
	for _, name := range slices.Sorted(maps.Keys(examples)) {
		golden = append(golden, mappertest.Golden{Name: name, Input: example(name)})
	}
	return mappertest.Suite{
		Mapper:        newMapper(t),
		MessageType:   xmeld.MessageType,
		Root:          xmeld.Nachrichtentyp,
		Procedure:     xmeld.Procedure,
		Schema:        schemaPath,
		Valid:         example("minimal"),
		Deterministic: example("maximal"),
		Golden:        golden,
		MapErrors: []mappertest.MapError{
			{Name: "invalid submission", Modify: func(in *transform.Input) { in.Submission.Data["art"] = "umzug" }, Invalid: true, Want: `"/data/art" enum`},
			{Name: "author kennung", Modify: func(in *transform.Input) { in.Author.Kennung = "01234567" }, Want: "author kennung is not of the form praefix:kennung"},
			{Name: "reader kennung", Modify: func(in *transform.Input) { in.Reader.Kennung = "psw:0123 4568" }, Want: "reader kennung"},
			{Name: "reader name", Modify: func(in *transform.Input) { in.Reader.Name = "Городская администрация" }, Want: "reader name"},
			{Name: "product", Modify: func(in *transform.Input) { in.Product = transform.Product{} }, Want: "product name is empty"},
		},
	}
}
