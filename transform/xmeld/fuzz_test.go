package xmeld_test

import (
	"os"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// FuzzWohnungsgeberbestaetigung feeds request bodies to Validate and Map
// and checks what every mapper promises (mappertest.Suite.Check): Validate
// never panics and points only into applicant, data and identity;
// every submission it accepts maps, deterministically, to well-formed XML,
// which (outside -fuzz runs) is valid against the XSD. The seed corpus is the
// example requests plus testdata/fuzz/FuzzWohnungsgeberbestaetigung.
func FuzzWohnungsgeberbestaetigung(f *testing.F) {
	for _, path := range examples {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	check := suite(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := mappertest.DecodeSubmission(body, false)
		if err != nil {
			return
		}
		check.Check(t, fullInput(s))
	})
}
