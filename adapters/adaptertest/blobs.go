package adaptertest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// BlobSource is where the blobs of a bundle are stored for a test: a real
// store (InStore) or MemBlobs.
type BlobSource interface {
	outbox.Blobs
	// CommitBlobs commits staged blobs as the files of a new submission
	// with id submissionID, as the portal's intake does.
	CommitBlobs(ctx context.Context, submissionID string, blobs []outbox.Blob) error
}

// TxBlobStore is the part of an outbox.Store that InStore needs.
type TxBlobStore interface {
	outbox.Blobs
	InTx(ctx context.Context, fn func(tx outbox.Tx) error) error
}

// SQLiteSource is a real SQLite store in a temporary directory, closed
// with the test, as a BlobSource.
func SQLiteSource(t *testing.T) BlobSource {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return InStore(s)
}

// UnzipBody is the Harness.Unbundle of a receiver that gets the ZIP
// container as the body of one message.
func UnzipBody(t *testing.T, got []Received) map[string]Digest {
	t.Helper()
	if len(got) == 0 {
		return nil
	}
	if len(got) > 1 {
		t.Errorf("message %s arrived %d times, want once", got[0].MessageID, len(got))
	}
	d, err := ZIPDigests(bytes.NewReader(got[0].Body), int64(len(got[0].Body)))
	if err != nil {
		t.Errorf("message %s: %v", got[0].MessageID, err)
	}
	return d
}

// InStore makes a real store a BlobSource: CommitBlobs creates the
// submission and commits its blobs in one transaction.
func InStore(s TxBlobStore) BlobSource { return storeSource{s} }

type storeSource struct{ TxBlobStore }

func (s storeSource) CommitBlobs(ctx context.Context, submissionID string, blobs []outbox.Blob) error {
	now := time.Now().UTC()
	return s.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, outbox.Submission{
			ID:          submissionID,
			PortalID:    "adaptertest",
			TenantID:    "musterstadt",
			ProcedureID: "bau.baugenehmigung",
			RequestHash: make([]byte, sha256.Size),
			Payload:     []byte("{}"),
			CreatedAt:   now,
		}); err != nil {
			return fmt.Errorf("create submission: %w", err)
		}
		for i := range blobs {
			blobs[i].SubmissionID, blobs[i].CreatedAt = submissionID, now
		}
		return tx.InsertBlobs(ctx, blobs)
	})
}

// MemBlobs is an outbox.Blobs in memory, for adapter tests without a
// database. The zero value is not usable: call NewMemBlobs.
type MemBlobs struct {
	mu        sync.Mutex
	chunks    map[string]map[int][]byte // blob id -> seq -> chunk
	written   map[string]time.Time      // blob id -> last chunk written
	committed map[string]outbox.Blob
}

var _ BlobSource = (*MemBlobs)(nil)

// NewMemBlobs returns an empty MemBlobs.
func NewMemBlobs() *MemBlobs {
	return &MemBlobs{
		chunks:    make(map[string]map[int][]byte),
		written:   make(map[string]time.Time),
		committed: make(map[string]outbox.Blob),
	}
}

// PutBlobChunk stores a copy of data as chunk seq of blob id.
func (m *MemBlobs) PutBlobChunk(_ context.Context, id string, seq int, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.committed[id]; ok {
		return fmt.Errorf("blob %s is committed", id)
	}
	if m.chunks[id] == nil {
		m.chunks[id] = make(map[int][]byte)
	}
	m.chunks[id][seq] = bytes.Clone(data)
	m.written[id] = time.Now()
	return nil
}

// DeleteStagedBlob removes the chunks of blob id unless it is committed.
func (m *MemBlobs) DeleteStagedBlob(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.committed[id]; !ok {
		delete(m.chunks, id)
		delete(m.written, id)
	}
	return nil
}

