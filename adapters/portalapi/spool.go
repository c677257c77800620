package portalapi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// spool holds the part of a request body beyond the in-memory buffer while
// the body arrives, in a temporary file that is unlinked at once (nothing
// is left behind, also after a crash, and no other process can open it)
// and encrypted with a key that exists only in this value (AES-256-GCM per
// chunk of spoolChunk bytes, the chunk's number as nonce), so that no
// personal data reaches the disk in clear. It is used by one goroutine.
type spool struct {
	f     *os.File
	aead  cipher.AEAD
	buf   []byte // the chunk being filled
	n     uint64 // chunks written
	total int64  // bytes written
}

// spoolChunk is the unit of encryption.
const spoolChunk = budgetStep

// newSpool creates the file in dir (the system's temporary directory when
// empty).
func newSpool(dir string) (*spool, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".amtsbote-body-*")
	if err != nil {
		return nil, fmt.Errorf("create spool file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlink spool file: %w", err)
	}
	return &spool{f: f, aead: aead, buf: make([]byte, 0, spoolChunk)}, nil
}

// Write appends p.
func (s *spool) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), spoolChunk-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p, written = p[k:], written+k
		if len(s.buf) == spoolChunk {
			if err := s.flush(); err != nil {
				return written, err
			}
		}
	}
	s.total += int64(written)
	return written, nil
}

func (s *spool) nonce(i uint64) []byte {
	n := make([]byte, s.aead.NonceSize())
	binary.BigEndian.PutUint64(n[len(n)-8:], i)
	return n
}

// flush seals and writes the chunk being filled.
func (s *spool) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	sealed := s.aead.Seal(nil, s.nonce(s.n), s.buf, nil)
	if _, err := s.f.Write(sealed); err != nil {
		return fmt.Errorf("write spool file: %w", err)
	}
	s.n++
	s.buf = s.buf[:0]
	return nil
}

// appendTo appends what was written to dst, in order.
func (s *spool) appendTo(dst []byte) ([]byte, error) {
	if err := s.flush(); err != nil {
		return dst, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return dst, err
	}
	sealed := make([]byte, spoolChunk+s.aead.Overhead())
	var read int64
	for i := uint64(0); i < s.n; i++ {
		size := min(int64(spoolChunk), s.total-read)
		chunk := sealed[:size+int64(s.aead.Overhead())]
		if _, err := io.ReadFull(s.f, chunk); err != nil {
			return dst, fmt.Errorf("read spool file: %w", err)
		}
		plain, err := s.aead.Open(chunk[:0], s.nonce(i), chunk, nil)
		if err != nil {
			return dst, errors.New("spool file changed underneath")
		}
		dst = append(dst, plain...)
		read += size
	}
	return dst, nil
}

// Close closes (and so removes) the file.
func (s *spool) Close() error { return s.f.Close() }
