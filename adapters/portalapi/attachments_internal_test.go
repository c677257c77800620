package portalapi

import (
	"bytes"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
)

func TestDecodeContentBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		content string
		want    string // the code of the error, "" for none
	}{
		{"JVBERi0=", ""},        // "%PDF-"
		{"JVBERi0", "format"},   // missing padding
		{"JVBE\nRi0", "format"}, // a line break, which base64.StdEncoding would skip
		{"JVBERi1=", "format"},  // non-zero padding bits: not canonical
		{"JVBE-i0=", "format"},  // URL-safe alphabet
		{"JVBE Ri0=", "format"}, // a space
		{"JVBE*Ri0=", "format"}, // outside the alphabet
	}
	for _, tt := range tests {
		var errs []transform.FieldError
		b := decodeContent("/c", tt.content, &errs)
		switch {
		case tt.want == "" && (len(errs) != 0 || !bytes.Equal(b, []byte("%PDF-"))):
			t.Errorf("decodeContent(%q) = %q, %+v; want %%PDF-", tt.content, b, errs)
		case tt.want != "" && (len(errs) != 1 || errs[0].Code != tt.want || b != nil):
			t.Errorf("decodeContent(%q) = %q, %+v; want one %s", tt.content, b, errs, tt.want)
		}
	}
}