// PurgeStagedBlobs removes the uncommitted blobs last written before before.
func (m *MemBlobs) PurgeStagedBlobs(_ context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, at := range m.written {
		if _, ok := m.committed[id]; !ok && at.Before(before) {
			delete(m.chunks, id)
			delete(m.written, id)
			n++
		}
	}
	return n, nil
}

// Blob returns the committed blob id.
func (m *MemBlobs) Blob(_ context.Context, id string) (outbox.Blob, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.committed[id]
	if !ok {
		return outbox.Blob{}, outbox.ErrNotFound
	}
	return b, nil
}

// BlobChunk returns a copy of chunk seq of the committed blob id.
func (m *MemBlobs) BlobChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chunks[id][seq]
	if _, committed := m.committed[id]; !ok || !committed {
		return nil, outbox.ErrNotFound
	}
	return bytes.Clone(c), nil
}

// CommitBlobs commits staged blobs, as Tx.InsertBlobs does.
func (m *MemBlobs) CommitBlobs(_ context.Context, submissionID string, blobs []outbox.Blob) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range blobs {
		if len(m.chunks[b.ID]) != b.Chunks {
			return fmt.Errorf("blob %s: %d of %d chunks staged", b.ID, len(m.chunks[b.ID]), b.Chunks)
		}
	}
	for _, b := range blobs {
		b.SubmissionID, b.CreatedAt = submissionID, time.Now().UTC()
		m.committed[b.ID] = b
		delete(m.written, b.ID)
	}
	return nil
}

// Corrupt flips a bit in the last chunk of the committed blob id, so that
// reading it ends with outbox.ErrBlobCorrupt.
func (m *MemBlobs) Corrupt(t *testing.T, id string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.committed[id]
	if !ok || b.Chunks == 0 {
		t.Fatalf("adaptertest: no committed blob %s with content to corrupt", id)
	}
	c := m.chunks[id][b.Chunks-1]
	c[len(c)-1] ^= 1
}

// Content returns a reader of n bytes of deterministic pseudo-random
// content for seed: large attachments are generated, never held.
func Content(seed uint64, n int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

// Digest identifies content by size and SHA-256.
type Digest struct {
	Size   int64
	SHA256 [sha256.Size]byte
}

func (d Digest) String() string { return fmt.Sprintf("%d bytes, sha256 %x", d.Size, d.SHA256) }

// DigestOf reads r to its end and returns its digest.
func DigestOf(r io.Reader) (Digest, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return Digest{}, err
	}
	var d Digest
	d.Size = n
	h.Sum(d.SHA256[:0])
	return d, nil
}

// File is an attachment of a bundle message (see StageBundle).
type File struct {
	// AttachmentID is the attachment's id; StageBundle assigns a UUID where it is empty.
	AttachmentID string
	Name         string // file name, e.g. "Lageplan.pdf"
	MIMEType     string // optional
	// Size and Seed give the content: Content(Seed, Size).
	Size int64
	Seed uint64
	// Unstored makes the entry name a blob that was never stored (an
	// attachment lost or purged): delivery must fail permanently.
	Unstored bool
	// Blob is the id of the stored blob, set by StageBundle.
	Blob string
}

// EntryName is the file's entry in the bundle: "anlagen/<attachment id>/<name>".
func (f File) EntryName() string { return "anlagen/" + f.AttachmentID + "/" + f.Name }

// Content returns a reader of the file's content.
func (f File) Content() io.Reader { return Content(f.Seed, f.Size) }

// BundleMessage is a message whose payload is a bundle (format xoev): its
// XML document and its files, stored as blobs.
type BundleMessage struct {
	// Delivery is the message as the relay hands it to a Deliverer, reading
	// its blobs from the BlobSource.
	Delivery outbox.Delivery
	Doc      []byte // the XML document, entry "<message id>.xml"
	Files    []File // with AttachmentID and Blob set
}

// DocName is the entry name of the XML document.
func (m BundleMessage) DocName() string { return m.Delivery.MessageID + ".xml" }

