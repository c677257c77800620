package fitconnecttest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
)

// NewKey generates a private RSA key of fitconnect.MinRSABits for
// encryption (enc: RSA-OAEP-256, key_ops unwrapKey) or signing (sig:
// PS512, key_ops sign), with a fresh kid.
func NewKey(use string) (fitconnect.Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, fitconnect.MinRSABits)
	if err != nil {
		return fitconnect.Key{}, err
	}
	k := fitconnect.Key{JWK: jose.JSONWebKey{Key: priv, KeyID: uuid.NewString(), Use: use}}
	switch use {
	case "enc":
		k.JWK.Algorithm, k.Ops = string(fitconnect.KeyAlgorithm), []string{fitconnect.OpUnwrapKey}
	case "sig":
		k.JWK.Algorithm, k.Ops = string(fitconnect.SignatureAlgorithm), []string{fitconnect.OpSign}
	default:
		return fitconnect.Key{}, fmt.Errorf("use must be enc or sig, got %q", use)
	}
	return k, nil
}

// Keys are the key pairs of a test setup: a destination's encryption key
// and a signing key, private.
type Keys struct {
	Encryption fitconnect.Key
	Signing    fitconnect.Key
}

var (
	sharedMu   sync.Mutex
	sharedKeys = map[string]Keys{}
)

// SharedKeys returns the keys named name, generated once per process:
// 4096-bit keys take a while to generate.
func SharedKeys(name string) (Keys, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if k, ok := sharedKeys[name]; ok {
		return k, nil
	}
	enc, err := NewKey("enc")
	if err != nil {
		return Keys{}, err
	}
	sig, err := NewKey("sig")
	if err != nil {
		return Keys{}, err
	}
	k := Keys{Encryption: enc, Signing: sig}
	sharedKeys[name] = k
	return k, nil
}

// JSON encodes a key as a JWK with its key_ops.
func JSON(k fitconnect.Key) []byte {
	b, err := json.Marshal(k)
	if err != nil {
		panic(err) // a generated key always encodes
	}
	return b
}
