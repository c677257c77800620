package xbau_test

import (
	"bytes"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// BenchmarkMap maps the maximal example: Validate (payload schema and text
// checks) plus building and serialising the message.
func BenchmarkMap(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(mappertest.ReadSubmission(b, examplePath("maximal"))))
}

// BenchmarkValidate is the validation part of BenchmarkMap alone.
func BenchmarkValidate(b *testing.B) {
	mappertest.BenchValidate(b, newMapper(b), mappertest.ReadSubmission(b, examplePath("maximal")))
}

// BenchmarkRawEtree builds and serialises, with etree directly and the same
// settings, a document with the elements, attributes and text of the
// maximal example's message: the floor that BenchmarkMap is compared to.
func BenchmarkRawEtree(b *testing.B) {
	m := newMapper(b)
	out, err := m.Map(fullInput(mappertest.ReadSubmission(b, examplePath("maximal"))))
	if err != nil {
		b.Fatal(err)
	}
	raw := xoevtest.RawEtree(b, out.XML)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		xml, err := raw()
		if err != nil {
			b.Fatal(err)
		}
		size = len(xml)
	}
	if size != len(out.XML) {
		b.Fatalf("raw document has %d bytes, the mapper's %d", size, len(out.XML))
	}
	if !bytes.Equal(out.XML[:len("<?xml")], []byte("<?xml")) {
		b.Fatal("no XML declaration")
	}
}
