package outboxtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
)

// BlobHeaderStore is a store as the encrypting decorator (outbox/sealed)
// uses it: it keeps a blob's SealedSHA256 and rewrites blob checksums for
// key rotation (the capability sealed.BlobHeaderRewriter, declared again
// here because the tests of outbox/sealed import this package).
type BlobHeaderStore interface {
	outbox.Store
	RewriteBlobHeaders(ctx context.Context, batch int,
		fn func(b outbox.Blob) (sha [sha256.Size]byte, sealed []byte, changed bool, err error),
	) (int, error)
}

// ExecSQL runs one statement on the database of a store, with parameters
// written $1, $2, ... (SQLite and PostgreSQL both take them), and returns
// the number of rows it changed.
type ExecSQL func(ctx context.Context, query string, args ...any) (int64, error)

// BlobHeaderOpener returns a store on a new, empty database of its own and
// a way to run SQL on that database. The opener registers the cleanup.
type BlobHeaderOpener func(t *testing.T) (BlobHeaderStore, ExecSQL)

// RunBlobHeaders checks what a store keeps of blob headers beneath the
// encrypting decorator: SealedSHA256 as given, and RewriteBlobHeaders with
// its compare-and-swap. It is not part of Run, which the decorator runs too:
// through it, the SealedSHA256 a caller sets is replaced.
//
// Each case has a database of its own, since RewriteBlobHeaders walks every
// blob in it.
func RunBlobHeaders(t *testing.T, open BlobHeaderOpener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s BlobHeaderStore, exec ExecSQL)
	}{
		{"SealedChecksumRoundTrip", testHeaderSealedRoundTrip},
		{"RewriteVisitsCommitted", testHeaderRewriteVisits},
		{"RewriteErrorStops", testHeaderRewriteError},
		{"RewriteSkipsChangedMeanwhile", testHeaderRewriteSkipsChanged},
		{"RewriteSealedToClear", testHeaderRewriteToClear},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, exec := open(t)
			c.fn(t, s, exec)
		})
	}
}

// matches reports whether the blob id is stored with cond (SQL on the row
// of outbox_blobs, parameters from $2 on), by a no-op update that counts
// the rows matching.
func matches(t *testing.T, exec ExecSQL, id, cond string, args ...any) bool {
	t.Helper()
	n, err := exec(ctxT(t), `UPDATE outbox_blobs SET chunks = chunks WHERE id = $1 AND `+cond, append([]any{id}, args...)...)
	if err != nil {
		t.Fatalf("blob %s where %s: %v", id, cond, err)
	}
	return n == 1
}

// mustExec runs a statement that must change exactly one row.
func mustExec(t *testing.T, exec ExecSQL, query string, args ...any) {
	t.Helper()
	n, err := exec(ctxT(t), query, args...)
	if err != nil || n != 1 {
		t.Fatalf("%s: %d rows, %v; want 1", query, n, err)
	}
}

// sealedStage stages content as a new blob whose header is as the
// decorator commits it: SHA256 zero, SealedSHA256 sealed (here: random
// bytes of an envelope's size).
func sealedStage(t *testing.T, s outbox.Store, content []byte) outbox.Blob {
	t.Helper()
	b := stage(t, s, content)
	b.SHA256 = [sha256.Size]byte{}
	b.SealedSHA256 = BlobContent(t, 61)
	return b
}

// sameHeader fails unless got is want, SealedSHA256 nil exactly where
// want's is.
func sameHeader(t *testing.T, what string, got, want outbox.Blob) {
	t.Helper()
	if got.ID != want.ID || got.SubmissionID != want.SubmissionID || got.Size != want.Size ||
		got.SHA256 != want.SHA256 || !bytes.Equal(got.SealedSHA256, want.SealedSHA256) ||
		(got.SealedSHA256 == nil) != (want.SealedSHA256 == nil) ||
		got.Chunks != want.Chunks || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s: header %+v (SealedSHA256 %#v), want %+v (SealedSHA256 %#v)", what, got, got.SealedSHA256, want, want.SealedSHA256)
	}
}

