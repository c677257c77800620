package config

import (
	"encoding/base64"
	"fmt"
)

// EncryptionKeySize is the size of an encryption key: 32 bytes (AES-256).
const EncryptionKeySize = 32

// Encryption configures encryption at rest of the outbox store: submission
// payloads (the request with its attachments), generated messages and the
// citizen's postbox reference are stored sealed with AES-256-GCM. Without it
// they are stored in clear.
type Encryption struct {
	// Current is the id of the key new data is sealed with; one of Keys.
	Current string `yaml:"current"`
	// Keys are every key data may be sealed with: the current one and, while
	// a rotation runs, older ones.
	Keys []EncryptionKey `yaml:"keys"`
}

// EncryptionKey is one key, named by its id in every value sealed with it.
type EncryptionKey struct {
	// ID names the key: lower-case letters, digits and '-', e.g. "k2026".
	ID string `yaml:"id"`
	// Key is 32 random bytes in standard base64, as
	// "amtsbote encryption-key generate" prints it; usually a reference
	// ({file: ...} or {env: ...}).
	Key Secret `yaml:"key"`
}

// Bytes returns the decoded key. The error never contains the value.
func (k EncryptionKey) Bytes() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(k.Key.Value())
	if err != nil {
		return nil, fmt.Errorf("must be standard base64 (as \"amtsbote encryption-key generate\" prints it)")
	}
	if len(b) != EncryptionKeySize {
		return nil, fmt.Errorf("must be %d bytes, base64-encoded; it has %d", EncryptionKeySize, len(b))
	}
	return b, nil
}

// validate checks the section when it is present; Config.Validate calls it
// with path "database.encryption".
func (e *Encryption) validate(path string, v *validator) {
	if e == nil {
		return
	}
	if len(e.Keys) == 0 {
		v.add(path+".keys", "at least one key is required")
	}
	seen := map[string]string{}
	for i, k := range e.Keys {
		p := fmt.Sprintf("%s.keys[%d]", path, i)
		if v.id(p+".id", k.ID) {
			v.unique(p+".id", k.ID, seen)
		}
		switch {
		case k.Key.IsZero():
			v.add(p+".key", "is required")
		case k.Key.Value() == "":
			// An env or file reference that could not be resolved; Parse reports why.
		default:
			if _, err := k.Bytes(); err != nil {
				v.add(p+".key", "%v", err)
			}
		}
	}
	switch {
	case e.Current == "":
		v.add(path+".current", "is required: the id of the key new data is sealed with")
	case seen[e.Current] == "":
		v.add(path+".current", "names no key in %s.keys: %q", path, e.Current)
	}
}
