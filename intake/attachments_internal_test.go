package intake

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform"
)

func TestIsCanonicalUUID(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d":   true,
		"00000000-0000-0000-0000-000000000000":   true,
		"0B6F1C2E-7A4D-4F3B-8E21-5C9D0A1B2C3D":   false,
		"0b6f1c2e7a4d4f3b8e215c9d0a1b2c3d":       false,
		"{0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d}": false,
		"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3g":   false,
		"0b6f1c2e-7a4d-4f3b-8e215-c9d0a1b2c3d":   false,
		"":                                       false,
	} {
		if got := isCanonicalUUID(s); got != want {
			t.Errorf("isCanonicalUUID(%q) = %t, want %t", s, got, want)
		}
	}
}

// The protocol's problems and those of the rules come out in request
// order, by attachment and, within one, by member (id, filename,
// mime_type, content, then a duplicate id), as the portal API reported
// them when it checked the rules itself; no member is reported twice.
func TestCheckAttachmentsMergesProblemsInRequestOrder(t *testing.T) {
	t.Parallel()
	const id0, id1 = "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", "1c7a2d3f-8b5e-4a6c-9f32-6d0e1b2c3d4e"
	atts := []Attachment{
		{ID: id0, FileName: "../a.pdf", MIMEType: "application/pdf"}, // content reported by the protocol
		{}, // reported as a whole
		{ID: id0, FileName: "b.pdf", MIMEType: "image/gif", Content: []byte("x")},
		{ID: id1, FileName: "c.pdf", MIMEType: "application/pdf", Content: []byte("GIF89a")},
	}
	reported := []transform.FieldError{
		{Pointer: "/attachments/0/content", Code: transform.CodeFormat},
		{Pointer: "/attachments/0/x", Code: "unknown_field"},
		{Pointer: "/attachments/1", Code: transform.CodeType},
	}
	_, errs := checkAttachments(atts, reported, config.AttachmentLimits{})
	var got []string
	for _, e := range errs {
		got = append(got, e.Pointer+" "+e.Code)
	}
	want := []string{
		"/attachments/0/x unknown_field",
		"/attachments/0/filename invalid_filename",
		"/attachments/0/content format",
		"/attachments/1 type",
		"/attachments/2/mime_type enum",
		"/attachments/2/id duplicate_id",
		"/attachments/3/content content_mismatch",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

// FuzzCheckAttachments: whatever checkAttachments accepts keeps the limits
// and has safe file names and ids.
func FuzzCheckAttachments(f *testing.F) {
	f.Add("0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", "Antrag.pdf", "application/pdf", []byte("%PDF-1.7"), 1)
	f.Add("0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", "../x.pdf", "APPLICATION/PDF", []byte("%PDF-"), 2)
	f.Add("0B6F1C2E-7A4D-4F3B-8E21-5C9D0A1B2C3D", "a.txt", "text/plain", []byte("hallo"), 4)
	limits := config.AttachmentLimits{MaxCount: 3, MaxBytes: 64, MaxTotalBytes: 100, MIMETypes: []string{"application/pdf", "text/plain", "image/png"}}
	f.Fuzz(func(t *testing.T, id, name, mimeType string, content []byte, n int) {
		n = min(max(n, 0), 5)
		atts := make([]Attachment, n)
		for i := range atts {
			atts[i] = Attachment{ID: id, FileName: name, MIMEType: mimeType, Content: content}
		}
		out, errs := checkAttachments(atts, nil, limits)
		if errs != nil {
			if out != nil {
				t.Fatal("attachments returned with problems")
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Pointer, "/attachments") || e.Code == "" || e.Message == "" || e.MessageDE == "" {
					t.Fatalf("incomplete problem %+v", e)
				}
			}
			return
		}
		if len(out) > limits.MaxCount || len(out) > 1 {
			t.Fatalf("%d attachments accepted: the limit is %d, and the ids are all %q", len(out), limits.MaxCount, id)
		}
		for _, a := range out {
			if a.Size == 0 || a.Size > limits.MaxBytes || a.Size > limits.MaxTotalBytes {
				t.Fatalf("content of %d bytes accepted", a.Size)
			}
			if a.MIMEType != strings.ToLower(a.MIMEType) || !isCanonicalUUID(a.ID) {
				t.Fatalf("accepted %+v", a)
			}
			if fe := checkSignature(0, a.MIMEType, content); fe != nil {
				t.Fatalf("accepted %s content that is not", a.MIMEType)
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
