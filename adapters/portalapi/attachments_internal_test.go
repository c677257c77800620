package portalapi

import (
	"bytes"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
)

// A base64 string too long for the limit is rejected by its length: it is
// never decoded, so rejecting it allocates next to nothing.
func TestDecodeContentRejectsByLengthBeforeDecoding(t *testing.T) {
	huge := strings.Repeat("JVBE", 5<<20) // 20 MiB of valid base64
	var errs []transform.FieldError
	allocs := testing.AllocsPerRun(5, func() {
		errs = errs[:0]
		if b := decodeContent("/attachments/0/content", huge, 5<<20, &errs); b != nil {
			t.Fatal("decodeContent returned content")
		}
	})
	if len(errs) != 1 || errs[0].Code != transform.CodeTooLong {
		t.Fatalf("errors = %+v, want one too_long", errs)
	}
	if allocs > 10 {
		t.Errorf("rejecting a 20 MiB string allocated %.0f times, want it rejected without decoding", allocs)
	}
}

func TestDecodeContentBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		content  string
		maxBytes int64
		want     string // the code of the error, "" for none
	}{
		{"JVBERi0=", 5, ""},             // "%PDF-": exactly the limit
		{"JVBERi0x", 5, "too_long"},     // 6 bytes: the encoded length allows it, the decoded size not
		{"JVBERi0xLg==", 5, "too_long"}, // 7 bytes: rejected by length
		{"JVBERi0", 5, "format"},        // missing padding
		{"JVBE\nRi0", 5, "format"},      // a line break, which base64.StdEncoding would skip
		{"JVBERi1=", 5, "format"},       // non-zero padding bits: not canonical
	}
	for _, tt := range tests {
		var errs []transform.FieldError
		b := decodeContent("/c", tt.content, tt.maxBytes, &errs)
		switch {
		case tt.want == "" && (len(errs) != 0 || !bytes.Equal(b, []byte("%PDF-"))):
			t.Errorf("decodeContent(%q) = %q, %+v; want %%PDF-", tt.content, b, errs)
		case tt.want != "" && (len(errs) != 1 || errs[0].Code != tt.want || b != nil):
			t.Errorf("decodeContent(%q) = %q, %+v; want one %s", tt.content, b, errs, tt.want)
		}
	}
}

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
