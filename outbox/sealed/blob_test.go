package sealed_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/outbox/sealed"
)

// blobWithMarker is a content of two and a half chunks with the marker at
// the start of the first chunk and inside the last.
func blobWithMarker(t *testing.T) []byte {
	t.Helper()
	content := outboxtest.BlobContent(t, 2*outbox.BlobChunkSize+outbox.BlobChunkSize/2)
	copy(content, marker)
	copy(content[2*outbox.BlobChunkSize+1000:], marker)
	return content
}

// stageBlob stages content as a new blob through s.
func stageBlob(t *testing.T, s outbox.Store, content []byte) outbox.Blob {
	t.Helper()
	b, err := outbox.StageBlob(context.Background(), s, uuid.NewString(), bytes.NewReader(content), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commitBlob commits b with a new submission through s.
func commitBlob(t *testing.T, s outbox.Store, b outbox.Blob) {
	t.Helper()
	ctx := context.Background()
	sub := outboxtest.NewSubmission("")
	b.SubmissionID = sub.ID
	if err := s.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		return tx.InsertBlobs(ctx, []outbox.Blob{b})
	}); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, s outbox.Store, id string) ([]byte, error) {
	t.Helper()
	r, err := outbox.OpenBlob(context.Background(), s, id)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// rawChunk reads chunk seq of blob id from the database, staged or not.
func rawChunk(t *testing.T, b backend, id string, seq int) []byte {
	t.Helper()
	return b.queryBytes(t, `SELECT data FROM outbox_blob_chunks WHERE blob_id = $1 AND seq = $2`, id, seq)
}

func testBlobSealedAtRest(t *testing.T, b backend) {
	ctx := context.Background()
	inner := b.open(t)
	s := wrap(t, inner, keyring(t, "k1", newKey(t, "k1")))
	content := blobWithMarker(t)
	blob := stageBlob(t, s, content)
	// Staged chunks are sealed already.
	for seq := range blob.Chunks {
		raw := rawChunk(t, b, blob.ID, seq)
		if id, ok := sealed.KeyID(raw); !ok || id != "k1" {
			t.Fatalf("staged chunk %d is not sealed under k1", seq)
		}
		mustContainNoMarker(t, "staged chunk", raw)
	}
	commitBlob(t, s, blob)
	// The header holds the size and chunk count in clear, the checksum
	// sealed: the stored row does not tell whose document it is.
	hdr, err := inner.Blob(ctx, blob.ID)
	if err != nil || hdr.Size != int64(len(content)) || hdr.Chunks != 3 || hdr.SHA256 != ([sha256.Size]byte{}) {
		t.Fatalf("stored header %+v, %v; want the content's size, 3 chunks and no checksum in clear", hdr, err)
	}
	if id, ok := sealed.KeyID(hdr.SealedSHA256); !ok || id != "k1" || bytes.Contains(hdr.SealedSHA256, blob.SHA256[:]) {
		t.Fatalf("stored checksum is not sealed under k1")
	}
	raw := b.queryBytes(t, `SELECT sha256 FROM outbox_blobs WHERE id = $1`, blob.ID)
	raw = append(raw, b.queryBytes(t, `SELECT sha256_sealed FROM outbox_blobs WHERE id = $1`, blob.ID)...)
	if bytes.Contains(raw, blob.SHA256[:]) {
		t.Fatal("the blob's row contains its SHA-256")
	}
	// Through the decorator the header has its checksum again.
	if got, err := s.Blob(ctx, blob.ID); err != nil || got.SHA256 != blob.SHA256 || got.SealedSHA256 != nil {
		t.Fatalf("header through the decorator: %+v, %v; want the checksum opened", got, err)
	}
	for seq := range blob.Chunks {
		raw, err := inner.BlobChunk(ctx, blob.ID, seq)
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := sealed.KeyID(raw); !ok || id != "k1" {
			t.Fatalf("committed chunk %d is not sealed under k1", seq)
		}
		mustContainNoMarker(t, "committed chunk", raw)
	}
	// Read through the plain store the checksum fails; through the
	// decorator the content comes back.
	if _, err := readAll(t, inner, blob.ID); !errors.Is(err, outbox.ErrBlobCorrupt) {
		t.Fatalf("sealed chunks read without the keyring: %v, want ErrBlobCorrupt", err)
	}
	got, err := readAll(t, s, blob.ID)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read through the decorator: %d bytes, %v; want the %d written", len(got), err, len(content))
	}
}

