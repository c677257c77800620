package xmeld_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// BenchmarkMap maps the maximal example: Validate (JSON Schema, text and
// semantic checks) plus building and serialising the message.
func BenchmarkMap(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(mappertest.ReadSubmission(b, examples["maximal"])))
}

// BenchmarkValidate is the validation part of BenchmarkMap alone.
func BenchmarkValidate(b *testing.B) {
	mappertest.BenchValidate(b, newMapper(b), mappertest.ReadSubmission(b, examples["maximal"]))
}

// BenchmarkRawEtree builds and serialises, with etree alone, a document of
// the same elements, attributes and text as BenchmarkMap's output, with the
// same settings: the floor Map's own work is measured against.
func BenchmarkRawEtree(b *testing.B) {
	mappertest.BenchRawEtree(b, newMapper(b), fullInput(mappertest.ReadSubmission(b, examples["maximal"])))
}

// BenchmarkIntake is the mapper's share of the gateway's work for one
// submission, as the intake does it: Validate once, then MapValidated, on
// the demo request the bench harness sends.
func BenchmarkIntake(b *testing.B) {
	m := newMapper(b)
	in := fullInput(mappertest.ReadSubmission(b, examples["demo"]))
	b.ReportAllocs()
	for b.Loop() {
		if errs := m.Validate(in.Submission); errs != nil {
			b.Fatal(errs)
		}
		if _, err := m.MapValidated(in); err != nil {
			b.Fatal(err)
		}
	}
}
