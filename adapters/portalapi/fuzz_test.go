package portalapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/config"
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

// FuzzDecodeAttachments feeds attachments members to decodeAttachments
// under small limits: no panic, and whatever it accepts keeps the limits
// and has a safe file name.
func FuzzDecodeAttachments(f *testing.F) {
	f.Add([]byte(`[{"id":"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d","filename":"Antrag.pdf","mime_type":"application/pdf","content":"JVBERi0xLjcK"}]`))
	f.Add([]byte(`[{"id":"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d","filename":"../x.pdf","mime_type":"APPLICATION/PDF","content":"JVBE===="}]`))
	f.Add([]byte(`[{"id":"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d","filename":"a.txt","mime_type":"text/plain","content":"aGFsbG8="},{}]`))
	f.Add([]byte(`{"attachments":null}`))
	limits := config.AttachmentLimits{MaxCount: 3, MaxBytes: 64, MIMETypes: []string{"application/pdf", "text/plain", "image/png"}}
	f.Fuzz(func(t *testing.T, member []byte) {
		v, _, err := decodeJSON(member)
		if err != nil {
			problemStatus(t, err)
			return
		}
		atts, contents, errs := decodeAttachments(v, limits, false)
		if errs != nil {
			if atts != nil || contents != nil {
				t.Fatal("attachments returned with problems")
			}
			for _, e := range errs {
				if e.Pointer == "" && e.Code != "type" || e.Code == "" || e.Message == "" || e.MessageDE == "" {
					t.Fatalf("incomplete problem %+v", e)
				}
			}
			return
		}
		if len(atts) > limits.MaxCount {
			t.Fatalf("%d attachments, limit %d", len(atts), limits.MaxCount)
		}
		if len(contents) != len(atts) {
			t.Fatalf("%d contents for %d attachments", len(contents), len(atts))
		}
		for i, a := range atts {
			if len(contents[i]) == 0 || int64(len(contents[i])) > limits.MaxBytes {
				t.Fatalf("content of %d bytes, limit %d", len(contents[i]), limits.MaxBytes)
			}
			if a.MIMEType != strings.ToLower(a.MIMEType) {
				t.Fatalf("mime type %q not normalised", a.MIMEType)
			}
			checkSafeName(t, a.FileName)
		}
	})
}

// FuzzCheckFileName: every name checkFileName accepts is a plain local
// file name on Unix and Windows.
func FuzzCheckFileName(f *testing.F) {
	for _, s := range []string{"Antrag.pdf", "../a", `a\b`, "CON.pdf", "a.pdf.", ".hidden", "Grun\u0308dung.pdf", "x:y", "a\x00b", "…"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if fe := checkFileName("/f", name); fe != nil {
			if fe.Code == "" || fe.Message == "" || fe.MessageDE == "" {
				t.Fatalf("incomplete problem %+v", fe)
			}
			return
		}
		checkSafeName(t, name)
	})
}

func checkSafeName(t *testing.T, name string) {
	t.Helper()
	switch {
	case name == "" || len(name) > MaxFileNameBytes || !utf8.ValidString(name):
		t.Fatalf("accepted name of %d bytes: %q", len(name), name)
	case !filepath.IsLocal(name) || filepath.Base(name) != name || filepath.Clean(name) != name:
		t.Fatalf("accepted name that is not a plain local name: %q", name)
	case strings.ContainsAny(name, `/\:<>"|?*`) || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "."):
		t.Fatalf("accepted name with a character Windows or Unix treats specially: %q", name)
	case isReservedDeviceName(name):
		t.Fatalf("accepted a device name: %q", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("accepted a control character: %q", name)
		}
	}
}