// blobOf reads the header of blob id.
func blobOf(t *testing.T, s outbox.Store, id string) outbox.Blob {
	t.Helper()
	b, err := s.Blob(ctxT(t), id)
	if err != nil {
		t.Fatalf("blob %s: %v", id, err)
	}
	return b
}

// testHeaderSealedRoundTrip: a SealedSHA256 given is stored as given beside
// the zero SHA256; without one (nil or empty) the column is NULL and Blob
// returns nil.
func testHeaderSealedRoundTrip(t *testing.T, s BlobHeaderStore, exec ExecSQL) {
	content := BlobContent(t, outbox.BlobChunkSize+10)
	sealed := sealedStage(t, s, content)
	plain := stage(t, s, content)
	empty := stage(t, s, content)
	empty.SealedSHA256 = []byte{}
	_, committed := mustCommitBlobs(t, s, sealed, plain, empty)

	got := blobOf(t, s, sealed.ID)
	if got.SHA256 != ([sha256.Size]byte{}) || !bytes.Equal(got.SealedSHA256, sealed.SealedSHA256) {
		t.Fatalf("sealed blob read back SHA256 %x, SealedSHA256 %x; want zero and %x", got.SHA256, got.SealedSHA256, sealed.SealedSHA256)
	}
	if !matches(t, exec, sealed.ID, "sha256 = $2 AND sha256_sealed = $3", make([]byte, sha256.Size), sealed.SealedSHA256) {
		t.Fatal("sealed blob: the row does not hold 32 zero bytes in sha256 and the sealed checksum in sha256_sealed")
	}
	for _, b := range committed[1:] {
		got := blobOf(t, s, b.ID)
		want := b
		want.SealedSHA256 = nil
		got.CreatedAt = want.CreatedAt // the store's now; RunBlobs checks it
		sameHeader(t, "blob without a sealed checksum", got, want)
		if !matches(t, exec, b.ID, "sha256 = $2 AND sha256_sealed IS NULL", b.SHA256[:]) {
			t.Fatalf("blob committed with SealedSHA256 %#v: sha256_sealed is not NULL", b.SealedSHA256)
		}
	}
	sameContent(t, s, plain.ID, content)
}

// headerFixture commits five blobs in two submissions, two of them sealed,
// and stages one more, and returns the committed headers as stored, in ID
// order, and the staged blob's ID.
func headerFixture(t *testing.T, s BlobHeaderStore) ([]outbox.Blob, string) {
	t.Helper()
	content := BlobContent(t, outbox.BlobChunkSize+10)
	_, a := mustCommitBlobs(t, s, stage(t, s, content), sealedStage(t, s, content[:100]), stage(t, s, nil))
	_, b := mustCommitBlobs(t, s, sealedStage(t, s, content), stage(t, s, content[:5]))
	staged := stage(t, s, content[:7])
	var out []outbox.Blob
	for _, c := range append(a, b...) {
		out = append(out, blobOf(t, s, c.ID))
	}
	slices.SortFunc(out, func(x, y outbox.Blob) int {
		if x.ID < y.ID {
			return -1
		}
		return 1
	})
	return out, staged.ID
}

// rewritten is the header a test's fn gives blob id: SHA256 zero (the
// decorator's) and SealedSHA256 naming tag and id.
func rewritten(tag, id string) ([sha256.Size]byte, []byte) {
	return [sha256.Size]byte{}, []byte("sealed by " + tag + " " + id)
}

