package xmeld_test

import (
	"bytes"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// fuzzing reports whether the test binary runs with -test.fuzz, where
// starting xmllint for every input would be too slow.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// FuzzWohnungsgeberbestaetigung feeds request bodies to Validate and Map:
// Validate never panics and points only into applicant, data and identity;
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
	m := newMapper(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := mappertest.DecodeSubmission(body, false)
		if err != nil {
			return
		}
		errs := m.Validate(s)
		for _, e := range errs {
			if e.Message == "" || e.Code == "" {
				t.Errorf("incomplete FieldError %+v", e)
			}
			ok := false
			for _, root := range []string{"/applicant", "/data", "/identity"} {
				if e.Pointer == root || strings.HasPrefix(e.Pointer, root+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("pointer %q outside the payload", e.Pointer)
			}
		}
		if !slices.IsSortedFunc(errs, func(a, b transform.FieldError) int { return strings.Compare(a.Pointer, b.Pointer) }) {
			t.Errorf("problems not ordered by pointer: %q", errs)
		}
		in := fullInput(s)
		doc, err := m.Map(in)
		if errs != nil {
			if err == nil {
				t.Fatalf("Map accepted a submission Validate rejects: %q", errs)
			}
			return
		}
		if err != nil {
			t.Fatalf("Map of a valid submission: %v", err)
		}
		if err := etree.NewDocument().ReadFromBytes(doc.XML); err != nil {
			t.Fatalf("output is not well-formed: %v\n%s", err, doc.XML)
		}
		again, err := m.Map(in)
		if err != nil || !bytes.Equal(again.XML, doc.XML) {
			t.Fatalf("Map is not deterministic: %v", err)
		}
		if !fuzzing() {
			xoevtest.Validate(t, schemaPath(t), doc.XML)
		}
	})
}
