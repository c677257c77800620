package idtoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/intake/idtoken/idtokentest"
	"github.com/amtsbote/amtsbote/transform"
)

const pseudonymKey = "0123456789abcdef0123456789abcdef-test"

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tokenConfig is a portal's identity_token block trusting p's key set.
func tokenConfig(p *idtokentest.Provider) *config.IdentityToken {
	return &config.IdentityToken{
		Required:     true,
		Audience:     []string{idtokentest.Audience},
		PseudonymKey: config.NewSecret(pseudonymKey),
		Providers: []config.IdentityProvider{{
			Issuer: idtokentest.Issuer, Name: "BundID", JWKSURL: p.URL(), TrustLevels: idtokentest.TrustLevels(),
			PostboxClaim: "postbox",
		}},
	}
}

// validConfig checks that the test configuration is one Validate accepts.
func validConfig(t *testing.T, tc *config.IdentityToken) {
	t.Helper()
	cfg := config.Demo(t.TempDir(), config.HashKey("k"))
	cfg.Portals[0].IdentityToken = tc
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
}

func TestVerifyMatrix(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	start := time.Now()
	clk := &clock{now: start}
	tc := tokenConfig(p)
	tc.MaxAge = config.Duration{Duration: time.Hour}
	validConfig(t, tc)
	v := idtoken.NewRegistry(idtoken.Options{Now: clk.Now}).Verifier(tc)
	valid := idtokentest.Claims(start, idtokentest.ACRSubstantial)
	foreign := idtokentest.NewKey(t, "rsa-1", jose.RS256) // not published; signs under a published kid
	unpublished := idtokentest.NewKey(t, "rsa-9", jose.RS256)

	tests := []struct {
		name   string
		token  string
		reason string // "" for valid
		level  string
	}{
		{"valid RSA", p.RSA.Sign(t, valid), "", "substantial"},
		{"valid EC", p.EC.Sign(t, valid), "", "substantial"},
		{"valid high", p.EC.Sign(t, idtokentest.With(valid, "acr", idtokentest.ACRHigh)), "", "high"},
		{"valid low", p.EC.Sign(t, idtokentest.With(valid, "acr", idtokentest.ACRLow)), "", "basic"},
		{"audience in a list", p.RSA.Sign(t, idtokentest.With(valid, "aud", []string{"other", idtokentest.Audience})), "", "substantial"},
		{"within clock skew", p.RSA.Sign(t, idtokentest.With(valid, "exp", start.Add(-30*time.Second).Unix())), "", "substantial"},
		{"expired", p.RSA.Sign(t, idtokentest.With(valid, "exp", start.Add(-2*time.Minute).Unix())), idtoken.ReasonExpired, ""},
		{"no exp", p.RSA.Sign(t, idtokentest.With(valid, "exp", nil)), idtoken.ReasonExpired, ""},
		{"not yet valid", p.RSA.Sign(t, idtokentest.With(valid, "nbf", start.Add(5*time.Minute).Unix())), idtoken.ReasonNotYetValid, ""},
		{"issued in the future", p.RSA.Sign(t, idtokentest.With(valid, "iat", start.Add(5*time.Minute).Unix())), idtoken.ReasonNotYetValid, ""},
		{"too old", p.RSA.Sign(t, idtokentest.With(valid, "iat", start.Add(-2*time.Hour).Unix())), idtoken.ReasonTooOld, ""},
		{"no iat with max age", p.RSA.Sign(t, idtokentest.With(valid, "iat", nil)), idtoken.ReasonTooOld, ""},
		{"wrong audience", p.RSA.Sign(t, idtokentest.With(valid, "aud", "anderes-portal")), idtoken.ReasonAudience, ""},
		{"no audience", p.RSA.Sign(t, idtokentest.With(valid, "aud", nil)), idtoken.ReasonAudience, ""},
		{"wrong issuer", p.RSA.Sign(t, idtokentest.With(valid, "iss", "https://evil.example")), idtoken.ReasonIssuer, ""},
		{"no subject", p.RSA.Sign(t, idtokentest.With(valid, "sub", nil)), idtoken.ReasonSubject, ""},
		{"unknown acr", p.RSA.Sign(t, idtokentest.With(valid, "acr", "urn:example:loa:5")), idtoken.ReasonTrustLevel, ""},
		{"no acr", p.RSA.Sign(t, idtokentest.With(valid, "acr", nil)), idtoken.ReasonTrustLevel, ""},
		{"acr not a string", p.RSA.Sign(t, idtokentest.With(valid, "acr", 3)), idtoken.ReasonTrustLevel, ""},
		{"wrong signature", foreign.Sign(t, valid), idtoken.ReasonSignature, ""},
		{"tampered payload", tamper(p.RSA.Sign(t, valid), p.RSA.Sign(t, idtokentest.With(valid, "acr", idtokentest.ACRHigh))), idtoken.ReasonSignature, ""},
		{"unknown kid", unpublished.Sign(t, valid), idtoken.ReasonUnknownKey, ""},
		{"alg none", idtokentest.NoneToken(t, "rsa-1", valid), idtoken.ReasonAlgorithm, ""},
		{"HS256 keyed with the public key", idtokentest.HS256Token(t, "rsa-1", p.RSA.PublicPEM(t), valid), idtoken.ReasonAlgorithm, ""},
		{"EC key under the RSA kid", p.EC.SignAs(t, "rsa-1", valid), idtoken.ReasonUnknownKey, ""},
		{"not a JWT", "not-a-token", idtoken.ReasonMalformed, ""},
		{"JWE-like five parts", "a.b.c.d.e", idtoken.ReasonMalformed, ""},
		{"exp not a number", p.RSA.Sign(t, idtokentest.With(valid, "exp", "tomorrow")), idtoken.ReasonMalformed, ""},
		{"too long", strings.Repeat("a", idtoken.MaxTokenBytes+1), idtoken.ReasonMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(context.Background(), tt.token)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify = %v, want a valid token", err)
				}
				want := transform.Identity{Method: "servicekonto", Provider: "BundID", TrustLevel: tt.level, Verified: true,
					Issuer: idtokentest.Issuer, SubjectRef: id.SubjectRef}
				if *id != want {
					t.Errorf("identity = %+v, want %+v", *id, want)
				}
				if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id.SubjectRef) || strings.Contains(id.SubjectRef, "9f2c71d0") {
					t.Errorf("subject ref %q is not a 64-digit hex pseudonym", id.SubjectRef)
				}
				return
			}
			var e *idtoken.Error
			if !errors.As(err, &e) || e.Reason != tt.reason {
				t.Fatalf("Verify = %v, %v; want reason %s", id, err, tt.reason)
			}
			if strings.Contains(e.Error(), idtokentest.Subject) || strings.Contains(e.Error(), tt.token[:min(len(tt.token), 20)]) {
				t.Errorf("error %q repeats the token", e.Error())
			}
		})
	}
}

