package fitconnect

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms FIT-Connect prescribes: JWE with RSA-OAEP-256 key wrapping and
// A256GCM content encryption, JWS (the Security Event Tokens) with PS512.
const (
	KeyAlgorithm       = jose.RSA_OAEP_256
	ContentEncryption  = jose.A256GCM
	SignatureAlgorithm = jose.PS512
	// MinRSABits is the smallest RSA modulus FIT-Connect accepts (the JWK
	// schema's n of at least 683 base64url characters).
	MinRSABits = 4096
)

// Key operations of FIT-Connect's JWKs (key_ops).
const (
	OpWrapKey   = "wrapKey"
	OpUnwrapKey = "unwrapKey"
	OpVerify    = "verify"
	OpSign      = "sign"
)

// KeyError says why a JWK was refused; check-config prints it.
type KeyError struct {
	Reason string
}

// Error is the reason.
func (e *KeyError) Error() string { return e.Reason }

func keyErr(format string, args ...any) error { return &KeyError{Reason: fmt.Sprintf(format, args...)} }

// Key is a parsed and checked JWK.
type Key struct {
	JWK jose.JSONWebKey
	// Ops are the key_ops the JWK names (go-jose does not keep them).
	Ops []string
}

// KID is the key's id.
func (k Key) KID() string { return k.JWK.KeyID }

// Purpose of a key, which decides the checks of parseKey.
type purpose int

const (
	purposeEncrypt purpose = iota // a destination's public encryption key
	purposeDecrypt                // a destination's private decryption key
	purposeSign                   // Amtsbote's private signing key
	purposeVerify                 // a public key verifying SETs
)

// ParseEncryptionKey parses a destination's public encryption key as the
// Submission API serves it and checks kty RSA, alg RSA-OAEP-256, use enc or
// key_ops wrapKey, at least MinRSABits and a kid.
func ParseEncryptionKey(data []byte) (Key, error) { return parseKey(data, purposeEncrypt) }

// ParseDecryptionKey parses a destination's private decryption key (a
// secret of the configuration) with the checks of ParseEncryptionKey, and
// that it is private.
func ParseDecryptionKey(data []byte) (Key, error) { return parseKey(data, purposeDecrypt) }

// ParseSigningKey parses Amtsbote's private signing key for events: kty
// RSA, alg PS512, use sig or key_ops sign, at least MinRSABits, private,
// with a kid.
func ParseSigningKey(data []byte) (Key, error) { return parseKey(data, purposeSign) }

// ParseVerificationKey parses a public key that verifies SETs (alg PS512).
func ParseVerificationKey(data []byte) (Key, error) { return parseKey(data, purposeVerify) }

func parseKey(data []byte, p purpose) (Key, error) {
	var k Key
	if err := k.JWK.UnmarshalJSON(data); err != nil {
		return Key{}, keyErr("not a valid JWK: %v", err)
	}
	var extra struct {
		Kty    string   `json:"kty"`
		KeyOps []string `json:"key_ops"`
	}
	if err := json.Unmarshal(data, &extra); err != nil {
		return Key{}, keyErr("not a valid JWK: %v", err)
	}
	k.Ops = extra.KeyOps
	if extra.Kty != "RSA" {
		return Key{}, keyErr("kty must be RSA, got %q", extra.Kty)
	}
	if k.JWK.KeyID == "" {
		return Key{}, keyErr("the JWK has no kid")
	}
	wantAlg, wantUse, wantOps := string(KeyAlgorithm), "enc", []string{OpWrapKey, OpUnwrapKey}
	if p == purposeSign || p == purposeVerify {
		wantAlg, wantUse, wantOps = string(SignatureAlgorithm), "sig", []string{OpSign, OpVerify}
	}
	if k.JWK.Algorithm != wantAlg {
		return Key{}, keyErr("alg must be %s, got %q", wantAlg, k.JWK.Algorithm)
	}
	if k.JWK.Use != "" && k.JWK.Use != wantUse {
		return Key{}, keyErr("use must be %s, got %q", wantUse, k.JWK.Use)
	}
	for _, op := range k.Ops {
		if !slices.Contains(wantOps, op) {
			return Key{}, keyErr("key_ops must be among %s, got %q", strings.Join(wantOps, ", "), op)
		}
	}
	if k.JWK.Use == "" && len(k.Ops) == 0 {
		return Key{}, keyErr("the JWK names neither use nor key_ops")
	}
	private := p == purposeDecrypt || p == purposeSign
	var pub *rsa.PublicKey
	switch key := k.JWK.Key.(type) {
	case *rsa.PrivateKey:
		if !private {
			return Key{}, keyErr("a public key is expected, the JWK holds a private key")
		}
		pub = &key.PublicKey
	case *rsa.PublicKey:
		if private {
			return Key{}, keyErr("a private key is required, the JWK holds only the public key")
		}
		pub = key
	default:
		return Key{}, keyErr("not an RSA key")
	}
	if bits := pub.N.BitLen(); bits < MinRSABits {
		return Key{}, keyErr("the RSA key has %d bits, at least %d are required", bits, MinRSABits)
	}
	return k, nil
}

