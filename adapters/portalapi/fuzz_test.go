package portalapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// problemStatus returns the status of err, failing unless it is a problem
// with a 4xx status (bad input is never a 500).
func problemStatus(t *testing.T, err error) int {
	t.Helper()
	var p *problemError
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not a problem", err)
	}
	if p.status < 400 || p.status > 499 {
		t.Fatalf("bad input answered with %d: %v", p.status, err)
	}
	return p.status
}

// FuzzDecodeRequest feeds request bodies to decodeRequest: it never
// panics, rejects with 4xx problems only, accepts only what encoding/json
// accepts too, and hashes a body and its canonical form alike. Seeds:
// f.Add below and testdata/fuzz/FuzzDecodeRequest (example requests and
// hostile bodies).
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"tenant":"musterstadt","procedure":"meldewesen.wohnungsgeberbestaetigung","applicant":{},"data":{}}`))
	f.Add([]byte(`{"tenant":"a","procedure":"b.c","tenant":"a"}`))
	f.Add([]byte(`{"tenant":"a","procedure":"b.c","identity":{"method":"eid","trust_level":"high"},"attachments":[]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Add([]byte("{\"tenant\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRequest(body, false)
		if err != nil {
			problemStatus(t, err)
			return
		}
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not valid JSON in UTF-8: %q", body)
		}
		if req.tenant == "" || req.procedure == "" {
			t.Fatalf("accepted without tenant or procedure: %q", body)
		}
		var v map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("encoding/json rejects what decodeRequest accepted: %v", err)
		}
		canonical, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeRequest(canonical, false)
		if err != nil || again.hash != req.hash {
			t.Fatalf("the canonical form decodes to %v, hash equal %v", err, again.hash == req.hash)
		}
	})
}

// FuzzDecodeAttachments feeds attachments members to decodeAttachments:
// no panic, every problem complete, and without problems one attachment
// for each element, with its content decoded. The rules the attachments
// must keep (limits, safe file names) are intake's and fuzzed there
// (intake.FuzzCheckAttachments).
func FuzzDecodeAttachments(f *testing.F) {
	f.Add([]byte(`[{"id":"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d","filename":"Antrag.pdf","mime_type":"application/pdf","content":"JVBERi0xLjcK"}]`))
	f.Add([]byte(`[{"id":"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d","filename":"../x.pdf","mime_type":"APPLICATION/PDF","content":"JVBE===="}]`))
	f.Add([]byte(`[{"id":"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d","filename":"a.txt","mime_type":"text/plain","content":"aGFsbG8="},{}]`))
	f.Add([]byte(`{"attachments":null}`))
	f.Fuzz(func(t *testing.T, member []byte) {
		v, _, err := decodeJSON(member)
		if err != nil {
			problemStatus(t, err)
			return
		}
		atts, errs := decodeAttachments(v, false)
		for _, e := range errs {
			if e.Pointer == "" || e.Code == "" || e.Message == "" || e.MessageDE == "" {
				t.Fatalf("incomplete problem %+v", e)
			}
		}
		list, isList := v.([]any)
		if !isList {
			if atts != nil || (v != nil && errs == nil) {
				t.Fatalf("%T decoded as %d attachments, %d problems", v, len(atts), len(errs))
			}
			return
		}
		if len(atts) != len(list) {
			t.Fatalf("%d attachments for %d elements", len(atts), len(list))
		}
		if errs != nil {
			return
		}
		for i, a := range atts {
			if a.ID == "" || a.FileName == "" || a.MIMEType == "" || len(a.Content) == 0 {
				t.Fatalf("attachment %d decoded without problems is incomplete: %+v", i, a)
			}
		}
	})
}