// tamper returns the header and signature of a with the payload of b.
func tamper(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}

func TestSubjectRefIsStableAndKeyed(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	now := time.Now()
	r := idtoken.NewRegistry(idtoken.Options{})
	tc := tokenConfig(p)
	other := tokenConfig(p)
	other.PseudonymKey = config.NewSecret(strings.Repeat("k", 40))
	tok := p.RSA.Sign(t, idtokentest.Claims(now, idtokentest.ACRSubstantial))
	tok2 := p.EC.Sign(t, idtokentest.Claims(now.Add(-time.Second), idtokentest.ACRHigh))
	a, err := r.Verifier(tc).Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Verifier(tc).Verify(context.Background(), tok2)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Verifier(other).Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if a.SubjectRef != b.SubjectRef {
		t.Errorf("two tokens of one account: refs %s and %s, want equal", a.SubjectRef, b.SubjectRef)
	}
	if a.SubjectRef == c.SubjectRef {
		t.Errorf("another pseudonym key gives the same ref %s", a.SubjectRef)
	}
	d, err := r.Verifier(tc).Verify(context.Background(), p.RSA.Sign(t, idtokentest.With(idtokentest.Claims(now, idtokentest.ACRSubstantial), "sub", "other")))
	if err != nil {
		t.Fatal(err)
	}
	if d.SubjectRef == a.SubjectRef {
		t.Error("another subject gives the same ref")
	}
}

