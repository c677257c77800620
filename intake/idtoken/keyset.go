package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Limits of fetching a key set.
const (
	// MaxKeySetBytes bounds a key set document.
	MaxKeySetBytes = 1 << 20
	// FetchTimeout bounds one fetch of a key set from its URL.
	FetchTimeout = 10 * time.Second
	// noKeysRetry is the least time between fetches while no fetch has
	// succeeded yet, when jwks_min_interval is longer.
	noKeysRetry = 5 * time.Second
)

// ErrKeysUnavailable is returned when a provider's keys cannot be had: its
// key set URL fails and no keys fetched within jwks_max_stale are cached.
// It is the server's problem, not the token's: the portal retries.
var ErrKeysUnavailable = errors.New("idtoken: the identity provider's keys are unavailable")

// KeySource is where a KeySet comes from: exactly one of URL and File.
type KeySource struct {
	URL  string
	File string
	// Refresh, MinInterval and MaxStale as config.IdentityProvider's
	// jwks_refresh, jwks_min_interval and jwks_max_stale; positive.
	Refresh, MinInterval, MaxStale time.Duration
}

// String names the source in logs: the URL or the file.
func (s KeySource) String() string {
	if s.URL != "" {
		return s.URL
	}
	return s.File
}

// KeySet is the cached public keys of one identity provider. It is safe for
// concurrent use. One fetch runs at a time, without holding the lock:
// callers that need its result wait for it (or their context), the others
// go on with the cached keys.
type KeySet struct {
	src    KeySource
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu        sync.Mutex
	keys      []jose.JSONWebKey // public signing keys of the last successful fetch
	fetchedAt time.Time         // when the last successful fetch started
	triedAt   time.Time         // when the last fetch started, successful or not
	lastErr   error             // of the last fetch
	fetches   int
	inflight  chan struct{} // closed when the running fetch ends; nil when none runs
}

// newKeySet returns the key set of src; it fetches nothing yet.
func newKeySet(src KeySource, client *http.Client, log *slog.Logger, now func() time.Time) *KeySet {
	return &KeySet{src: src, client: client, log: log, now: now}
}

// Fetches returns how many fetches (or file reads) were started, for tests
// and diagnostics.
func (s *KeySet) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Load fetches the key set now, whatever its age, and waits for it: at
// start, so that a missing file or a failing URL is seen early.
func (s *KeySet) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wait(ctx, s.start(ctx))
	return s.lastErr
}

// Keys returns the keys that may have signed a token with key id kid and
// algorithm alg ("" kid: every key fitting alg). Without usable keys (none
// yet, or from jwks_url and older than MaxStale) it fetches them and waits.
// Keys older than Refresh are fetched again in the background while the
// cached ones serve. When no key fits kid, it fetches again and waits (the
// provider may have rotated). Each fetch at most once per MinInterval. An
// empty result means the key is unknown; ErrKeysUnavailable that there are
// no usable keys.
func (s *KeySet) Keys(ctx context.Context, kid, alg string) ([]jose.JSONWebKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch {
	case !s.usable(now):
		if s.inflight != nil || s.mayFetch(now) {
			s.wait(ctx, s.start(ctx))
		}
	case now.Sub(s.fetchedAt) >= s.src.Refresh && s.inflight == nil && s.mayFetch(now):
		s.start(ctx) // stale-while-revalidate
	}
	if !s.usable(s.now()) {
		return nil, ErrKeysUnavailable
	}
	found := s.match(kid, alg)
	if len(found) == 0 && (s.inflight != nil || s.mayFetch(now)) {
		// A key the set does not hold: the provider may have rotated.
		s.wait(ctx, s.start(ctx))
		found = s.match(kid, alg)
	}
	if !s.usable(s.now()) {
		return nil, ErrKeysUnavailable
	}
	return found, nil
}