func testBlobSwap(t *testing.T, b backend) {
	s := wrap(t, b.open(t), keyring(t, "k1", newKey(t, "k1")))
	content := blobWithMarker(t)
	blobA, blobB := stageBlob(t, s, content), stageBlob(t, s, content)
	commitBlob(t, s, blobA)
	commitBlob(t, s, blobB)
	// Within one blob: chunk 0's ciphertext as chunk 1. Across blobs: A's
	// chunk 0 as B's chunk 0. Both are valid envelopes under a held key.
	b.exec(t, `UPDATE outbox_blob_chunks SET data = (SELECT data FROM outbox_blob_chunks WHERE blob_id = $1 AND seq = 0) WHERE blob_id = $1 AND seq = 1`, blobA.ID)
	b.exec(t, `UPDATE outbox_blob_chunks SET data = (SELECT data FROM outbox_blob_chunks WHERE blob_id = $1 AND seq = 0) WHERE blob_id = $2 AND seq = 0`, blobA.ID, blobB.ID)
	for _, c := range []struct {
		id  string
		seq int
	}{{blobA.ID, 1}, {blobB.ID, 0}} {
		_, err := s.BlobChunk(context.Background(), c.id, c.seq)
		if !errors.Is(err, sealed.ErrAuthentication) || !strings.Contains(err.Error(), c.id) {
			t.Fatalf("chunk %d of %s with another chunk's ciphertext: %v; want ErrAuthentication naming the blob", c.seq, c.id, err)
		}
		if strings.Contains(err.Error(), "Canary") {
			t.Fatalf("error shows content: %v", err)
		}
		if _, err := readAll(t, s, c.id); !errors.Is(err, sealed.ErrAuthentication) {
			t.Fatalf("reading %s: %v; want ErrAuthentication", c.id, err)
		}
	}
	if got, err := s.BlobChunk(context.Background(), blobA.ID, 0); err != nil || !bytes.Equal(got, content[:outbox.BlobChunkSize]) {
		t.Fatalf("the original chunk: %v", err)
	}
}

func testBlobPlaintext(t *testing.T, b backend) {
	inner := b.open(t)
	content := blobWithMarker(t)
	// Written before encryption was enabled.
	blob := stageBlob(t, inner, content)
	commitBlob(t, inner, blob)
	s := wrap(t, inner, keyring(t, "k1", newKey(t, "k1")))
	got, err := readAll(t, s, blob.ID)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("blob in clear through the decorator: %d bytes, %v", len(got), err)
	}
	if hdr, err := s.Blob(context.Background(), blob.ID); err != nil || hdr.SHA256 != blob.SHA256 {
		t.Fatalf("header in clear through the decorator: %+v, %v", hdr, err)
	}
}

// testBlobChecksumSwap: a sealed checksum copied into another blob's row,
// or changed, does not open; the blob cannot be read.
func testBlobChecksumSwap(t *testing.T, b backend) {
	ctx := context.Background()
	s := wrap(t, b.open(t), keyring(t, "k1", newKey(t, "k1")))
	content := blobWithMarker(t)
	blobA, blobB := stageBlob(t, s, content), stageBlob(t, s, content)
	commitBlob(t, s, blobA)
	commitBlob(t, s, blobB)
	b.exec(t, `UPDATE outbox_blobs SET sha256_sealed = (SELECT sha256_sealed FROM outbox_blobs WHERE id = $1) WHERE id = $2`, blobA.ID, blobB.ID)
	if _, err := s.Blob(ctx, blobB.ID); !errors.Is(err, sealed.ErrAuthentication) || !strings.Contains(err.Error(), blobB.ID) {
		t.Fatalf("blob B with A's sealed checksum: %v; want ErrAuthentication naming B", err)
	}
	if _, err := readAll(t, s, blobB.ID); !errors.Is(err, sealed.ErrAuthentication) {
		t.Fatalf("reading blob B: %v; want ErrAuthentication", err)
	}
	// A checksum in clear where a sealed one belongs is refused too.
	b.exec(t, `UPDATE outbox_blobs SET sha256_sealed = sha256 WHERE id = $1`, blobA.ID)
	if _, err := s.Blob(ctx, blobA.ID); !errors.Is(err, outbox.ErrBlobCorrupt) {
		t.Fatalf("blob A with a checksum in clear in sha256_sealed: %v; want ErrBlobCorrupt", err)
	}
}

