package envelope_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// FuzzEnvelope feeds request bodies through Validate and Map and checks what
// every mapper promises (mappertest.Suite.Check): neither panics, every problem is complete, a valid submission maps, the
// same input maps to the same bytes, and the output is well-formed XML
// whose root is the envelope's. Seeds: the example requests and
// testdata/fuzz/FuzzEnvelope.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"applicant":{"name":"Köhler"},"data":{"a":[1,2.5,true,null,{"b":"c"}]}}`))
	f.Add([]byte(`{"applicant":{"<x>":"&amp;"},"data":{"]]>":"<!DOCTYPE x>"}}`))
	f.Add([]byte(`{"applicant":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}}}}}}}}}}}},"data":{}}`))
	f.Add([]byte(`{"applicant":{"e\u0301":"1","é":"2"},"data":{"n":1e999}}`))
	check := suite(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		s, err := mappertest.DecodeSubmission(payload, false)
		if err != nil {
			return // not a request body the intake passes on
		}
		s.Tenant, s.Procedure = "musterstadt", "meldewesen.wohnungsgeberbestaetigung" // the intake sets them
		check.Check(t, fullInput(s))
	})
}
