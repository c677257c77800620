package intake

import (
	"reflect"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

func TestAttachmentBundle(t *testing.T) {
	t.Parallel()
	atts := []transform.Attachment{
		{ID: "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", FileName: "b.pdf", MIMEType: "application/pdf", Size: 6, Ref: "blob-b"},
		{ID: "0a6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", FileName: "a.pdf", MIMEType: "application/pdf", Size: 7, Ref: "blob-a"},
	}
	at := time.Date(2026, 11, 30, 9, 15, 42, 123456789, time.FixedZone("CET", 3600))
	first := attachmentBundle("m", []byte("<x/>"), atts, at)
	// The same instant in another zone and with other nanoseconds: the same bundle.
	second := attachmentBundle("m", []byte("<x/>"), atts, at.UTC().Truncate(time.Second))
	if !reflect.DeepEqual(first, second) {
		t.Errorf("the same message and attachments give different bundles:\n%+v\n%+v", first, second)
	}
	want := []outbox.BundleEntry{
		{Name: "m.xml", Data: []byte("<x/>")},
		{Name: "anlagen/0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d/b.pdf", Blob: "blob-b", Size: 6,
			AttachmentID: "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", MIMEType: "application/pdf"},
		{Name: "anlagen/0a6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d/a.pdf", Blob: "blob-a", Size: 7,
			AttachmentID: "0a6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", MIMEType: "application/pdf"},
	}
	if !reflect.DeepEqual(first.Entries, want) || !first.Modified.Equal(at.Truncate(time.Second)) {
		t.Errorf("bundle = %+v, want entries %+v modified %v", first, want, at.Truncate(time.Second))
	}
}