// testHeaderRewriteVisits: RewriteBlobHeaders passes every committed blob
// (no staged one) once, in ID order, with its whole header, whatever the
// batch; it stores what fn returns where changed is true, only there, and
// counts those.
func testHeaderRewriteVisits(t *testing.T, s BlobHeaderStore, _ ExecSQL) {
	want, staged := headerFixture(t, s)
	for _, batch := range []int{1, 2, len(want), 100, 0} {
		var visited []outbox.Blob
		n, err := s.RewriteBlobHeaders(ctxT(t), batch, func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error) {
			visited = append(visited, b)
			return b.SHA256, b.SealedSHA256, false, nil
		})
		if err != nil || n != 0 {
			t.Fatalf("batch %d, nothing changed: %d rewritten, %v; want 0", batch, n, err)
		}
		if len(visited) != len(want) {
			t.Fatalf("batch %d: %d blobs visited, want the %d committed", batch, len(visited), len(want))
		}
		for i, b := range visited {
			if b.ID == staged {
				t.Fatalf("batch %d: the staged blob was visited", batch)
			}
			sameHeader(t, "visited", b, want[i])
		}

		// Every other blob changes; the rest get other values with changed
		// false, which must not be stored.
		tag := fmt.Sprintf("visits, batch %d", batch)
		i := 0
		n, err = s.RewriteBlobHeaders(ctxT(t), batch, func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error) {
			sha, sealed := rewritten(tag, b.ID)
			i++
			return sha, sealed, i%2 == 1, nil
		})
		if err != nil || n != (len(want)+1)/2 {
			t.Fatalf("batch %d: %d rewritten, %v; want %d", batch, n, err, (len(want)+1)/2)
		}
		for j := range want {
			if j%2 == 0 {
				want[j].SHA256, want[j].SealedSHA256 = rewritten(tag, want[j].ID)
			}
			sameHeader(t, "after the rewrite", blobOf(t, s, want[j].ID), want[j])
		}
	}
}

// testHeaderRewriteError: an error of fn is returned and ends the walk; the
// batches before it are stored, the one it occurs in is not.
func testHeaderRewriteError(t *testing.T, s BlobHeaderStore, _ ExecSQL) {
	want, _ := headerFixture(t, s)
	boom := errors.New("key not in the keyring")
	for _, tc := range []struct {
		batch, stored int
	}{
		{100, 0}, // all in the batch of the error
		{1, 2},   // one batch before each of the first two calls
	} {
		calls := 0
		tag := fmt.Sprintf("error, batch %d", tc.batch)
		n, err := s.RewriteBlobHeaders(ctxT(t), tc.batch, func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error) {
			calls++
			if calls == 3 {
				return [sha256.Size]byte{}, nil, false, boom
			}
			sha, sealed := rewritten(tag, b.ID)
			return sha, sealed, true, nil
		})
		if !errors.Is(err, boom) || n != tc.stored || calls != 3 {
			t.Fatalf("batch %d: %d rewritten, %v after %d calls; want %d, fn's error after 3", tc.batch, n, err, calls, tc.stored)
		}
		for j := range want {
			if j < tc.stored {
				want[j].SHA256, want[j].SealedSHA256 = rewritten(tag, want[j].ID)
			}
			sameHeader(t, "after the error", blobOf(t, s, want[j].ID), want[j])
		}
	}
}

