package xgewerbe_test

import (
	"path/filepath"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// benchInput is the input of BenchmarkMap, BenchmarkValidate and
// BenchmarkRawEtree: the maximal example as it was when
// testdata/benchmarks.txt was recorded (2026-11-28), plus the members
// data.betriebArt and data.niederlassung that became required since (issue
// #16), so that the figures stay comparable as the maximal example grows.
// BenchmarkMapFull maps today's maximal example.
var benchInput = filepath.Join("testdata", "bench-maximal-2026-11.json")

// BenchmarkMap maps benchInput: payload schema, text checks and the etree
// document.
func BenchmarkMap(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(readSubmission(b, benchInput)))
}

// BenchmarkValidate is the validation part of BenchmarkMap.
func BenchmarkValidate(b *testing.B) {
	mappertest.BenchValidate(b, newMapper(b), readSubmission(b, benchInput))
}

// BenchmarkRawEtree builds a document of the same shape and size as the
// output of BenchmarkMap with etree alone, from constants: the floor that
// BenchmarkMap is measured against.
func BenchmarkRawEtree(b *testing.B) {
	mappertest.BenchRawEtree(b, newMapper(b), fullInput(readSubmission(b, benchInput)))
}

// BenchmarkMapFull maps today's maximal example, with every block of the
// message that Amtsbote writes (handwerkskarte, aufenthaltstitel, the
// fields of the 2.2 example).
func BenchmarkMapFull(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(readSubmission(b, examplePath("maximal"))))
}

// TestBenchInputIsValid keeps benchInput a submission the mapper accepts.
func TestBenchInputIsValid(t *testing.T) {
	t.Parallel()
	if _, err := newMapper(t).Map(fullInput(readSubmission(t, benchInput))); err != nil {
		t.Fatal(err)
	}
}