func testBlobRotation(t *testing.T, b backend) {
	inner := b.open(t)
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	content := blobWithMarker(t)[:outbox.BlobChunkSize+100] // two chunks

	clearBlob := stageBlob(t, inner, content) // before encryption
	commitBlob(t, inner, clearBlob)
	old := wrap(t, inner, keyring(t, "k1", k1))
	oldBlob := stageBlob(t, old, content)
	commitBlob(t, old, oldBlob)
	stagedBlob := stageBlob(t, old, content) // an upload under way
	s := wrap(t, inner, keyring(t, "k2", k1, k2))
	newBlob := stageBlob(t, s, content) // already under k2
	commitBlob(t, s, newBlob)

	res, err := s.Reseal(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// Three blobs of two chunks in clear or under k1, the request payloads
	// of the two submissions committed before k2, and their two checksums.
	if res.Resealed != 10 || res.Remaining != 0 {
		t.Fatalf("Reseal = %+v, want 10 resealed, 0 remaining", res)
	}
	if res, err := s.Reseal(context.Background(), 100); err != nil || res != (sealed.ResealResult{}) {
		t.Fatalf("second Reseal = %+v, %v; want nothing to do", res, err)
	}
	only2 := wrap(t, inner, keyring(t, "k2", k2))
	commitBlob(t, only2, stagedBlob)
	for _, blob := range []outbox.Blob{clearBlob, oldBlob, stagedBlob, newBlob} {
		for seq := range blob.Chunks {
			raw := rawChunk(t, b, blob.ID, seq)
			if id, ok := sealed.KeyID(raw); !ok || id != "k2" {
				t.Fatalf("after rotation chunk %d of blob %s is not under k2 (%q)", seq, blob.ID, id)
			}
			mustContainNoMarker(t, "rotated chunk", raw)
		}
		hdr, err := inner.Blob(context.Background(), blob.ID)
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := sealed.KeyID(hdr.SealedSHA256); !ok || id != "k2" || hdr.SHA256 != ([sha256.Size]byte{}) {
			t.Fatalf("after rotation the checksum of blob %s is not under k2 (%q) or still in clear", blob.ID, id)
		}
		got, err := readAll(t, only2, blob.ID)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("blob %s with k2 only: %d bytes, %v", blob.ID, len(got), err)
		}
	}
}

// testBlobRotationConcurrent: a chunk that changes between the read and the
// write of a rotation batch keeps the concurrent change.
func testBlobRotationConcurrent(t *testing.T, b backend) {
	inner := b.open(t)
	blob := stageBlob(t, inner, []byte("one chunk"))
	n, err := inner.RewriteBlobChunks(context.Background(), 10, func(id string, seq int, data []byte) ([]byte, bool, error) {
		// Another process writes the chunk meanwhile.
		b.exec(t, `UPDATE outbox_blob_chunks SET data = $1 WHERE blob_id = $2 AND seq = $3`, []byte("changed"), id, seq)
		return []byte("rewritten"), true, nil
	})
	if err != nil || n != 0 {
		t.Fatalf("RewriteBlobChunks = %d, %v; want 0 rewritten", n, err)
	}
	if got := rawChunk(t, b, blob.ID, 0); string(got) != "changed" {
		t.Fatalf("chunk after the concurrent write: %q, want the concurrent change", got)
	}
}
