package xgewerbe_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
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
	mappertest.BenchRawEtree(b, newMapper(b), fullInput(readSubmission(b, examplePath("maximal"))))
}
