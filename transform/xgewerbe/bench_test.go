package xgewerbe_test

import (
	"bytes"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// BenchmarkMap maps the maximal example: payload schema, text checks and
// the etree document.
func BenchmarkMap(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(readSubmission(b, examplePath("maximal"))))
}

// BenchmarkValidate is the validation part of BenchmarkMap.
func BenchmarkValidate(b *testing.B) {
	mappertest.BenchValidate(b, newMapper(b), readSubmission(b, examplePath("maximal")))
}

// BenchmarkRawEtree builds a document of the same shape and size as the
// output of BenchmarkMap with etree alone, from constants: the floor that
// BenchmarkMap is measured against.
func BenchmarkRawEtree(b *testing.B) {
	m := newMapper(b)
	doc, err := m.Map(fullInput(readSubmission(b, examplePath("maximal"))))
	if err != nil {
		b.Fatal(err)
	}
	raw := xoevtest.RawEtree(b, doc.XML)
	out, err := raw()
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(out, doc.XML) {
		b.Fatal("the raw document differs from the output of Map")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := raw(); err != nil {
			b.Fatal(err)
		}
	}
}
