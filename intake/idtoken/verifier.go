package idtoken

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform"
)

// MaxTokenBytes bounds the size of a token.
const MaxTokenBytes = 16 << 10

// MaxPostboxReferenceLength bounds the postbox claim, in characters, as the
// portal API bounds postbox_reference.
const MaxPostboxReferenceLength = 1024

// Reasons of an Error: why a token was refused. They are part of the portal
// API (the problem's reason member).
const (
	ReasonMissing     = "missing"       // no token, and the portal must send one
	ReasonMalformed   = "malformed"     // not a JWS compact JWT, too long, or a claim of the wrong type
	ReasonAlgorithm   = "algorithm"     // alg none, symmetric, or not accepted for the issuer
	ReasonIssuer      = "issuer"        // iss is none of the portal's providers
	ReasonUnknownKey  = "unknown_key"   // no key of the provider's key set fits kid and alg, also after fetching it again
	ReasonSignature   = "signature"     // the signature does not verify
	ReasonExpired     = "expired"       // exp has passed, or exp is absent
	ReasonNotYetValid = "not_yet_valid" // nbf or iat lies in the future
	ReasonTooOld      = "too_old"       // issued (iat) longer than max_age ago, or iat absent while max_age is set
	ReasonAudience    = "audience"      // aud contains none of the portal's audiences
	ReasonSubject     = "subject"       // sub is absent
	ReasonTrustLevel  = "trust_level"   // acr is absent or not in the provider's trust_levels
)

// Error is a refused token. Detail is English text for the portal; neither
// says anything taken from the token.
type Error struct {
	Reason string
	Detail string
}

// Error returns the reason and the detail.
func (e *Error) Error() string { return "identity token refused: " + e.Reason + ": " + e.Detail }

func refuse(reason, detail string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(detail, args...)}
}