func TestPostboxClaim(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	v := idtoken.NewRegistry(idtoken.Options{}).Verifier(tokenConfig(p))
	id, err := v.Verify(context.Background(), p.RSA.Sign(t,
		idtokentest.With(idtokentest.Claims(time.Now(), idtokentest.ACRSubstantial), "postbox", "urn:bundid:postfach:4711")))
	if err != nil {
		t.Fatal(err)
	}
	if id.PostboxReference != "urn:bundid:postfach:4711" {
		t.Errorf("postbox reference = %q, want the claim's", id.PostboxReference)
	}
	for _, bad := range []any{"a\x00b", strings.Repeat("x", idtoken.MaxPostboxReferenceLength+1)} {
		_, err := v.Verify(context.Background(), p.RSA.Sign(t,
			idtokentest.With(idtokentest.Claims(time.Now(), idtokentest.ACRSubstantial), "postbox", bad)))
		if !isReason(err, idtoken.ReasonMalformed) {
			t.Errorf("postbox claim %.20q: %v, want malformed", bad, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	clk := &clock{now: time.Now()}
	tc := tokenConfig(p)
	tc.Providers[0].JWKSMinInterval = config.Duration{Duration: time.Minute}
	r := idtoken.NewRegistry(idtoken.Options{Now: clk.Now})
	v := r.Verifier(tc)
	ctx := context.Background()
	verify := func(k *idtokentest.Key) error {
		_, err := v.Verify(ctx, k.Sign(t, idtokentest.Claims(clk.Now(), idtokentest.ACRSubstantial)))
		return err
	}
	if err := verify(p.RSA); err != nil {
		t.Fatal(err)
	}
	if got := p.Fetches(); got != 1 {
		t.Fatalf("fetches after the first token = %d, want 1", got)
	}
	// Cached: no more fetches.
	if err := verify(p.EC); err != nil {
		t.Fatal(err)
	}
	if got := p.Fetches(); got != 1 {
		t.Fatalf("fetches after a cached key = %d, want 1", got)
	}

	// The provider rotates: a new key is published and the old one withdrawn.
	clk.Add(2 * time.Minute)
	next := idtokentest.NewKey(t, "rsa-2", jose.RS256)
	p.Publish(next)
	p.Withdraw("rsa-1")
	if err := verify(next); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if got := p.Fetches(); got != 2 {
		t.Fatalf("fetches after an unknown kid = %d, want 2", got)
	}
	// The withdrawn key is gone with the refetch.
	if err := verify(p.RSA); !isReason(err, idtoken.ReasonUnknownKey) {
		t.Fatalf("token of the withdrawn key: %v, want unknown_key", err)
	}

	// Unknown kids do not make it fetch more than once per min interval.
	fetches := p.Fetches()
	stranger := idtokentest.NewKey(t, "rsa-3", jose.RS256)
	for range 5 {
		if err := verify(stranger); !isReason(err, idtoken.ReasonUnknownKey) {
			t.Fatalf("token of an unpublished key: %v, want unknown_key", err)
		}
	}
	if got := p.Fetches() - fetches; got > 1 {
		t.Fatalf("%d fetches for 5 unknown kids within the min interval, want at most 1", got)
	}
	// A key published within the interval is found once it has passed.
	p.Publish(stranger)
	if err := verify(stranger); !isReason(err, idtoken.ReasonUnknownKey) {
		t.Fatalf("within the min interval: %v, want unknown_key", err)
	}
	clk.Add(time.Minute)
	if err := verify(stranger); err != nil {
		t.Fatalf("after the min interval: %v", err)
	}

	// A second portal with the same key set shares the cache.
	tc2 := tokenConfig(p)
	tc2.Providers[0].JWKSMinInterval = tc.Providers[0].JWKSMinInterval
	tc2.Audience = []string{"zweites-portal"}
	fetches = p.Fetches()
	if _, err := r.Verifier(tc2).Verify(ctx, stranger.Sign(t, idtokentest.With(idtokentest.Claims(clk.Now(), idtokentest.ACRHigh),
		"aud", "zweites-portal"))); err != nil {
		t.Fatal(err)
	}
	if p.Fetches() != fetches {
		t.Error("a verifier with the same key source fetched again")
	}
}

func TestStaleKeysWhileTheURLFails(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	clk := &clock{now: time.Now()}
	tc := tokenConfig(p)
	tc.Providers[0].JWKSRefresh = config.Duration{Duration: time.Hour}
	tc.Providers[0].JWKSMaxStale = config.Duration{Duration: 6 * time.Hour}
	v := idtoken.NewRegistry(idtoken.Options{Now: clk.Now}).Verifier(tc)
	verify := func() error {
		_, err := v.Verify(context.Background(), p.RSA.Sign(t, idtokentest.Claims(clk.Now(), idtokentest.ACRSubstantial)))
		return err
	}
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	p.SetFailing(true)
	clk.Add(2 * time.Hour) // due for refresh; the URL fails; the cache is used
	if err := verify(); err != nil {
		t.Fatalf("with stale keys within max stale: %v", err)
	}
	if n := v.KeySet(idtokentest.Issuer).Fetches(); n != 2 {
		t.Errorf("fetches started = %d, want 2: a refresh attempt in the background", n)
	}
	clk.Add(5 * time.Hour) // beyond max stale
	if err := verify(); !errors.Is(err, idtoken.ErrKeysUnavailable) {
		t.Fatalf("beyond max stale: %v, want ErrKeysUnavailable", err)
	}
	p.SetFailing(false)
	clk.Add(2 * time.Minute)
	if err := verify(); err != nil {
		t.Fatalf("after the URL recovered: %v", err)
	}
}

func TestNoKeysYet(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	p.SetFailing(true)
	clk := &clock{now: time.Now()}
	v := idtoken.NewRegistry(idtoken.Options{Now: clk.Now}).Verifier(tokenConfig(p))
	tok := p.RSA.Sign(t, idtokentest.Claims(clk.Now(), idtokentest.ACRSubstantial))
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, idtoken.ErrKeysUnavailable) {
		t.Fatalf("Verify = %v, want ErrKeysUnavailable", err)
	}
	p.SetFailing(false)
	clk.Add(10 * time.Second) // beyond the retry without keys, within the min interval
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after the URL recovered: %v", err)
	}
}

func TestKeySetFile(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, p.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	tc := tokenConfig(p)
	tc.Providers[0].JWKSURL, tc.Providers[0].JWKSFile = "", file
	validConfig(t, tc)
	r := idtoken.NewRegistry(idtoken.Options{Now: clk.Now})
	if err := r.Load(context.Background(), tc); err != nil {
		t.Fatal(err)
	}
	v := r.Verifier(tc)
	if _, err := v.Verify(context.Background(), p.EC.Sign(t, idtokentest.Claims(clk.Now(), idtokentest.ACRHigh))); err != nil {
		t.Fatal(err)
	}
	// The operator adds the provider's new key to the file: it is read
	// again for the unknown kid.
	next := idtokentest.NewKey(t, "ec-2", jose.ES384)
	p.Publish(next)
	if err := os.WriteFile(file, p.JWKS(), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	if _, err := v.Verify(context.Background(), next.Sign(t, idtokentest.Claims(clk.Now(), idtokentest.ACRHigh))); err != nil {
		t.Fatalf("key added to the file: %v", err)
	}
	if p.Fetches() != 0 {
		t.Errorf("the URL was fetched %d times, want never", p.Fetches())
	}

	missing := tokenConfig(p)
	missing.Providers[0].JWKSURL, missing.Providers[0].JWKSFile = "", filepath.Join(t.TempDir(), "missing.json")
	if err := r.Load(context.Background(), missing); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestKeySetDropsUnusableKeys(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	file := filepath.Join(t.TempDir(), "jwks.json")
	// A symmetric key under the RSA kid, an encryption key, a key of an
	// unknown type: none of them may verify anything.
	set := `{"keys":[{"kty":"oct","kid":"rsa-1","k":"c2VjcmV0"},{"kty":"XYZ","kid":"x"},` +
		strings.TrimPrefix(string(p.JWKS()), `{"keys":[`)
	if err := os.WriteFile(file, []byte(set), 0o600); err != nil {
		t.Fatal(err)
	}
	tc := tokenConfig(p)
	tc.Providers[0].JWKSURL, tc.Providers[0].JWKSFile = "", file
	r := idtoken.NewRegistry(idtoken.Options{})
	if err := r.Load(context.Background(), tc); err != nil {
		t.Fatal(err)
	}
	v := r.Verifier(tc)
	claims := idtokentest.Claims(time.Now(), idtokentest.ACRSubstantial)
	if _, err := v.Verify(context.Background(), idtokentest.HS256Token(t, "rsa-1", []byte("secret"), claims)); !isReason(err, idtoken.ReasonAlgorithm) {
		t.Errorf("HS256 with the oct key: %v, want algorithm", err)
	}
	if _, err := v.Verify(context.Background(), p.RSA.Sign(t, claims)); err != nil {
		t.Errorf("the RSA key beside unusable ones: %v", err)
	}

	if err := os.WriteFile(file, []byte(`{"keys":[{"kty":"oct","kid":"a","k":"c2VjcmV0"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	only := tokenConfig(p)
	only.Providers[0].JWKSURL, only.Providers[0].JWKSFile = "", file
	only.Providers[0].JWKSRefresh = config.Duration{Duration: time.Second} // another source key: a fresh set
	if err := r.Load(context.Background(), only); err == nil || !strings.Contains(err.Error(), "no public signing key") {
		t.Errorf("Load of a set without public keys = %v, want an error", err)
	}
}

func TestAlgorithmsPerProvider(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	tc := tokenConfig(p)
	tc.Providers[0].Algorithms = []string{"ES256"}
	validConfig(t, tc)
	v := idtoken.NewRegistry(idtoken.Options{}).Verifier(tc)
	claims := idtokentest.Claims(time.Now(), idtokentest.ACRSubstantial)
	if _, err := v.Verify(context.Background(), p.RSA.Sign(t, claims)); !isReason(err, idtoken.ReasonAlgorithm) {
		t.Errorf("RS256 where only ES256 is accepted: %v, want algorithm", err)
	}
	if _, err := v.Verify(context.Background(), p.EC.Sign(t, claims)); err != nil {
		t.Errorf("ES256: %v", err)
	}
}

func isReason(err error, reason string) bool {
	var e *idtoken.Error
	return errors.As(err, &e) && e.Reason == reason
}

// Concurrent tokens of a key rotated in share one fetch, and all of them
// wait for it.
func TestConcurrentRotation(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	clk := &clock{now: time.Now()}
	v := idtoken.NewRegistry(idtoken.Options{Now: clk.Now}).Verifier(tokenConfig(p))
	if _, err := v.Verify(context.Background(), p.RSA.Sign(t, idtokentest.Claims(clk.Now(), idtokentest.ACRHigh))); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	next := idtokentest.NewKey(t, "ec-2", jose.ES256)
	p.Publish(next)
	tok := next.Sign(t, idtokentest.Claims(clk.Now(), idtokentest.ACRHigh))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	if n := v.KeySet(idtokentest.Issuer).Fetches(); n != 2 {
		t.Errorf("fetches = %d, want 2 (start and one for the rotated key)", n)
	}
}

// A key set whose key has no kid (RFC 7517 makes it optional) verifies
// tokens with any kid, and tokens without one.
func TestKeyWithoutKID(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	pub := p.EC.Public()
	pub.KeyID = ""
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tc := tokenConfig(p)
	tc.Providers[0].JWKSURL, tc.Providers[0].JWKSFile = "", file
	v := idtoken.NewRegistry(idtoken.Options{}).Verifier(tc)
	claims := idtokentest.Claims(time.Now(), idtokentest.ACRSubstantial)
	for _, kid := range []string{"ec-1", ""} {
		if _, err := v.Verify(context.Background(), p.EC.SignAs(t, kid, claims)); err != nil {
			t.Errorf("kid %q: %v", kid, err)
		}
	}
	if _, err := v.Verify(context.Background(), p.RSA.Sign(t, claims)); err == nil {
		t.Error("a token of another key verified")
	}
}
