package outboxtest

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// RunBlobs checks the Blobs part of the Store contract: staging, committing
// with a submission, reading back, the staged/committed boundary, purging
// with the submission and of abandoned uploads.
//
// The cases run one after another, not in parallel: PurgeStagedBlobs with a
// cut-off in the future removes every staged blob of the database, which a
// store shared between cases (PostgreSQL) would take from a parallel case.
func RunBlobs(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s outbox.Store)
	}{
		{"RoundTrip", testBlobRoundTrip},
		{"EmptyBlob", testBlobEmpty},
		{"StagedIsNotFound", testBlobStagedNotFound},
		{"InsertNeedsAllChunks", testBlobInsertNeedsAllChunks},
		{"TooLargeLeavesNothing", testBlobTooLarge},
		{"ReaderErrorLeavesNothing", testBlobReaderError},
		{"DeleteStagedKeepsCommitted", testBlobDeleteStaged},
		{"PurgeStagedOnlyOld", testBlobPurgeStaged},
		{"CommittedIsImmutable", testBlobImmutable},
		{"MismatchIsCorrupt", testBlobCorrupt},
		{"PurgeWithSubmission", testBlobPurge},
		{"BundleZIP", testBlobBundle},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// BlobContent returns n random bytes.
func BlobContent(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// blobSize is a content of two and a half chunks.
const blobSize = 2*outbox.BlobChunkSize + outbox.BlobChunkSize/2

// noLimit is a StageBlob limit no test content reaches.
const noLimit = 1 << 40

// stage stages content as a new blob and returns it.
func stage(t *testing.T, s outbox.Store, content []byte) outbox.Blob {
	t.Helper()
	b, err := outbox.StageBlob(ctxT(t), s, uuid.NewString(), bytes.NewReader(content), noLimit)
	if err != nil {
		t.Fatalf("stage blob: %v", err)
	}
	return b
}

// commitBlobs stores a new submission (sub, or a fresh one when sub.ID is
// empty) with blobs as its files, in one transaction, and returns the
// submission and the blobs as committed.
func commitBlobs(t *testing.T, s outbox.Store, sub outbox.Submission, msgs []outbox.Message, blobs ...outbox.Blob) (outbox.Submission, []outbox.Blob, error) {
	ctx := ctxT(t)
	if sub.ID == "" {
		sub = NewSubmission("")
	}
	out := make([]outbox.Blob, len(blobs))
	for i, b := range blobs {
		b.SubmissionID = sub.ID
		out[i] = b
	}
	err := s.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		if err := tx.InsertBlobs(ctx, out); err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		return tx.InsertMessages(ctx, msgs)
	})
	return sub, out, err
}

func mustCommitBlobs(t *testing.T, s outbox.Store, blobs ...outbox.Blob) (outbox.Submission, []outbox.Blob) {
	t.Helper()
	sub, out, err := commitBlobs(t, s, outbox.Submission{}, nil, blobs...)
	if err != nil {
		t.Fatalf("commit blobs: %v", err)
	}
	return sub, out
}

