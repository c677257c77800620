package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/outbox"
)

// Entry names that could step out of the directory a container is
// unpacked into, or that a receiver would misread, are refused wherever a
// bundle is built, decoded or written; WriteZIP and Delivery make them
// permanent and write nothing.
func TestBundleEntryNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"m.xml", true},
		{"anlagen/0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d/Grundriss Erdgeschoß.png", true},
		{"0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d_Antrag.pdf", true},
		{"a..b.pdf", true}, // dots inside a name are no segment ..
		{"", false},
		{"/etc/passwd", false},
		{"../x.pdf", false},
		{"anlagen/../../x.pdf", false},
		{"anlagen/..", false},
		{"anlagen/./x.pdf", false},
		{"anlagen//x.pdf", false},
		{"anlagen/", false},
		{`anlagen\x.pdf`, false},
		{`..\x.pdf`, false},
		{"C:/x.pdf", false},
		{"c:x.pdf", false},
		{"a\x00b.pdf", false},
		{"a\nb.pdf", false},
		{"a\tb.pdf", false},
		{"a\x7fb.pdf", false},
		{"a\u0085b.pdf", false},
		{"a\xffb.pdf", false},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, "/", "|"), func(t *testing.T) {
			t.Parallel()
			err := outbox.CheckEntryName(tt.name)
			if (err == nil) != tt.ok || err != nil && !errors.Is(err, outbox.ErrEntryName) {
				t.Fatalf("CheckEntryName(%q) = %v, want ok %t", tt.name, err, tt.ok)
			}
			b := outbox.Bundle{Modified: time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC),
				Entries: []outbox.BundleEntry{{Name: "m.xml", Data: []byte("<x/>")}, {Name: tt.name, Data: []byte("%PDF-")}}}

			_, err = b.Marshal()
			if (err == nil) != tt.ok || err != nil && !errors.Is(err, outbox.ErrEntryName) {
				t.Errorf("Marshal = %v, want ok %t", err, tt.ok)
			}

			var zip bytes.Buffer
			err = b.WriteZIP(context.Background(), &zip, nil)
			switch {
			case tt.ok && err != nil:
				t.Errorf("WriteZIP = %v", err)
			case !tt.ok && (!errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, outbox.ErrEntryName) || zip.Len() != 0):
				t.Errorf("WriteZIP = %v after %d bytes, want a permanent ErrEntryName before any", err, zip.Len())
			}

			// A payload stored with such a name (before this check, or
			// forged) is a permanent delivery error. (JSON cannot carry
			// invalid UTF-8: decoding replaces it.)
			if !utf8.ValidString(tt.name) {
				return
			}
			payload := []byte(`{"modified":"2026-12-06T07:00:00Z","entries":[{"name":"m.xml","data":"PHgvPg=="},{"name":` +
				jsonString(tt.name) + `,"data":"JVBERi0="}]}`)
			d := outbox.Delivery{MessageID: "m", Payload: payload,
				Metadata: map[string]string{outbox.MetaPayloadFormat: outbox.PayloadFormatBundle}}
			_, _, err = d.Bundle()
			if (err == nil) != tt.ok || err != nil && (!errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, outbox.ErrEntryName)) {
				t.Errorf("Delivery.Bundle = %v, want ok %t or a permanent ErrEntryName", err, tt.ok)
			}
		})
	}
}

// jsonString quotes s as a JSON string, bytes outside UTF-8 as they are.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