// usable reports whether the cached keys may be used at now. Called with
// mu held.
func (s *KeySet) usable(now time.Time) bool {
	return s.keys != nil && (s.src.URL == "" || now.Sub(s.fetchedAt) <= s.src.MaxStale)
}

// mayFetch reports whether a fetch may start at now: the last one started
// at least MinInterval ago (5 s while no fetch has succeeded yet). Called
// with mu held.
func (s *KeySet) mayFetch(now time.Time) bool {
	wait := s.src.MinInterval
	if s.keys == nil {
		wait = min(wait, noKeysRetry)
	}
	return s.triedAt.IsZero() || now.Sub(s.triedAt) >= wait
}

// start starts a fetch unless one runs, and returns the channel closed when
// the running fetch has ended. Called with mu held.
func (s *KeySet) start(ctx context.Context) chan struct{} {
	if s.inflight != nil {
		return s.inflight
	}
	done := make(chan struct{})
	s.inflight = done
	s.fetches++
	started := s.now()
	s.triedAt = started
	ctx = context.WithoutCancel(ctx) // a fetch outlives the request that started it
	go func() {
		defer close(done)
		keys, err := s.fetch(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.inflight, s.lastErr = nil, err
		if err != nil {
			attrs := []slog.Attr{slog.String("jwks", s.src.String()), slog.String("error", err.Error())}
			if s.keys != nil {
				attrs = append(attrs, slog.Time("keys_fetched_at", s.fetchedAt))
			}
			s.log.LogAttrs(ctx, slog.LevelWarn, "identity provider keys could not be fetched", attrs...)
			return
		}
		s.keys, s.fetchedAt = keys, started
	}()
	return done
}

// wait releases mu until done is closed or ctx ends. Called with mu held.
func (s *KeySet) wait(ctx context.Context, done chan struct{}) {
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// fetch reads and parses the set from its source.
func (s *KeySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	b, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return parseKeySet(b)
}

// read returns the key set document.
func (s *KeySet) read(ctx context.Context) ([]byte, error) {
	if s.src.File != "" {
		f, err := os.Open(s.src.File)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readLimited(f)
	}
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.src.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("the key set URL answered %s", resp.Status)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil ||
		(mt != "application/json" && mt != "application/jwk-set+json") {
		return nil, fmt.Errorf("the key set URL answered with Content-Type %q, want application/json or application/jwk-set+json",
			resp.Header.Get("Content-Type"))
	}
	return readLimited(resp.Body)
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxKeySetBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxKeySetBytes {
		return nil, fmt.Errorf("the key set exceeds %d bytes", MaxKeySetBytes)
	}
	return b, nil
}

// parseKeySet decodes a JSON Web Key Set and keeps its public signing
// keys: keys for encryption (use "enc"), private and symmetric keys are
// dropped, so that no token can be checked with an HMAC secret.
func parseKeySet(b []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []jsonKey `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("the key set is not a JSON Web Key Set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		if k.key == nil || k.key.Use == "enc" || !k.key.Valid() || !k.key.IsPublic() {
			continue
		}
		if _, symmetric := k.key.Key.([]byte); symmetric {
			continue
		}
		keys = append(keys, *k.key)
	}
	if len(keys) == 0 {
		return nil, errors.New("the key set has no public signing key")
	}
	return keys, nil
}

// jsonKey decodes one JWK, leaving nil for a key go-jose does not
// understand (an unknown kty or curve), which is skipped rather than
// failing the whole set.
type jsonKey struct{ key *jose.JSONWebKey }

func (k *jsonKey) UnmarshalJSON(b []byte) error {
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(b); err == nil {
		k.key = &key
	}
	return nil
}

// match returns the cached keys that fit kid and alg: a key without a kid
// (RFC 7517 makes it optional) fits every kid.
func (s *KeySet) match(kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range s.keys {
		if kid != "" && k.KeyID != "" && k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		out = append(out, k)
	}
	return out
}
