package portalapi

import (
	"bytes"
	"crypto/rand"
	"os"
	"testing"
)

// TestSpoolRoundTrip: what is written comes back in order, whatever the
// sizes of the writes; the file holds it encrypted, and is unlinked.
func TestSpoolRoundTrip(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, spoolChunk - 1, spoolChunk, spoolChunk + 1, 3*spoolChunk + 17} {
		dir := t.TempDir()
		s, err := newSpool(dir)
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		_, _ = rand.Read(data)
		for rest := data; len(rest) > 0; {
			k := min(len(rest), 1000+len(rest)%7919)
			if n, err := s.Write(rest[:k]); n != k || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			rest = rest[k:]
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("size %d: %d files in the spool directory, want none", size, len(entries))
		}
		got, err := s.appendTo([]byte("prefix"))
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), data...)) {
			t.Errorf("size %d: read back %d bytes (%v), want the %d written after the prefix", size, len(got), err, size)
		}
		// On disk: sealed, not the data.
		raw := make([]byte, size+64)
		n, _ := s.f.ReadAt(raw, 0)
		if size >= 64 && bytes.Contains(raw[:n], data[:64]) {
			t.Errorf("size %d: the spool file holds the data in clear", size)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}
