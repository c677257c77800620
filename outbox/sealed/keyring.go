package sealed

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeySize is the size of an AES-256 key in bytes.
const KeySize = 32

// MaxKeyIDLength is the longest key id, in bytes (the envelope stores it
// behind a one-byte length).
const MaxKeyIDLength = 255

// Envelope layout:
//
//	magic (7 bytes: 0x00 "ABSEAL") | version (1 byte) | key id length (1 byte) | key id | nonce (12 bytes) | ciphertext and GCM tag
//
// The leading NUL byte cannot start JSON, XML, a ZIP archive or a mail, so a
// payload stored in clear is never taken for an envelope. The header from the
// magic to the key id and the caller's binding are the additional
// authenticated data: neither the key id nor the record a ciphertext belongs
// to can be changed without Open failing.
const (
	magic   = "\x00ABSEAL"
	version = 1
)

// Errors of Open.
var (
	// ErrUnknownKey: the envelope names a key the keyring does not hold.
	ErrUnknownKey = errors.New("unknown encryption key")
	// ErrAuthentication: the ciphertext, its header or its binding was
	// changed, or it was sealed for another record.
	ErrAuthentication = errors.New("sealed data failed authentication")
	// ErrMalformed: the data starts like an envelope but is not one.
	ErrMalformed = errors.New("malformed sealed data")
)

// Key is one AES-256 key of a Keyring.
type Key struct {
	// ID names the key in every envelope sealed with it, so that keys can
	// rotate: 1 to MaxKeyIDLength bytes.
	ID string
	// Secret is the key: KeySize random bytes.
	Secret []byte
}

// Keyring holds the keys payloads may be sealed with, by id, and the current
// one new seals use. It is safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyring returns a keyring of keys that seals with the key named current.
func NewKeyring(current string, keys ...Key) (*Keyring, error) {
	kr := &Keyring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if k.ID == "" || len(k.ID) > MaxKeyIDLength {
			return nil, fmt.Errorf("sealed: key id must have 1 to %d bytes", MaxKeyIDLength)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("sealed: key %q has %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := kr.aeads[k.ID]; dup {
			return nil, fmt.Errorf("sealed: key %q given twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("sealed: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("sealed: key %q: %w", k.ID, err)
		}
		kr.aeads[k.ID] = aead
	}
	if _, ok := kr.aeads[current]; !ok {
		return nil, fmt.Errorf("sealed: current key %q is not among the keys", current)
	}
	return kr, nil
}

// ParseKey decodes a key written as standard base64 (as GenerateKey writes
// it). The error never contains the text.
func ParseKey(text string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, errors.New("key is not standard base64")
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("key has %d bytes, want %d (32 random bytes, base64)", len(b), KeySize)
	}
	return b, nil
}

// GenerateKey returns a new random key in standard base64.
func GenerateKey() string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return base64.StdEncoding.EncodeToString(b)
}

// Current is the id of the key new seals use.
func (kr *Keyring) Current() string { return kr.current }

// Seal encrypts plaintext under the current key with a fresh random nonce.
// binding names the record the result belongs to (see Binding); Open must be
// given the same.
func (kr *Keyring) Seal(plaintext, binding []byte) []byte {
	aead := kr.aeads[kr.current]
	header := make([]byte, 0, len(magic)+2+len(kr.current))
	header = append(header, magic...)
	header = append(header, version, byte(len(kr.current)))
	header = append(header, kr.current...)
	out := make([]byte, len(header), len(header)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	copy(out, header)
	nonce := out[len(out) : len(out)+aead.NonceSize()]
	_, _ = rand.Read(nonce)
	out = out[:len(out)+len(nonce)]
	return aead.Seal(out, nonce, plaintext, additionalData(header, binding))
}

// Open decrypts an envelope made by Seal with the same binding. Data that is
// not an envelope (no magic prefix: stored in clear) is returned as it is.
// Errors name the key id, never the content.
func (kr *Keyring) Open(data, binding []byte) ([]byte, error) {
	if !IsSealed(data) {
		return data, nil
	}
	header, id, rest, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	aead, ok := kr.aeads[id]
	if !ok {
		return nil, fmt.Errorf("sealed: key %q: %w", id, ErrUnknownKey)
	}
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("sealed: key %q: %w: too short", id, ErrMalformed)
	}
	nonce, ciphertext := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ciphertext, additionalData(header, binding))
	if err != nil {
		return nil, fmt.Errorf("sealed: key %q: %w", id, ErrAuthentication)
	}
	return plain, nil
}

// IsSealed reports whether data starts like an envelope.
func IsSealed(data []byte) bool { return bytes.HasPrefix(data, []byte(magic)) }

// KeyID returns the id of the key an envelope was sealed with; ok is false
// for data that is not a well-formed envelope.
func KeyID(data []byte) (id string, ok bool) {
	if !IsSealed(data) {
		return "", false
	}
	_, id, _, err := parseHeader(data)
	return id, err == nil
}

func parseHeader(data []byte) (header []byte, id string, rest []byte, err error) {
	p := data[len(magic):]
	if len(p) < 2 {
		return nil, "", nil, fmt.Errorf("sealed: %w: truncated header", ErrMalformed)
	}
	if p[0] != version {
		return nil, "", nil, fmt.Errorf("sealed: %w: version %d", ErrMalformed, p[0])
	}
	n := int(p[1])
	if n == 0 || len(p) < 2+n {
		return nil, "", nil, fmt.Errorf("sealed: %w: truncated key id", ErrMalformed)
	}
	end := len(magic) + 2 + n
	return data[:end], string(data[len(magic)+2 : end]), data[end:], nil
}

func additionalData(header, binding []byte) []byte {
	ad := make([]byte, 0, len(header)+len(binding))
	return append(append(ad, header...), binding...)
}

// Binding encodes the parts that identify a record (kind, topic, id, field)
// unambiguously, each prefixed with its length, for Seal and Open.
func Binding(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}