// readBlob reads blob id whole through OpenBlob.
func readBlob(t *testing.T, s outbox.Store, id string) ([]byte, error) {
	t.Helper()
	r, err := outbox.OpenBlob(ctxT(t), s, id)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// sameContent fails unless blob id reads back as want.
func sameContent(t *testing.T, s outbox.Store, id string, want []byte) {
	t.Helper()
	got, err := readBlob(t, s, id)
	if err != nil {
		t.Fatalf("read blob %s: %v", id, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("blob %s read back %d bytes, want the %d written (equal: %v)", id, len(got), len(want), bytes.Equal(got, want))
	}
}

// purgeAllStaged removes every staged blob of the database (a cut-off far in
// the future) and returns how many there were.
func purgeAllStaged(t *testing.T, s outbox.Store) int {
	t.Helper()
	n, err := s.PurgeStagedBlobs(ctxT(t), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatalf("purge staged blobs: %v", err)
	}
	return n
}

func testBlobRoundTrip(t *testing.T, s outbox.Store) {
	content := BlobContent(t, blobSize)
	staged := stage(t, s, content)
	if staged.Size != blobSize || staged.Chunks != 3 || staged.SHA256 != sha256.Sum256(content) {
		t.Fatalf("StageBlob = size %d, %d chunks; want %d bytes in 3 chunks with the content's SHA-256", staged.Size, staged.Chunks, blobSize)
	}
	before := time.Now().Add(-time.Second)
	sub, _ := mustCommitBlobs(t, s, staged)
	after := time.Now().Add(time.Second)

	got, err := s.Blob(ctxT(t), staged.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != staged.ID || got.SubmissionID != sub.ID || got.Size != staged.Size || got.Chunks != 3 || got.SHA256 != staged.SHA256 {
		t.Fatalf("Blob = %+v, want %+v of submission %s", got, staged, sub.ID)
	}
	// Committed without a sealed checksum (as StageBlob returns it), the blob
	// has none: nil, not empty. (What a store keeps of a SealedSHA256 given
	// is RunBlobHeaders' part: through the encrypting decorator it is
	// replaced.)
	if got.SealedSHA256 != nil {
		t.Fatalf("Blob.SealedSHA256 = %x, want nil for a blob committed without one", got.SealedSHA256)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) {
		t.Fatalf("CreatedAt %v, want the store's now (between %v and %v)", got.CreatedAt, before, after)
	}
	r, err := outbox.OpenBlob(ctxT(t), s, staged.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != blobSize {
		t.Fatalf("reader size %d, want %d", r.Size(), blobSize)
	}
	// Reads of odd sizes cross chunk boundaries.
	var out bytes.Buffer
	buf := make([]byte, 100_003)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	if !bytes.Equal(out.Bytes(), content) {
		t.Fatalf("read back %d bytes, not the %d written", out.Len(), len(content))
	}
	last, err := s.BlobChunk(ctxT(t), staged.ID, 2)
	if err != nil || !bytes.Equal(last, content[2*outbox.BlobChunkSize:]) {
		t.Fatalf("last chunk: %d bytes, %v; want the last half chunk", len(last), err)
	}
	if _, err := s.BlobChunk(ctxT(t), staged.ID, 3); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("chunk past the end: %v, want ErrNotFound", err)
	}

	// A CreatedAt given is kept.
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	other := stage(t, s, content[:10])
	other.CreatedAt = at
	mustCommitBlobs(t, s, other)
	if got, err := s.Blob(ctxT(t), other.ID); err != nil || !got.CreatedAt.Equal(at) {
		t.Fatalf("Blob with CreatedAt %v = %v, %v", at, got.CreatedAt, err)
	}
}

func testBlobEmpty(t *testing.T, s outbox.Store) {
	staged := stage(t, s, nil)
	if staged.Size != 0 || staged.Chunks != 0 || staged.SHA256 != sha256.Sum256(nil) {
		t.Fatalf("empty StageBlob = %+v", staged)
	}
	mustCommitBlobs(t, s, staged)
	got, err := s.Blob(ctxT(t), staged.ID)
	if err != nil || got.Size != 0 || got.Chunks != 0 || got.SHA256 != staged.SHA256 {
		t.Fatalf("empty Blob = %+v, %v", got, err)
	}
	sameContent(t, s, staged.ID, []byte{})
}

func testBlobStagedNotFound(t *testing.T, s outbox.Store) {
	staged := stage(t, s, BlobContent(t, 1000))
	if _, err := s.Blob(ctxT(t), staged.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("Blob of a staged blob: %v, want ErrNotFound", err)
	}
	if _, err := s.BlobChunk(ctxT(t), staged.ID, 0); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("BlobChunk of a staged blob: %v, want ErrNotFound", err)
	}
	if _, err := outbox.OpenBlob(ctxT(t), s, staged.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("OpenBlob of a staged blob: %v, want ErrNotFound", err)
	}
	if _, err := s.Blob(ctxT(t), uuid.NewString()); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("Blob of an unknown id: %v, want ErrNotFound", err)
	}
	if err := s.DeleteStagedBlob(ctxT(t), staged.ID); err != nil {
		t.Fatal(err)
	}
}

// testBlobInsertNeedsAllChunks: InsertBlobs fails unless exactly the chunks
// 0 to Chunks-1 are staged, or without its submission, and then the
// transaction commits nothing.
func testBlobInsertNeedsAllChunks(t *testing.T, s outbox.Store) {
	put := func(t *testing.T, id string, seqs ...int) {
		t.Helper()
		for _, seq := range seqs {
			if err := s.PutBlobChunk(ctxT(t), id, seq, []byte(fmt.Sprintf("chunk %d", seq))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		staged []int
		chunks int
	}{
		{"middle chunk missing", []int{0, 2}, 3},
		{"last chunk missing", []int{0, 1}, 3},
		{"first chunk missing", []int{1, 2}, 3},
		{"nothing staged", nil, 1},
		{"one chunk too many", []int{0, 1, 2}, 2},
		{"chunks for an empty blob", []int{0}, 0},
		{"seq past the end", []int{0, 1, 3}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := uuid.NewString()
			put(t, id, tc.staged...)
			good := stage(t, s, []byte("a complete blob beside it"))
			sub, _, err := commitBlobs(t, s, outbox.Submission{}, nil, good, outbox.Blob{ID: id, Size: 10, Chunks: tc.chunks})
			if err == nil {
				t.Fatal("InsertBlobs committed a blob whose chunks are not 0..Chunks-1")
			}
			if _, _, err := s.Submission(ctxT(t), sub.ID); !errors.Is(err, outbox.ErrNotFound) {
				t.Fatalf("submission after the failed transaction: %v, want ErrNotFound", err)
			}
			for _, bid := range []string{id, good.ID} {
				if _, err := s.Blob(ctxT(t), bid); !errors.Is(err, outbox.ErrNotFound) {
					t.Fatalf("blob %s after the failed transaction: %v, want ErrNotFound", bid, err)
				}
			}
			// The staged chunks stay staged: the same blob commits once complete.
			if _, _, err := commitBlobs(t, s, outbox.Submission{}, nil, good); err != nil {
				t.Fatalf("the complete blob alone: %v", err)
			}
		})
	}
	t.Run("no submission", func(t *testing.T) {
		b := stage(t, s, []byte("orphan"))
		b.SubmissionID = uuid.NewString()
		err := s.InTx(ctxT(t), func(tx outbox.Tx) error { return tx.InsertBlobs(ctxT(t), []outbox.Blob{b}) })
		if err == nil {
			t.Fatal("InsertBlobs committed a blob of a submission that does not exist")
		}
		if _, err := s.Blob(ctxT(t), b.ID); !errors.Is(err, outbox.ErrNotFound) {
			t.Fatalf("blob after the failed transaction: %v, want ErrNotFound", err)
		}
	})
	t.Run("committed twice", func(t *testing.T) {
		b := stage(t, s, []byte("once"))
		mustCommitBlobs(t, s, b)
		if _, _, err := commitBlobs(t, s, outbox.Submission{}, nil, b); err == nil {
			t.Fatal("a blob was committed a second time")
		}
	})
	purgeAllStaged(t, s)
}

func testBlobTooLarge(t *testing.T, s outbox.Store) {
	purgeAllStaged(t, s)
	content := BlobContent(t, blobSize)
	for _, limit := range []int64{0, outbox.BlobChunkSize, blobSize - 1} {
		_, err := outbox.StageBlob(ctxT(t), s, uuid.NewString(), bytes.NewReader(content), limit)
		if !errors.Is(err, outbox.ErrBlobTooLarge) {
			t.Fatalf("limit %d: StageBlob = %v, want ErrBlobTooLarge", limit, err)
		}
		if n := purgeAllStaged(t, s); n != 0 {
			t.Fatalf("limit %d: %d staged blobs left behind", limit, n)
		}
	}
	// Exactly the limit is allowed.
	b, err := outbox.StageBlob(ctxT(t), s, uuid.NewString(), bytes.NewReader(content), blobSize)
	if err != nil {
		t.Fatalf("content of exactly the limit: %v", err)
	}
	mustCommitBlobs(t, s, b)
	sameContent(t, s, b.ID, content)
}

func testBlobReaderError(t *testing.T, s outbox.Store) {
	purgeAllStaged(t, s)
	broken := errors.New("connection reset by portal")
	r := io.MultiReader(bytes.NewReader(BlobContent(t, outbox.BlobChunkSize+10)), iotest.ErrReader(broken))
	_, err := outbox.StageBlob(ctxT(t), s, uuid.NewString(), r, noLimit)
	if !errors.Is(err, broken) || !errors.Is(err, outbox.ErrBlobSource) {
		t.Fatalf("StageBlob of a broken reader = %v, want its error and ErrBlobSource", err)
	}
	if n := purgeAllStaged(t, s); n != 0 {
		t.Fatalf("%d staged blobs left behind", n)
	}
}

func testBlobDeleteStaged(t *testing.T, s outbox.Store) {
	content := BlobContent(t, outbox.BlobChunkSize+100)
	committed := stage(t, s, content)
	mustCommitBlobs(t, s, committed)
	staged := stage(t, s, content)

	if err := s.DeleteStagedBlob(ctxT(t), committed.ID); err != nil {
		t.Fatal(err)
	}
	sameContent(t, s, committed.ID, content)

	if err := s.DeleteStagedBlob(ctxT(t), staged.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := commitBlobs(t, s, outbox.Submission{}, nil, staged); err == nil {
		t.Fatal("a deleted staged blob could still be committed")
	}
	if n := purgeAllStaged(t, s); n != 0 {
		t.Fatalf("%d staged blobs left after DeleteStagedBlob", n)
	}
	if err := s.DeleteStagedBlob(ctxT(t), uuid.NewString()); err != nil {
		t.Fatalf("deleting an unknown blob: %v", err)
	}
}

func testBlobPurgeStaged(t *testing.T, s outbox.Store) {
	purgeAllStaged(t, s)
	content := BlobContent(t, outbox.BlobChunkSize+100)
	committed := stage(t, s, content)
	mustCommitBlobs(t, s, committed)
	stale := stage(t, s, content)

	// Written just now: not older than an hour ago.
	if n, err := s.PurgeStagedBlobs(ctxT(t), time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("PurgeStagedBlobs(an hour ago) = %d, %v; want 0", n, err)
	}
	if _, _, err := commitBlobs(t, s, outbox.Submission{}, nil, stale); err != nil {
		t.Fatalf("a staged blob younger than the cut-off was not kept: %v", err)
	}
	stale = stage(t, s, content)
	// Older than a cut-off in the future: removed, and counted once.
	if n, err := s.PurgeStagedBlobs(ctxT(t), time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("PurgeStagedBlobs(in a minute) = %d, %v; want 1 (the staged blob of 2 chunks)", n, err)
	}
	if _, _, err := commitBlobs(t, s, outbox.Submission{}, nil, stale); err == nil {
		t.Fatal("a purged staged blob could still be committed")
	}
	sameContent(t, s, committed.ID, content)
}

// testBlobImmutable: a chunk of a committed blob cannot be replaced; the
// stores refuse the write.
func testBlobImmutable(t *testing.T, s outbox.Store) {
	content := BlobContent(t, outbox.BlobChunkSize+100)
	b := stage(t, s, content)
	mustCommitBlobs(t, s, b)
	for _, seq := range []int{0, 1, 2} {
		if err := s.PutBlobChunk(ctxT(t), b.ID, seq, []byte("replaced")); err == nil {
			t.Fatalf("PutBlobChunk on chunk %d of a committed blob was accepted", seq)
		}
	}
	sameContent(t, s, b.ID, content)
	if n := purgeAllStaged(t, s); n != 0 {
		t.Fatalf("refused writes left %d staged blobs", n)
	}
}

// testBlobCorrupt: a blob whose chunks do not match its recorded size or
// checksum reads as ErrBlobCorrupt.
func testBlobCorrupt(t *testing.T, s outbox.Store) {
	content := BlobContent(t, outbox.BlobChunkSize+100)
	for _, tc := range []struct {
		name   string
		change func(b *outbox.Blob)
	}{
		{"checksum", func(b *outbox.Blob) { b.SHA256[7] ^= 1 }},
		{"size larger", func(b *outbox.Blob) { b.Size++ }},
		{"size smaller", func(b *outbox.Blob) { b.Size-- }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := stage(t, s, content)
			tc.change(&b)
			mustCommitBlobs(t, s, b)
			got, err := readBlob(t, s, b.ID)
			if !errors.Is(err, outbox.ErrBlobCorrupt) {
				t.Fatalf("reading a blob whose %s does not match: %d bytes, %v; want ErrBlobCorrupt", tc.name, len(got), err)
			}
		})
	}
}

// testBlobPurge: Purge removes the blobs of a submission whose request it
// purges, chunks included, and keeps those of a submission with a dead
// message.
func testBlobPurge(t *testing.T, s outbox.Store) {
	// Long ago (before RunAudit's purge), so that no other data is old enough.
	long := time.Date(1999, 2, 3, 4, 5, 6, 0, time.UTC)
	topic := topicName()
	content := BlobContent(t, blobSize)
	create := func(nblobs int) (outbox.Submission, outbox.Message, []outbox.Blob) {
		t.Helper()
		sub := NewSubmission("")
		sub.CreatedAt = long
		msg := NewMessage(topic, sub.ID)
		var blobs []outbox.Blob
		for range nblobs {
			blobs = append(blobs, stage(t, s, content))
		}
		sub, blobs, err := commitBlobs(t, s, sub, []outbox.Message{msg}, blobs...)
		if err != nil {
			t.Fatal(err)
		}
		return sub, msg, blobs
	}
	done, doneMsg, doneBlobs := create(2)
	_, deadMsg, deadBlobs := create(1)
	if got := claim(t, s, outbox.ClaimParams{Topic: topic}); len(got) != 2 {
		t.Fatalf("claimed %d, want 2", len(got))
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: doneMsg.ID, Outcome: outbox.OutcomeDelivered, StartedAt: long, FinishedAt: long})
	complete(t, s, outbox.Completion{Topic: topic, ID: deadMsg.ID, Outcome: outbox.OutcomeDead, Error: "x", StartedAt: long, FinishedAt: long})

	var total outbox.PurgeResult
	for {
		res, err := s.Purge(ctxT(t), long.Add(time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		total.Messages += res.Messages
		total.Submissions += res.Submissions
		total.Blobs += res.Blobs
		if res == (outbox.PurgeResult{}) {
			break
		}
	}
	if total != (outbox.PurgeResult{Messages: 1, Submissions: 1, Blobs: 2}) {
		t.Fatalf("purged %+v, want 1 message, 1 submission, 2 blobs", total)
	}
	for _, b := range doneBlobs {
		if _, err := s.Blob(ctxT(t), b.ID); !errors.Is(err, outbox.ErrNotFound) {
			t.Fatalf("blob of the purged submission: %v, want ErrNotFound", err)
		}
		if _, err := s.BlobChunk(ctxT(t), b.ID, 0); !errors.Is(err, outbox.ErrNotFound) {
			t.Fatalf("chunk of a purged blob: %v, want ErrNotFound", err)
		}
	}
	// Chunks left without their blob would count as staged.
	if n := purgeAllStaged(t, s); n != 0 {
		t.Fatalf("purged blobs left chunks of %d blobs behind", n)
	}
	sameContent(t, s, deadBlobs[0].ID, content)
	if sub, _, err := s.Submission(ctxT(t), done.ID); err != nil || len(sub.Payload) != 0 {
		t.Fatalf("purged submission: %d bytes of request, %v", len(sub.Payload), err)
	}
}

// testBlobBundle: a bundle's ZIP streams its blob entries from the store.
func testBlobBundle(t *testing.T, s outbox.Store) {
	content := BlobContent(t, blobSize)
	b := stage(t, s, content)
	mustCommitBlobs(t, s, b)
	bundle := outbox.Bundle{Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Entries: []outbox.BundleEntry{
		{Name: "nachricht.xml", Data: []byte("<x/>")},
		{Name: "anlage.pdf", Blob: b.ID, Size: b.Size},
	}}
	var buf bytes.Buffer
	if err := bundle.WriteZIP(ctxT(t), &buf, s); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2 || zr.File[1].Name != "anlage.pdf" {
		t.Fatalf("container holds %d files", len(zr.File))
	}
	f, err := zr.File[1].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("attachment in the container: %d bytes, %v; want the blob's %d", len(got), err, len(content))
	}
	bundle.Entries[1].Blob = uuid.NewString()
	if err := bundle.WriteZIP(ctxT(t), io.Discard, s); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("bundle with an unknown blob: %v, want ErrNotFound", err)
	}
}
