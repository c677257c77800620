package xbau_test

import (
	"path/filepath"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// benchInput is the input of BenchmarkMap, BenchmarkValidate and
// BenchmarkRawEtree: the maximal example as it was when
// testdata/benchmarks.txt was recorded (2026-11), with real anlageart codes
// and its Lageplan attached, so that the figures stay comparable as the
// maximal example grows. BenchmarkMapFull maps today's maximal example.
var benchInput = filepath.Join("testdata", "bench-maximal-2026-11.json")

// BenchmarkMap maps benchInput: Validate (payload schema, text and code
// checks) plus building and serialising the message.
func BenchmarkMap(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(readRequest(b, benchInput)))
}

// BenchmarkValidate is the validation part of BenchmarkMap alone.
func BenchmarkValidate(b *testing.B) {
	mappertest.BenchValidate(b, newMapper(b), readRequest(b, benchInput))
}

// BenchmarkRawEtree builds and serialises, with etree directly and the same
// settings, a document with the elements, attributes and text of
// benchInput's message: the floor that BenchmarkMap is compared to.
func BenchmarkRawEtree(b *testing.B) {
	mappertest.BenchRawEtree(b, newMapper(b), fullInput(readRequest(b, benchInput)))
}

// BenchmarkMapFull maps today's maximal example, with every block of
// baugenehmigung.antrag.0200 that Amtsbote writes.
func BenchmarkMapFull(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(readExample(b, "maximal")))
}