// Options configure a Registry.
type Options struct {
	// Client fetches key sets. Default: an http.Client with the
	// environment's proxy.
	Client *http.Client
	// Logger receives failed key set fetches (the source and the error,
	// never a token). Default: discard.
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Registry holds the key sets of a process and the Verifiers derived from
// the portals' configurations. It is safe for concurrent use.
type Registry struct {
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu        sync.Mutex
	sets      map[KeySource]*KeySet
	verifiers map[*config.IdentityToken]*Verifier
}

// maxVerifiers bounds the cached verifiers; beyond, the cache starts over
// (configuration reloads make new ones; the key sets stay).
const maxVerifiers = 4096

// NewRegistry returns an empty Registry.
func NewRegistry(o Options) *Registry {
	r := &Registry{client: o.Client, log: o.Logger, now: o.Now,
		sets: map[KeySource]*KeySet{}, verifiers: map[*config.IdentityToken]*Verifier{}}
	if r.client == nil {
		r.client = &http.Client{Timeout: FetchTimeout}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// Verifier returns the Verifier of a portal's identity_token block, which
// must be valid (config.Config.Validate). It is derived from t alone; key
// sets are shared by every verifier with the same source and settings.
func (r *Registry) Verifier(t *config.IdentityToken) *Verifier {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.verifiers[t]; ok {
		return v
	}
	v := &Verifier{cfg: t, now: r.now, providers: make(map[string]*provider, len(t.Providers))}
	for i := range t.Providers {
		p := &t.Providers[i]
		src := sourceOf(p)
		set, ok := r.sets[src]
		if !ok {
			set = newKeySet(src, r.client, r.log, r.now)
			r.sets[src] = set
		}
		algs := make([]jose.SignatureAlgorithm, 0, len(p.EffectiveAlgorithms()))
		for _, a := range p.EffectiveAlgorithms() {
			algs = append(algs, jose.SignatureAlgorithm(a))
			if !slices.Contains(v.algs, jose.SignatureAlgorithm(a)) {
				v.algs = append(v.algs, jose.SignatureAlgorithm(a))
			}
		}
		v.providers[p.Issuer] = &provider{cfg: p, algs: algs, keys: set}
	}
	if len(r.verifiers) >= maxVerifiers {
		clear(r.verifiers)
	}
	r.verifiers[t] = v
	return v
}

// Load fetches the key set of every provider of t now (at start). It
// returns the errors of the key set files that could not be read: a
// configuration mistake. A failing URL is logged and tried again when a
// token needs its keys (tokens get 503 until it answers).
func (r *Registry) Load(ctx context.Context, t *config.IdentityToken) error {
	v := r.Verifier(t)
	var errs []error
	for _, p := range v.providers {
		if err := p.keys.Load(ctx); err != nil && p.keys.src.File != "" {
			errs = append(errs, fmt.Errorf("identity provider %s: keys from %s: %w", p.cfg.Issuer, p.keys.src, err))
		}
	}
	return errors.Join(errs...)
}

func sourceOf(p *config.IdentityProvider) KeySource {
	return KeySource{URL: p.JWKSURL, File: p.JWKSFile, Refresh: p.EffectiveJWKSRefresh(),
		MinInterval: p.EffectiveJWKSMinInterval(), MaxStale: p.EffectiveJWKSMaxStale()}
}

// Verifier verifies the tokens of one portal.
type Verifier struct {
	cfg       *config.IdentityToken
	now       func() time.Time
	providers map[string]*provider // by issuer
	algs      []jose.SignatureAlgorithm
}

type provider struct {
	cfg  *config.IdentityProvider
	algs []jose.SignatureAlgorithm
	keys *KeySet
}

// Required reports whether the portal must send a token with every
// submission.
func (v *Verifier) Required() bool { return v.cfg.Required }

// KeySet returns the key set of the provider with the issuer iss, nil when
// there is none.
func (v *Verifier) KeySet(iss string) *KeySet {
	if p, ok := v.providers[iss]; ok {
		return p.keys
	}
	return nil
}

// claims are the claims read beyond the registered ones.
type claims struct {
	ACR any `json:"acr"`
}

// Verify verifies raw and returns the identity it asserts. A refused token
// is an *Error; ErrKeysUnavailable means the keys could not be had.
func (v *Verifier) Verify(ctx context.Context, raw string) (*transform.Identity, error) {
	if len(raw) > MaxTokenBytes {
		return nil, refuse(ReasonMalformed, "the token exceeds %d bytes", MaxTokenBytes)
	}
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, refuse(ReasonAlgorithm, "the token's algorithm is not accepted; accepted are asymmetric signatures (%s)", algList(v.algs))
		}
		return nil, refuse(ReasonMalformed, "the token is not a signed JWT in compact serialization")
	}
	if len(tok.Headers) != 1 {
		return nil, refuse(ReasonMalformed, "the token must have exactly one signature")
	}
	hdr := tok.Headers[0]

	// The issuer selects the provider, its algorithms and keys; nothing
	// else of the unverified claims is used.
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, refuse(ReasonMalformed, "the token's claims are not a JSON object of the registered claim types")
	}
	p, ok := v.providers[unverified.Issuer]
	if !ok {
		return nil, refuse(ReasonIssuer, "the token's issuer (iss) is not an identity provider of this portal")
	}
	if !slices.Contains(p.algs, jose.SignatureAlgorithm(hdr.Algorithm)) {
		return nil, refuse(ReasonAlgorithm, "the token's algorithm is not accepted for its issuer; accepted are %s", algList(p.algs))
	}
	keys, err := p.keys.Keys(ctx, hdr.KeyID, hdr.Algorithm)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, refuse(ReasonUnknownKey, "no key of the identity provider's key set fits the token's kid and alg")
	}
	var std jwt.Claims
	var extra claims
	var all map[string]any // for the postbox claim
	verified := false
	for _, k := range keys {
		if err := tok.Claims(k.Key, &std, &extra, &all); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, refuse(ReasonSignature, "the token's signature does not verify with the identity provider's key")
	}

	now := v.now()
	skew := v.cfg.EffectiveClockSkew()
	if std.Expiry == nil {
		return nil, refuse(ReasonExpired, "the token has no expiry (exp)")
	}
	switch err := std.ValidateWithLeeway(jwt.Expected{Issuer: p.cfg.Issuer, AnyAudience: v.cfg.Audience, Time: now}, skew); {
	case err == nil:
	case errors.Is(err, jwt.ErrExpired):
		return nil, refuse(ReasonExpired, "the token has expired (exp)")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, refuse(ReasonNotYetValid, "the token is not valid yet (nbf)")
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, refuse(ReasonNotYetValid, "the token is issued in the future (iat)")
	case errors.Is(err, jwt.ErrInvalidAudience):
		return nil, refuse(ReasonAudience, "the token's audience (aud) is not this portal")
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return nil, refuse(ReasonIssuer, "the token's issuer (iss) is not an identity provider of this portal")
	default:
		return nil, refuse(ReasonMalformed, "the token's claims are invalid")
	}
	if maxAge := v.cfg.MaxAge.Duration; maxAge > 0 {
		if std.IssuedAt == nil {
			return nil, refuse(ReasonTooOld, "the token has no issue time (iat), which max_age requires")
		}
		if now.Sub(std.IssuedAt.Time()) > maxAge+skew {
			return nil, refuse(ReasonTooOld, "the token was issued more than %s ago", maxAge)
		}
	}
	if std.Subject == "" {
		return nil, refuse(ReasonSubject, "the token has no subject (sub)")
	}
	acr, _ := extra.ACR.(string)
	level, ok := p.cfg.TrustLevels[acr]
	if acr == "" || !ok {
		return nil, refuse(ReasonTrustLevel, "the token's acr is absent or not mapped to a trust level for its issuer")
	}
	id := &transform.Identity{
		Method:     p.cfg.EffectiveMethod(),
		Provider:   p.cfg.Name,
		TrustLevel: level,
		Verified:   true,
		Issuer:     p.cfg.Issuer,
		SubjectRef: v.subjectRef(p.cfg.Issuer, std.Subject),
	}
	if name := p.cfg.PostboxClaim; name != "" {
		if s, ok := all[name].(string); ok && s != "" {
			if utf8.RuneCountInString(s) > MaxPostboxReferenceLength || len(transform.CheckText("", s)) > 0 {
				return nil, refuse(ReasonMalformed, "the token's postbox claim is not a valid text of at most %d characters", MaxPostboxReferenceLength)
			}
			id.PostboxReference = transform.NormalizeText(s)
		}
	}
	return id, nil
}

// subjectRef is the pseudonymous reference of the account sub at iss:
// HMAC-SHA256 under the pseudonym key over iss, a zero byte and sub, in hex.
func (v *Verifier) subjectRef(iss, sub string) string {
	m := hmac.New(sha256.New, []byte(v.cfg.PseudonymKey.Value()))
	m.Write([]byte(iss))
	m.Write([]byte{0})
	m.Write([]byte(sub))
	return hex.EncodeToString(m.Sum(nil))
}

func algList(algs []jose.SignatureAlgorithm) string {
	s := ""
	for i, a := range algs {
		if i > 0 {
			s += ", "
		}
		s += string(a)
	}
	return s
}
