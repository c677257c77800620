package sealed_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/outbox/sealed"
)

func newKey(t testing.TB, id string) sealed.Key {
	t.Helper()
	b := make([]byte, sealed.KeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return sealed.Key{ID: id, Secret: b}
}

func keyring(t testing.TB, current string, keys ...sealed.Key) *sealed.Keyring {
	t.Helper()
	kr, err := sealed.NewKeyring(current, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	kr := keyring(t, "k1", newKey(t, "k1"))
	binding := sealed.Binding("message", "t/p/d", "id-1", "payload")
	for _, plain := range [][]byte{[]byte("<x>Größmann</x>"), {}, bytes.Repeat([]byte{0xff}, 1<<16)} {
		env := kr.Seal(plain, binding)
		if !sealed.IsSealed(env) || len(plain) > 4 && bytes.Contains(env, plain[:4]) {
			t.Fatalf("envelope of %d bytes is not sealed or holds the plaintext", len(plain))
		}
		if id, ok := sealed.KeyID(env); !ok || id != "k1" {
			t.Fatalf("KeyID = %q, %v; want k1", id, ok)
		}
		got, err := kr.Open(env, binding)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %d bytes, %v; want the %d plaintext bytes", len(got), err, len(plain))
		}
	}
	// A fresh nonce per seal: the same plaintext never gives the same envelope.
	a, b := kr.Seal([]byte("same"), binding), kr.Seal([]byte("same"), binding)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestPlaintextPassesThrough(t *testing.T) {
	t.Parallel()
	kr := keyring(t, "k1", newKey(t, "k1"))
	for _, plain := range []string{"", `{"tenant":"t"}`, "<?xml version=\"1.0\"?><x/>", "PK\x03\x04zip", "ABSEAL without NUL"} {
		got, err := kr.Open([]byte(plain), sealed.Binding("x"))
		if err != nil || string(got) != plain {
			t.Errorf("Open(%q) = %q, %v; want it unchanged", plain, got, err)
		}
		if _, ok := sealed.KeyID([]byte(plain)); ok {
			t.Errorf("KeyID(%q) reports an envelope", plain)
		}
	}
}

func TestUnknownKeyIsNamed(t *testing.T) {
	t.Parallel()
	old := keyring(t, "k2025", newKey(t, "k2025"))
	env := old.Seal([]byte("payload"), sealed.Binding("s"))
	kr := keyring(t, "k2026", newKey(t, "k2026"))
	_, err := kr.Open(env, sealed.Binding("s"))
	if !errors.Is(err, sealed.ErrUnknownKey) || !strings.Contains(err.Error(), `"k2025"`) {
		t.Fatalf("Open with the key missing: %v; want ErrUnknownKey naming k2025", err)
	}
	// The same id with other key bytes (a wrong key file) fails authentication.
	wrong := keyring(t, "k2025", newKey(t, "k2025"))
	if _, err := wrong.Open(env, sealed.Binding("s")); !errors.Is(err, sealed.ErrAuthentication) {
		t.Fatalf("Open with other key bytes: %v; want ErrAuthentication", err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	t.Parallel()
	kr := keyring(t, "k1", newKey(t, "k1"), newKey(t, "k2"))
	binding := sealed.Binding("submission", "id-1", "payload")
	env := kr.Seal([]byte(`{"applicant":{"family_name":"Größmann"}}`), binding)
	// Every byte after the magic: version, key id length, key id, nonce, ciphertext, tag.
	for i := 7; i < len(env); i++ {
		bad := bytes.Clone(env)
		bad[i] ^= 0x01
		if got, err := kr.Open(bad, binding); err == nil {
			t.Fatalf("byte %d flipped: opened to %q", i, got)
		}
	}
	// The key id rewritten to another key of the ring.
	bad := bytes.Clone(env)
	bad[len("\x00ABSEAL")+2+1] = '2' // "k1" -> "k2"
	if _, err := kr.Open(bad, binding); !errors.Is(err, sealed.ErrAuthentication) {
		t.Fatalf("key id changed to k2: %v; want ErrAuthentication", err)
	}
	if _, err := kr.Open(env[:len(env)-1], binding); err == nil {
		t.Fatal("truncated envelope opened")
	}
	if _, err := kr.Open(env[:9], binding); !errors.Is(err, sealed.ErrMalformed) {
		t.Fatalf("header only: %v; want ErrMalformed", err)
	}
}

func TestBindingSwapIsDetected(t *testing.T) {
	t.Parallel()
	kr := keyring(t, "k1", newKey(t, "k1"))
	env := kr.Seal([]byte("x"), sealed.Binding("message", "t/p/a", "id-1", "payload"))
	for _, other := range [][]byte{
		sealed.Binding("message", "t/p/a", "id-2", "payload"),
		sealed.Binding("message", "t/p/b", "id-1", "payload"),
		sealed.Binding("message", "t/p/a", "id-1", "metadata:k"),
		sealed.Binding("submission", "id-1", "payload"),
		// Length prefixes keep "ab"+"c" apart from "a"+"bc".
		sealed.Binding("message", "t/p/", "aid-1", "payload"),
	} {
		if _, err := kr.Open(env, other); !errors.Is(err, sealed.ErrAuthentication) {
			t.Errorf("opened under binding %q: %v", other, err)
		}
	}
}

func TestNewKeyringRejects(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1")
	for name, tc := range map[string]struct {
		current string
		keys    []sealed.Key
	}{
		"no keys":         {"k1", nil},
		"current missing": {"k9", []sealed.Key{k}},
		"short key":       {"k1", []sealed.Key{{ID: "k1", Secret: make([]byte, 16)}}},
		"empty id":        {"", []sealed.Key{{ID: "", Secret: k.Secret}}},
		"long id":         {strings.Repeat("k", 256), []sealed.Key{{ID: strings.Repeat("k", 256), Secret: k.Secret}}},
		"duplicate":       {"k1", []sealed.Key{k, k}},
	} {
		if _, err := sealed.NewKeyring(tc.current, tc.keys...); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), string(k.Secret)) {
			t.Errorf("%s: error shows the key", name)
		}
	}
}

func TestGenerateAndParseKey(t *testing.T) {
	t.Parallel()
	a, b := sealed.GenerateKey(), sealed.GenerateKey()
	if a == b {
		t.Fatal("two generated keys are equal")
	}
	k, err := sealed.ParseKey(a)
	if err != nil || len(k) != sealed.KeySize {
		t.Fatalf("ParseKey(GenerateKey()) = %d bytes, %v", len(k), err)
	}
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, bad := range []string{"", "not base64!", short, a[:len(a)-4]} {
		if _, err := sealed.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		} else if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("ParseKey error shows the text: %v", err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	kr := keyring(b, "k1", newKey(b, "k1"))
	plain := bytes.Repeat([]byte("x"), 64<<10)
	binding := sealed.Binding("message", "t/p/d", "id", "payload")
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		kr.Seal(plain, binding)
	}
}