// testHeaderRewriteSkipsChanged: a blob whose checksums another process
// changes, or that it purges, between the read and the write keeps what
// that process wrote and is not counted. fn runs before its batch is
// written, so it plays the other process.
func testHeaderRewriteSkipsChanged(t *testing.T, s BlobHeaderStore, exec ExecSQL) {
	for _, batch := range []int{1, 100} {
		content := BlobContent(t, 1000)
		other := []byte("sealed by another process")
		type meanwhile struct {
			name   string
			blob   outbox.Blob
			change func(id string) // what the other process does, if anything
			// The checksums after the walk, or gone: purged.
			wantSHA    [sha256.Size]byte
			wantSealed []byte
			gone       bool
		}
		setSealed := func(v []byte) func(string) {
			return func(id string) {
				mustExec(t, exec, `UPDATE outbox_blobs SET sha256_sealed = $2 WHERE id = $1`, id, v)
			}
		}
		sealedA, sealedB := sealedStage(t, s, content), sealedStage(t, s, content)
		plainA, plainB, plainC, plainD := stage(t, s, content), stage(t, s, content), stage(t, s, content), stage(t, s, content)
		other32 := sha256.Sum256(other)
		cases := []meanwhile{
			{name: "sealed, resealed meanwhile", blob: sealedA, change: setSealed(other), wantSealed: other},
			{name: "sealed, made clear meanwhile", blob: sealedB, change: setSealed(nil), wantSealed: nil},
			{name: "clear, sealed meanwhile", blob: plainA, change: setSealed(other), wantSHA: plainA.SHA256, wantSealed: other},
			{name: "clear, checksum changed meanwhile", blob: plainB, change: func(id string) {
				mustExec(t, exec, `UPDATE outbox_blobs SET sha256 = $2 WHERE id = $1`, id, other32[:])
			}, wantSHA: other32},
			{name: "purged meanwhile", blob: plainC, change: func(id string) {
				if _, err := exec(ctxT(t), `DELETE FROM outbox_blob_chunks WHERE blob_id = $1`, id); err != nil {
					t.Fatal(err)
				}
				mustExec(t, exec, `DELETE FROM outbox_blobs WHERE id = $1`, id)
			}, gone: true},
		}
		tag := fmt.Sprintf("compare-and-swap, batch %d", batch)
		// Two blobs nobody touches are rewritten, one in clear (sha256_sealed
		// NULL, which only a NULL-safe comparison matches) and one sealed.
		for _, b := range []outbox.Blob{plainD, sealedStage(t, s, content)} {
			sha, sealed := rewritten(tag, b.ID)
			cases = append(cases, meanwhile{name: "untouched", blob: b, wantSHA: sha, wantSealed: sealed})
		}
		blobs := make([]outbox.Blob, len(cases))
		byID := map[string]meanwhile{}
		for i, c := range cases {
			blobs[i] = c.blob
			byID[c.blob.ID] = c
		}
		mustCommitBlobs(t, s, blobs...)

		visited := 0
		n, err := s.RewriteBlobHeaders(ctxT(t), batch, func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error) {
			c, ok := byID[b.ID]
			if !ok {
				return b.SHA256, b.SealedSHA256, false, nil // of the other batch size
			}
			visited++
			if c.change != nil {
				c.change(b.ID)
			}
			sha, sealed := rewritten(tag, b.ID)
			return sha, sealed, true, nil
		})
		if err != nil || n != 2 || visited != len(cases) {
			t.Fatalf("batch %d: %d rewritten of %d visited, %v; want the 2 untouched of %d", batch, n, visited, err, len(cases))
		}
		for _, c := range cases {
			got, err := s.Blob(ctxT(t), c.blob.ID)
			if c.gone {
				if !errors.Is(err, outbox.ErrNotFound) {
					t.Fatalf("batch %d, %s: %+v, %v; want ErrNotFound", batch, c.name, got, err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 != c.wantSHA || !bytes.Equal(got.SealedSHA256, c.wantSealed) || (got.SealedSHA256 == nil) != (c.wantSealed == nil) {
				t.Fatalf("batch %d, %s: SHA256 %x, SealedSHA256 %q; want %x, %q", batch, c.name, got.SHA256, got.SealedSHA256, c.wantSHA, c.wantSealed)
			}
		}
	}
}

// testHeaderRewriteToClear: fn returning no sealed checksum (nil or empty)
// writes NULL, and the blob reads back intact with its SHA256 in clear.
func testHeaderRewriteToClear(t *testing.T, s BlobHeaderStore, exec ExecSQL) {
	content := BlobContent(t, outbox.BlobChunkSize+10)
	_, blobs := mustCommitBlobs(t, s, sealedStage(t, s, content), sealedStage(t, s, content))
	sum := sha256.Sum256(content)
	clearSealed := map[string][]byte{blobs[0].ID: nil, blobs[1].ID: {}}
	n, err := s.RewriteBlobHeaders(ctxT(t), 0, func(b outbox.Blob) ([sha256.Size]byte, []byte, bool, error) {
		return sum, clearSealed[b.ID], true, nil
	})
	if err != nil || n != 2 {
		t.Fatalf("%d rewritten, %v; want 2", n, err)
	}
	for _, b := range blobs {
		got := blobOf(t, s, b.ID)
		if got.SHA256 != sum || got.SealedSHA256 != nil {
			t.Fatalf("blob made clear: SHA256 %x, SealedSHA256 %x; want the content's and nil", got.SHA256, got.SealedSHA256)
		}
		if !matches(t, exec, b.ID, "sha256 = $2 AND sha256_sealed IS NULL", sum[:]) {
			t.Fatalf("blob made clear with SealedSHA256 %#v: sha256_sealed is not NULL", clearSealed[b.ID])
		}
		sameContent(t, s, b.ID, content)
	}
}
