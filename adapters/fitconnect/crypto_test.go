package fitconnect_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
)

func jwk(t *testing.T, k jose.JSONWebKey, ops ...string) []byte {
	t.Helper()
	b, err := json.Marshal(fitconnect.Key{JWK: k, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseKeys: bad keys are refused with the reason.
func TestParseKeys(t *testing.T) {
	keys, err := fitconnecttest.SharedKeys("musterstadt")
	if err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	encPriv := keys.Encryption.JWK.Key
	pub := keys.Encryption.Public()
	for _, tc := range []struct {
		name  string
		parse func([]byte) (fitconnect.Key, error)
		key   []byte
		want  string // "" for a good key
	}{
		{"good decryption key", fitconnect.ParseDecryptionKey, fitconnecttest.JSON(keys.Encryption), ""},
		{"good signing key", fitconnect.ParseSigningKey, fitconnecttest.JSON(keys.Signing), ""},
		{"good encryption key", fitconnect.ParseEncryptionKey, fitconnecttest.JSON(pub), ""},
		{"not JSON", fitconnect.ParseDecryptionKey, []byte(`{"kty":`), "not a valid JWK"},
		{"public where private", fitconnect.ParseDecryptionKey, fitconnecttest.JSON(pub), "a private key is required"},
		{"private where public", fitconnect.ParseEncryptionKey, fitconnecttest.JSON(keys.Encryption), "a public key is expected"},
		{"wrong alg", fitconnect.ParseDecryptionKey, fitconnecttest.JSON(keys.Signing), "alg must be RSA-OAEP-256"},
		{"signing key with enc alg", fitconnect.ParseSigningKey, fitconnecttest.JSON(keys.Encryption), "alg must be PS512"},
		{"wrong use", fitconnect.ParseDecryptionKey, jwk(t, jose.JSONWebKey{Key: encPriv, KeyID: "k1", Algorithm: "RSA-OAEP-256", Use: "sig"}), "use must be enc"},
		{"wrong key_ops", fitconnect.ParseDecryptionKey, jwk(t, jose.JSONWebKey{Key: encPriv, KeyID: "k1", Algorithm: "RSA-OAEP-256"}, "sign"), "key_ops must be among"},
		{"no use", fitconnect.ParseDecryptionKey, jwk(t, jose.JSONWebKey{Key: encPriv, KeyID: "k1", Algorithm: "RSA-OAEP-256"}), "neither use nor key_ops"},
		{"no kid", fitconnect.ParseDecryptionKey, jwk(t, jose.JSONWebKey{Key: encPriv, Algorithm: "RSA-OAEP-256", Use: "enc"}), "no kid"},
		{"weak RSA", fitconnect.ParseDecryptionKey, jwk(t, jose.JSONWebKey{Key: weak, KeyID: "k1", Algorithm: "RSA-OAEP-256", Use: "enc"}), "has 2048 bits, at least 4096"},
		{"EC key", fitconnect.ParseSigningKey, jwk(t, jose.JSONWebKey{Key: ec, KeyID: "k1", Algorithm: "ES256", Use: "sig"}), "kty must be RSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.parse(tc.key)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestCrypto: what is encrypted decrypts with the private key only, a
// changed byte or another key fails; a SET verifies with the public key
// only.
func TestCrypto(t *testing.T) {
	keys, err := fitconnecttest.SharedKeys("musterstadt")
	if err != nil {
		t.Fatal(err)
	}
	other, err := fitconnecttest.SharedKeys("recipient")
	if err != nil {
		t.Fatal(err)
	}
	jwe, err := fitconnect.Encrypt(keys.Encryption.Public(), []byte("Fachdaten"), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fitconnect.Decrypt(keys.Encryption, jwe); err != nil || string(got) != "Fachdaten" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if _, err := fitconnect.Decrypt(other.Encryption, jwe); err == nil || !strings.Contains(err.Error(), "unknown kid") {
		t.Errorf("another key: %v", err)
	}
	parts := strings.Split(jwe, ".")
	parts[3] = "A" + parts[3][1:]
	if parts[3] == strings.Split(jwe, ".")[3] {
		parts[3] = "B" + parts[3][1:]
	}
	if _, err := fitconnect.Decrypt(keys.Encryption, strings.Join(parts, ".")); err == nil {
		t.Error("tampered ciphertext decrypted")
	}
	set, err := fitconnect.SignSET(keys.Signing, "dest", "jti-1", "sub-1", "case-1", fitconnect.EventAcceptSubmission,
		fitconnect.EventPayload{AuthenticationTags: &fitconnect.AuthenticationTags{Metadata: "m"}}, time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := fitconnect.VerifySET(keys.Signing.Public(), set)
	if err != nil || ev.SubmissionID != "sub-1" || ev.CaseID != "case-1" || ev.JTI != "jti-1" || ev.Type != fitconnect.EventAcceptSubmission {
		t.Fatalf("VerifySET = %+v, %v", ev, err)
	}
	if _, err := fitconnect.VerifySET(other.Signing.Public(), set); err == nil {
		t.Error("a SET verified with another key")
	}
}