// Public returns the public half of a private key, for publishing.
func (k Key) Public() Key {
	pub := k.JWK.Public()
	ops := make([]string, 0, len(k.Ops))
	for _, op := range k.Ops {
		switch op {
		case OpUnwrapKey:
			op = OpWrapKey
		case OpSign:
			op = OpVerify
		}
		ops = append(ops, op)
	}
	return Key{JWK: pub, Ops: ops}
}

// MarshalJSON encodes the JWK with its key_ops.
func (k Key) MarshalJSON() ([]byte, error) {
	b, err := k.JWK.MarshalJSON()
	if err != nil || len(k.Ops) == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["key_ops"] = k.Ops
	return json.Marshal(m)
}

// ErrDecrypt is a JWE that does not decrypt with the destination's key:
// tampered ciphertext, another key, an unknown kid or the wrong algorithms.
var ErrDecrypt = errors.New("decryption failed")

// Encrypt encrypts plaintext for the public key as a JWE in compact
// serialization (RSA-OAEP-256, A256GCM, the key's kid).
func Encrypt(key Key, plaintext []byte, contentType string) (string, error) {
	opts := (&jose.EncrypterOptions{}).WithContentType(jose.ContentType(contentType))
	enc, err := jose.NewEncrypter(ContentEncryption,
		jose.Recipient{Algorithm: KeyAlgorithm, Key: key.JWK.Key, KeyID: key.KID()}, opts)
	if err != nil {
		return "", fmt.Errorf("encrypter: %w", err)
	}
	obj, err := enc.Encrypt(plaintext)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	return obj.CompactSerialize()
}

// Decrypt decrypts a compact JWE with the private key. Any failure is
// ErrDecrypt with the reason: the kid of the JWE must be the key's.
func Decrypt(key Key, jwe string) ([]byte, error) {
	obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{KeyAlgorithm}, []jose.ContentEncryption{ContentEncryption})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if kid := obj.Header.KeyID; kid != key.KID() {
		return nil, fmt.Errorf("%w: unknown kid %q", ErrDecrypt, kid)
	}
	plain, err := obj.Decrypt(key.JWK.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return plain, nil
}

// DecryptWith decrypts a compact JWE with the one of keys whose kid the
// JWE names (during a key rotation: the current or the previous key).
func DecryptWith(keys []Key, jwe string) ([]byte, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrDecrypt)
	}
	obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{KeyAlgorithm}, []jose.ContentEncryption{ContentEncryption})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	for _, k := range keys {
		if k.KID() == obj.Header.KeyID {
			return Decrypt(k, jwe)
		}
	}
	return nil, fmt.Errorf("%w: unknown kid %q", ErrDecrypt, obj.Header.KeyID)
}

// AuthenticationTag is the last part of a compact JWE, which the
// accept-submission event repeats.
func AuthenticationTag(jwe string) string {
	if i := strings.LastIndexByte(jwe, '.'); i >= 0 {
		return jwe[i+1:]
	}
	return ""
}
