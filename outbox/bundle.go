package outbox

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
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

// ErrEntryName is the error of a bundle entry name that could step out of
// the directory a container is unpacked into, or that a receiver would
// misread: see CheckEntryName.
var ErrEntryName = errors.New("bad bundle entry name")

// CheckEntryName returns an error wrapping ErrEntryName unless name is a
// relative path of non-empty segments separated by '/', none of them "."
// or "..", in valid UTF-8 without backslashes or control characters and
// without a drive letter. The intake checks attachment file names far more
// strictly; this is the second line of defence where the names become
// entries of a ZIP container (or files of a directory).
func CheckEntryName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrEntryName, name, why) }
	switch {
	case name == "":
		return bad("empty")
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return bad("absolute")
	case len(name) >= 2 && name[1] == ':' && ('A' <= name[0] && name[0] <= 'Z' || 'a' <= name[0] && name[0] <= 'z'):
		return bad("a drive letter")
	case strings.Contains(name, `\`):
		return bad("a backslash")
	}
	for _, r := range name {
		if r < 0x20 || 0x7f <= r && r <= 0x9f {
			return bad("a control character")
		}
	}
	for seg := range strings.SplitSeq(name, "/") {
		switch seg {
		case "":
			return bad("an empty segment")
		case ".", "..":
			return bad("a segment " + seg)
		}
	}
	return nil
}

// check checks every entry of b: a valid name (CheckEntryName), and
// either data or a blob.
func (b Bundle) check() error {
	if len(b.Entries) == 0 {
		return errors.New("no entries")
	}
	for i, e := range b.Entries {
		if e.Blob != "" && len(e.Data) > 0 {
			return fmt.Errorf("entry %d has both data and a blob", i)
		}
		if err := CheckEntryName(e.Name); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return nil
}

// Marshal encodes b as a message payload; a bundle with a bad entry name
// (CheckEntryName) is an error.
func (b Bundle) Marshal() ([]byte, error) {
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	p, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return p, nil
}

// ParseBundle decodes a bundle payload; a bundle with a bad entry name
// (CheckEntryName) is an error, which Delivery.Bundle makes permanent.
func ParseBundle(payload []byte) (Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(payload, &b); err != nil {
		return Bundle{}, fmt.Errorf("decode bundle: %w", err)
	}
	if err := b.check(); err != nil {
		return Bundle{}, fmt.Errorf("decode bundle: %w", err)
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
// A bad entry name (CheckEntryName) is a permanent error, returned before
// anything is written.
func (b Bundle) WriteZIP(ctx context.Context, w io.Writer, blobs Blobs) error {
	for _, e := range b.Entries {
		if err := CheckEntryName(e.Name); err != nil {
			return Permanent(fmt.Errorf("zip: %w", err))
		}
	}
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