// Want returns the digest of every entry the receiver must get, by entry name.
func (m BundleMessage) Want(t *testing.T) map[string]Digest {
	t.Helper()
	want := make(map[string]Digest, 1+len(m.Files))
	d, err := DigestOf(bytes.NewReader(m.Doc))
	if err != nil {
		t.Fatal(err)
	}
	want[m.DocName()] = d
	for _, f := range m.Files {
		if d, err = DigestOf(f.Content()); err != nil {
			t.Fatal(err)
		}
		want[f.EntryName()] = d
	}
	return want
}

// Check compares the entries a receiver got with m.Want: the same names,
// each with exactly the same bytes.
func (m BundleMessage) Check(t *testing.T, got map[string]Digest) {
	t.Helper()
	want := m.Want(t)
	for _, name := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("message %s: entry %q did not arrive", m.Delivery.MessageID, name)
		case g != want[name]:
			t.Errorf("message %s: entry %q arrived as %v, want %v", m.Delivery.MessageID, name, g, want[name])
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			t.Errorf("message %s: unexpected entry %q arrived", m.Delivery.MessageID, name)
		}
	}
}

// StageBundle stores files as the blobs of a new submission in src
// (through outbox.StageBlob, as the intake does) and returns the message
// whose bundle holds an XML document and the files, with the metadata the
// transform step sets (content_type application/zip, payload_format bundle,
// message_type of an XÖV message).
func StageBundle(t *testing.T, src BlobSource, n int, files ...File) BundleMessage {
	t.Helper()
	ctx := t.Context()
	files = slices.Clone(files)
	m := Delivery(n)
	var staged []outbox.Blob
	b := outbox.Bundle{
		Modified: time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC),
		Entries:  []outbox.BundleEntry{{Name: m.MessageID + ".xml", Data: m.Payload}},
	}
	for i := range files {
		f := &files[i]
		if f.AttachmentID == "" {
			f.AttachmentID = uuid.NewString()
		}
		f.Blob = uuid.NewString()
		if !f.Unstored {
			blob, err := outbox.StageBlob(ctx, src, f.Blob, f.Content(), f.Size)
			if err != nil {
				t.Fatalf("adaptertest: stage %s: %v", f.Name, err)
			}
			staged = append(staged, blob)
		}
		b.Entries = append(b.Entries, outbox.BundleEntry{
			Name: f.EntryName(), Blob: f.Blob, Size: f.Size, AttachmentID: f.AttachmentID, MIMEType: f.MIMEType,
		})
	}
	if err := src.CommitBlobs(ctx, m.SubmissionID, staged); err != nil {
		t.Fatalf("adaptertest: commit blobs: %v", err)
	}
	payload, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	doc := m.Payload
	m.Payload = payload
	m.Metadata[outbox.MetaContentType] = "application/zip"
	m.Metadata[outbox.MetaPayloadFormat] = outbox.PayloadFormatBundle
	m.Metadata[outbox.MetaMessageType] = "xbau.baugenehmigung.antrag.0200"
	return BundleMessage{Delivery: m.WithBlobs(src), Doc: doc, Files: files}
}

// ZIPDigests reads a ZIP container and returns the digest of each entry by
// name, streaming: a container of any size can be checked.
func ZIPDigests(r io.ReaderAt, size int64) (map[string]Digest, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("adaptertest: open ZIP container: %w", err)
	}
	got := make(map[string]Digest, len(zr.File))
	for _, f := range zr.File {
		if _, dup := got[f.Name]; dup {
			return nil, fmt.Errorf("adaptertest: ZIP entry %q twice", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("adaptertest: ZIP entry %q: %w", f.Name, err)
		}
		d, err := DigestOf(rc)
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("adaptertest: ZIP entry %q: %w", f.Name, err)
		}
		got[f.Name] = d
	}
	return got, nil
}
