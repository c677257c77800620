package outbox

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bundle is the stored payload of a message whose content is a ZIP container
// assembled at delivery: its inline entries (the generated XML) travel in
// the payload, its files (attachments) are blobs stored once per submission
// and streamed into each destination's container. Assembly is
// deterministic: every attempt delivers the same bytes.
type Bundle struct {
	// Modified is the modification time of every entry, in whole seconds.
	Modified time.Time `json:"modified"`
	// Entries in container order.
	Entries []BundleEntry `json:"entries"`
}

// BundleEntry is one file of a Bundle: inline Data or the stored Blob.
type BundleEntry struct {
	Name string `json:"name"`           // path in the container
	Data []byte `json:"data,omitempty"` // inline content, deflated in the container
	// Blob is the id of the stored blob holding the content, stored
	// uncompressed: attachments are mostly compressed formats already.
	Blob string `json:"blob,omitempty"`
	Size int64  `json:"size,omitempty"` // of the blob
	// AttachmentID and MIMEType describe an attachment entry to adapters that
	// send files apart (multipart requests).
	AttachmentID string `json:"attachment_id,omitempty"`
	MIMEType     string `json:"mime_type,omitempty"`
}

// IsBlob reports whether the entry's content is a stored blob.
func (e BundleEntry) IsBlob() bool { return e.Blob != "" }

// Marshal encodes b as a message payload.
func (b Bundle) Marshal() ([]byte, error) {
	p, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return p, nil
}

// ParseBundle decodes a bundle payload.
func ParseBundle(payload []byte) (Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(payload, &b); err != nil {
		return Bundle{}, fmt.Errorf("decode bundle: %w", err)
	}
	if len(b.Entries) == 0 {
		return Bundle{}, errors.New("decode bundle: no entries")
	}
	for i, e := range b.Entries {
		if e.Name == "" || e.Blob != "" && len(e.Data) > 0 {
			return Bundle{}, fmt.Errorf("decode bundle: entry %d needs a name and either data or a blob", i)
		}
	}
	return b, nil
}

// BlobIDs lists the blobs b references.
func (b Bundle) BlobIDs() []string {
	var ids []string
	for _, e := range b.Entries {
		if e.IsBlob() {
			ids = append(ids, e.Blob)
		}
	}
	return ids
}

// WriteZIP writes the ZIP container of b to w, streaming blobs from blobs.
func (b Bundle) WriteZIP(ctx context.Context, w io.Writer, blobs Blobs) error {
	zw := zip.NewWriter(w)
	modified := b.Modified.UTC().Truncate(time.Second)
	for _, e := range b.Entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: modified}
		if e.IsBlob() {
			h.Method = zip.Store
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", e.Name, err)
		}
		if !e.IsBlob() {
			if _, err := fw.Write(e.Data); err != nil {
				return fmt.Errorf("zip %s: %w", e.Name, err)
			}
			continue
		}
		r, err := OpenBlob(ctx, blobs, e.Blob)
		if err != nil {
			return fmt.Errorf("zip %s: %w", e.Name, err)
		}
		if _, err := io.Copy(fw, r); err != nil {
			return fmt.Errorf("zip %s: %w", e.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	return nil
}
