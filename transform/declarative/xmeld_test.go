package declarative_test

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/declarative"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xmeld/xmeldtest"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// wgbDir is the Wohnungsgeberbestätigung of transform/xmeld as a declarative procedure.
const wgbDir = "testdata/wohnungsgeberbestaetigung"

// wgbExamples are the example submissions of transform/xmeld, by name.
var wgbExamples = map[string]string{
	"demo":             "../../testdata/submissions/demo.json",
	"minimal":          "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-minimal.json",
	"maximal":          "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-maximal.json",
	"organisation":     "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-organisation.json",
	"mehrere-personen": "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-mehrere-personen.json",
	"lange-namen":      "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-lange-namen.json",
	"auszug":           "../../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-auszug.json",
}

func loadWGB(t testing.TB) *declarative.Procedure {
	t.Helper()
	p, err := declarative.LoadDir(wgbDir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func goWGB(t testing.TB) *xmeld.Wohnungsgeberbestaetigung {
	t.Helper()
	m, err := xmeld.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wgbInput(t testing.TB, name string) transform.Input {
	return mappertest.Input(mappertest.ReadSubmission(t, wgbExamples[name]), mappertest.Buergeramt, mappertest.Meldebehoerde)
}

// TestWohnungsgeberbestaetigungEqualsGoMapper shows that the declarative
// Wohnungsgeberbestätigung writes the Go mapper's XML byte for byte: for
// every example of transform/xmeld (also compared with xmeld's golden
// files), and for the random and extreme payloads of xmeldtest.
func TestWohnungsgeberbestaetigungEqualsGoMapper(t *testing.T) {
	t.Parallel()
	decl, gom := loadWGB(t), goWGB(t)
	same := func(t *testing.T, in transform.Input) []byte {
		t.Helper()
		want, err := gom.Map(in)
		if err != nil {
			t.Fatalf("Go mapper: %v", err)
		}
		got, err := decl.Map(in)
		if err != nil {
			t.Fatalf("declarative mapper: %v", err)
		}
		if !bytes.Equal(got.XML, want.XML) {
			t.Fatalf("declarative output differs from the Go mapper's:\n%s", declarative.LineDiff("xmeld", string(want.XML), string(got.XML)))
		}
		if got.MessageType != want.MessageType {
			t.Errorf("MessageType %q, want %q", got.MessageType, want.MessageType)
		}
		return got.XML
	}
	for _, name := range slices.Sorted(maps.Keys(wgbExamples)) {
		t.Run("example/"+name, func(t *testing.T) {
			t.Parallel()
			got := same(t, wgbInput(t, name))
			xoevtest.Golden(t, "../xmeld/testdata/"+name+".golden.xml", got)
		})
	}
	t.Run("random", func(t *testing.T) {
		t.Parallel()
		r := rand.New(rand.NewPCG(17, 2026))
		for range 300 {
			same(t, mappertest.Input(xmeldtest.Random(r), mappertest.Buergeramt, mappertest.Meldebehoerde))
		}
	})
	t.Run("extremes", func(t *testing.T) {
		t.Parallel()
		for _, e := range xmeldtest.Extremes() {
			t.Run(e.Name, func(t *testing.T) {
				same(t, mappertest.Input(e.Submission, mappertest.Buergeramt, mappertest.Meldebehoerde))
			})
		}
	})
}

// TestWohnungsgeberbestaetigungContract runs the tests every mapper shares
// on the declarative Wohnungsgeberbestätigung (its outputs are compared with
// xmeld's golden files above).
func TestWohnungsgeberbestaetigungContract(t *testing.T) {
	t.Parallel()
	mappertest.Run(t, mappertest.Suite{
		Mapper:      loadWGB(t),
		MessageType: xmeld.MessageType,
		Root:        xmeld.Nachrichtentyp,
		Procedure:   xmeld.Procedure,
		Schema: func(t testing.TB) string {
			return xoevtest.LocalSchema(t, "wohnungsgeberbestaetigung.xsd", xmeld.Schema)
		},
		Valid:         func(t testing.TB) transform.Input { return wgbInput(t, "minimal") },
		Deterministic: func(t testing.TB) transform.Input { return wgbInput(t, "maximal") },
		MapErrors: []mappertest.MapError{
			{Name: "einzug without its date", Modify: func(in *transform.Input) { delete(in.Submission.Data, "einzugsdatum") }, Invalid: true, Want: `"/data/einzugsdatum" required`},
			{Name: "confirmed after the receipt", Modify: func(in *transform.Input) { in.Submission.Data["bestaetigungsdatum"] = "2026-11-29" }, Invalid: true, Want: `"/data/bestaetigungsdatum" invalid`},
		},
	})
}

// BenchmarkMapDeclarative maps xmeld's maximal example with the declarative
// Wohnungsgeberbestätigung: Validate plus building and serialising.
func BenchmarkMapDeclarative(b *testing.B) {
	mappertest.BenchMap(b, loadWGB(b), wgbInput(b, "maximal"))
}

// BenchmarkMapGo is the same with the Go mapper (transform/xmeld), in the same run.
func BenchmarkMapGo(b *testing.B) {
	mappertest.BenchMap(b, goWGB(b), wgbInput(b, "maximal"))
}

// BenchmarkValidateDeclarative is the validation part of BenchmarkMapDeclarative.
func BenchmarkValidateDeclarative(b *testing.B) {
	mappertest.BenchValidate(b, loadWGB(b), wgbInput(b, "maximal").Submission)
}

// BenchmarkValidateGo is the validation part of BenchmarkMapGo.
func BenchmarkValidateGo(b *testing.B) {
	mappertest.BenchValidate(b, goWGB(b), wgbInput(b, "maximal").Submission)
}

// BenchmarkLoad compiles the procedure directory (done once at startup).
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := declarative.LoadDir(wgbDir); err != nil {
			b.Fatal(err)
		}
	}
}
