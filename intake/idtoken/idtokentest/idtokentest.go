// Package idtokentest is an identity provider for tests: keys generated in
// the test (RSA and EC), a JSON Web Key Set served by a real httptest
// server that counts its fetches and can rotate, and tokens signed with
// those keys, or forged (alg none, HS256 keyed with the public key, a
// foreign key under a published kid).
package idtokentest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Default values of the tokens Claims builds.
const (
	Issuer   = "https://id.bund.example/realms/bundid"
	Audience = "buergerportal-musterstadt"
	Subject  = "bPK2:9f2c71d0-1b3e-4c55-a0de-0c6a7f1e2b44"

	ACRSubstantial = "http://eidas.europa.eu/LoA/substantial"
	ACRHigh        = "http://eidas.europa.eu/LoA/high"
	ACRLow         = "http://eidas.europa.eu/LoA/low"
)

// TrustLevels is the acr table of the test provider, as
// config.IdentityProvider.TrustLevels.
func TrustLevels() map[string]string {
	return map[string]string{ACRLow: "basic", ACRSubstantial: "substantial", ACRHigh: "high"}
}

// Key is a signing key of the provider.
type Key struct {
	KID  string
	Alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// Public returns the key's public JWK.
func (k *Key) Public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.KID, Algorithm: string(k.Alg), Use: "sig"}
}

// PublicPEM returns the public key in PEM, as an attacker could find it.
func (k *Key) PublicPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Sign returns claims signed with k, its kid in the header.
func (k *Key) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return k.SignAs(t, k.KID, claims)
}

// SignAs returns claims signed with k under another kid: a forged token
// when kid is a published key's.
func (k *Key) SignAs(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// NewKey generates a key for alg: RS256 or PS256 (RSA 2048), ES256 (P-256)
// or ES384 (P-384).
func NewKey(t testing.TB, kid string, alg jose.SignatureAlgorithm) *Key {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.PS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		t.Fatalf("idtokentest: no key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &Key{KID: kid, Alg: alg, priv: priv}
}

// Provider is an identity provider with published keys.
type Provider struct {
	// RSA (RS256, kid "rsa-1") and EC (ES256, kid "ec-1") are published
	// from the start.
	RSA, EC *Key

	mu        sync.Mutex
	published []*Key
	failing   bool
	fetches   atomic.Int64
	srv       *httptest.Server
}

// New starts a provider whose key set is served at URL until the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{RSA: NewKey(t, "rsa-1", jose.RS256), EC: NewKey(t, "ec-1", jose.ES256)}
	p.published = []*Key{p.RSA, p.EC}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		failing := p.failing
		p.mu.Unlock()
		if failing {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(p.JWKS())
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the key set's URL (http on 127.0.0.1).
func (p *Provider) URL() string { return p.srv.URL + "/jwks" }

// JWKS returns the published key set.
func (p *Provider) JWKS() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	set := jose.JSONWebKeySet{}
	for _, k := range p.published {
		set.Keys = append(set.Keys, k.Public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(fmt.Sprintf("idtokentest: marshal key set: %v", err))
	}
	return b
}

// Publish adds k to the key set.
func (p *Provider) Publish(k *Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, k)
}

// Withdraw removes the key kid from the key set.
func (p *Provider) Withdraw(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = slices.DeleteFunc(p.published, func(k *Key) bool { return k.KID == kid })
}

// SetFailing makes the key set URL answer 503 (true) or the set (false).
func (p *Provider) SetFailing(failing bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing = failing
}

// Fetches returns how often the key set was requested.
func (p *Provider) Fetches() int { return int(p.fetches.Load()) }

// Claims returns the claims of a valid token issued at now: iss Issuer,
// aud Audience, sub Subject, acr, iat and nbf now, exp ten minutes later.
func Claims(now time.Time, acr string) map[string]any {
	return map[string]any{
		"iss": Issuer, "aud": Audience, "sub": Subject, "acr": acr,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

// With returns a copy of claims with the given members set (a nil value
// removes the member).
func With(claims map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		name := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, name)
		} else {
			out[name] = kv[i+1]
		}
	}
	return out
}

// NoneToken returns claims as an unsigned token with alg "none".
func NoneToken(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	return compact(t, map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, claims, nil)
}

// HS256Token returns claims signed with HMAC-SHA256 keyed with secret,
// for example a published public key in PEM: the algorithm confusion
// attack.
func HS256Token(t testing.TB, kid string, secret []byte, claims map[string]any) string {
	t.Helper()
	return compact(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, claims, func(input []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		return m.Sum(nil)
	})
}

func compact(t testing.TB, header, claims map[string]any, sign func([]byte) []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	sig := ""
	if sign != nil {
		sig = base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
	}
	return input + "." + sig
}
