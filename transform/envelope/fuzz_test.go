package envelope_test

import (
	"bytes"
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// FuzzEnvelope feeds request bodies through Validate and, when valid, Map:
// neither panics, every problem is complete, a valid submission maps, the
// same input maps to the same bytes, and the output is well-formed XML
// whose root is the envelope's. Seeds: the example requests and
// testdata/fuzz/FuzzEnvelope.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"applicant":{"name":"Köhler"},"data":{"a":[1,2.5,true,null,{"b":"c"}]}}`))
	f.Add([]byte(`{"applicant":{"<x>":"&amp;"},"data":{"]]>":"<!DOCTYPE x>"}}`))
	f.Add([]byte(`{"applicant":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":{"a":1}}}}}}}}}}}}}}}}},"data":{}}`))
	f.Add([]byte(`{"applicant":{"e\u0301":"1","é":"2"},"data":{"n":1e999}}`))
	m := envelope.New()
	f.Fuzz(func(t *testing.T, payload []byte) {
		s, err := mappertest.DecodeSubmission(payload, false)
		if err != nil {
			return // not a request body the intake passes on
		}
		s.Tenant, s.Procedure = "musterstadt", "meldewesen.wohnungsgeberbestaetigung" // the intake sets them
		if errs := m.Validate(s); errs != nil {
			for _, e := range errs {
				if e.Code == "" || e.Message == "" || e.MessageDE == "" {
					t.Fatalf("incomplete FieldError %+v", e)
				}
			}
			return
		}
		in := fullInput(s)
		doc, err := m.Map(in)
		if err != nil {
			t.Fatalf("Map of a valid submission: %v", err)
		}
		again, err := m.Map(in)
		if err != nil || !bytes.Equal(doc.XML, again.XML) {
			t.Fatalf("Map is not deterministic (%v)", err)
		}
		parsed := etree.NewDocument()
		if err := parsed.ReadFromBytes(doc.XML); err != nil {
			t.Fatalf("output is not well-formed: %v\n%s", err, doc.XML)
		}
		if root := parsed.Root(); root == nil || root.Tag != envelope.Nachrichtentyp {
			t.Fatalf("unexpected root element in\n%s", doc.XML)
		}
	})
}
