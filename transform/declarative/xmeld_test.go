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
