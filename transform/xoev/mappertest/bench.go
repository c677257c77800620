package mappertest

import (
	"testing"

	"github.com/amtsbote/amtsbote/transform"
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
