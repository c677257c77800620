package xbau_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// BenchmarkMap maps the maximal example: Validate (payload schema and text
// checks) plus building and serialising the message.
func BenchmarkMap(b *testing.B) {
	mappertest.BenchMap(b, newMapper(b), fullInput(readExample(b, "maximal")))
}

// BenchmarkValidate is the validation part of BenchmarkMap alone.
func BenchmarkValidate(b *testing.B) {
	mappertest.BenchValidate(b, newMapper(b), readExample(b, "maximal"))
}

// BenchmarkRawEtree builds and serialises, with etree directly and the same
// settings, a document with the elements, attributes and text of the
// maximal example's message: the floor that BenchmarkMap is compared to.
func BenchmarkRawEtree(b *testing.B) {
	mappertest.BenchRawEtree(b, newMapper(b), fullInput(readExample(b, "maximal")))
}
