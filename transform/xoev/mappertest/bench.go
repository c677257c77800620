package mappertest

import (
	"bytes"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// BenchMap is the body of a mapper's BenchmarkMap: it reports allocations
// and maps in until the benchmark stops, failing on an error.
func BenchMap(b *testing.B, m transform.Mapper, in transform.Input) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchValidate is the body of a mapper's BenchmarkValidate: it reports
// allocations and validates s, which must be valid, until the benchmark
// stops.
func BenchValidate(b *testing.B, m transform.Mapper, s transform.Submission) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if errs := m.Validate(s); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchRawEtree is the body of a mapper's BenchmarkRawEtree, the floor that
// BenchMap is compared with: it maps in once, then builds and serialises,
// with etree alone and the same settings (xoevtest.RawEtree), a document of
// the same elements, attributes and text until the benchmark stops. It fails
// unless that document is byte for byte the mapper's.
func BenchRawEtree(b *testing.B, m transform.Mapper, in transform.Input) {
	b.Helper()
	doc, err := m.Map(in)
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
