package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// IdentityToken makes a portal send the applicant's identity as a signed
// assertion of the identity provider (an OpenID Connect ID token or another
// JWT, JWS compact serialization) with each submission, in the header
// Amtsbote-Identity-Token. Amtsbote verifies it against the provider's JWKS
// and derives method, provider and trust level from it, instead of taking
// the identity member of the request body as the portal's word.
type IdentityToken struct {
	// Required refuses every submission without a token (401). When false,
	// a token is verified whenever one is sent, and a submission without
	// one keeps the identity member as the portal states it, unverified.
	Required bool `yaml:"required"`
	// Audience lists the portal's client ids at the identity providers:
	// the token's aud must contain one of them. Required.
	Audience []string `yaml:"audience"`
	// Providers are the identity providers whose tokens the portal may
	// send, told apart by the token's iss. At least one.
	Providers []IdentityProvider `yaml:"providers"`
	// PseudonymKey is the HMAC-SHA256 key of the pseudonymous subject
	// reference that the messages carry instead of the token's subject; at
	// least 32 characters. Required. Portals configured with the same key
	// get the same reference for the same account; changing it changes
	// every reference from then on.
	PseudonymKey Secret `yaml:"pseudonym_key"`
	// ClockSkew is the leeway for exp, nbf and iat. Default 1m, at most 5m.
	ClockSkew Duration `yaml:"clock_skew"`
	// MaxAge, when set, also refuses tokens issued (iat) longer ago than
	// this; tokens must then carry iat. Default: only exp counts.
	MaxAge Duration `yaml:"max_age"`
}

// IdentityProvider is one identity provider (BundID, Servicekonto.NRW, ...)
// whose tokens a portal may send.
type IdentityProvider struct {
	// Issuer is the provider's issuer identifier, compared exactly with the
	// token's iss. Required; unique within the portal.
	Issuer string `yaml:"issuer"`
	// Name is the provider in the verified identity, e.g. "BundID".
	// Required.
	Name string `yaml:"name"`
	// Method is the identification method its tokens stand for:
	// "servicekonto" (default) or "eid".
	Method string `yaml:"method"`
	// JWKSURL is where the provider publishes its public keys (a JSON Web
	// Key Set), https; plain http only to a loopback address. Exactly one
	// of jwks_url and jwks_file.
	JWKSURL string `yaml:"jwks_url"`
	// JWKSFile is a JSON Web Key Set in a local file, read at start and
	// again when a token names a key it does not hold.
	JWKSFile string `yaml:"jwks_file"`
	// Algorithms are the JWS algorithms accepted; asymmetric only (RS*, PS*,
	// ES*, EdDSA). Default RS256, RS384, RS512, PS256, PS384, PS512, ES256,
	// ES384, ES512, EdDSA.
	Algorithms []string `yaml:"algorithms"`
	// TrustLevels maps the token's acr values to the eIDAS trust levels
	// basic, substantial and high, e.g.
	// "http://eidas.europa.eu/LoA/substantial": substantial. A token whose
	// acr is absent or not in the table is refused. At least one entry.
	TrustLevels map[string]string `yaml:"trust_levels"`
	// PostboxClaim optionally names a claim of the token holding the
	// account's postbox reference; when the token has it, it replaces the
	// body's postbox_reference.
	PostboxClaim string `yaml:"postbox_claim"`
	// JWKSRefresh is how long keys fetched from jwks_url are used before
	// they are fetched again. Default 1h.
	JWKSRefresh Duration `yaml:"jwks_refresh"`
	// JWKSMinInterval is the least time between two fetches of the key set
	// (or reads of the file), also when tokens name unknown keys. Default 1m.
	JWKSMinInterval Duration `yaml:"jwks_min_interval"`
	// JWKSMaxStale is how long keys fetched from jwks_url are still used
	// while the URL fails; beyond it tokens are answered with 503. Default 24h.
	JWKSMaxStale Duration `yaml:"jwks_max_stale"`
}

// Defaults and limits of IdentityToken and IdentityProvider.
const (
	DefaultIdentityClockSkew      = time.Minute     // IdentityToken.ClockSkew
	MaxIdentityClockSkew          = 5 * time.Minute // the largest IdentityToken.ClockSkew
	MinIdentityPseudonymKeyLength = 32              // the shortest IdentityToken.PseudonymKey
	DefaultJWKSRefresh            = time.Hour       // IdentityProvider.JWKSRefresh
	DefaultJWKSMinInterval        = time.Minute     // IdentityProvider.JWKSMinInterval
	DefaultJWKSMaxStale           = 24 * time.Hour  // IdentityProvider.JWKSMaxStale
)

// Values of IdentityProvider.Method and IdentityProvider.TrustLevels; the
// same strings as transform.Identity's.
const (
	identityMethodServicekonto = "servicekonto"
	identityMethodEID          = "eid"
	identityTrustBasic         = "basic"
	identityTrustSubstantial   = "substantial"
	identityTrustHigh          = "high"
)

// identityAlgorithms are the asymmetric JWS algorithms; symmetric ones
// (HS*) and none are never accepted.
const identityAlgorithms = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA"

// IdentityAlgorithms are the JWS algorithms an IdentityProvider may accept,
// and accepts by default.
func IdentityAlgorithms() []string { return strings.Fields(identityAlgorithms) }

// EffectiveClockSkew is ClockSkew or its default.
func (t *IdentityToken) EffectiveClockSkew() time.Duration {
	if t.ClockSkew.Duration > 0 {
		return t.ClockSkew.Duration
	}
	return DefaultIdentityClockSkew
}

// EffectiveMethod is Method or its default, servicekonto.
func (p *IdentityProvider) EffectiveMethod() string {
	if p.Method == "" {
		return identityMethodServicekonto
	}
	return p.Method
}

// EffectiveAlgorithms is Algorithms or its default.
func (p *IdentityProvider) EffectiveAlgorithms() []string {
	if len(p.Algorithms) == 0 {
		return IdentityAlgorithms()
	}
	return p.Algorithms
}

// EffectiveJWKSRefresh is JWKSRefresh or its default.
func (p *IdentityProvider) EffectiveJWKSRefresh() time.Duration {
	return orDefault(p.JWKSRefresh.Duration, DefaultJWKSRefresh)
}

// EffectiveJWKSMinInterval is JWKSMinInterval or its default.
func (p *IdentityProvider) EffectiveJWKSMinInterval() time.Duration {
	return orDefault(p.JWKSMinInterval.Duration, DefaultJWKSMinInterval)
}

// EffectiveJWKSMaxStale is JWKSMaxStale or its default.
func (p *IdentityProvider) EffectiveJWKSMaxStale() time.Duration {
	return orDefault(p.JWKSMaxStale.Duration, DefaultJWKSMaxStale)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// validate checks the portal's identity_token block at path.
func (t *IdentityToken) validate(path string, v *validator) {
	if len(t.Audience) == 0 {
		v.add(path+".audience", "is required: the portal's client id at the identity provider")
	}
	for i, a := range t.Audience {
		if strings.TrimSpace(a) == "" {
			v.add(fmt.Sprintf("%s.audience[%d]", path, i), "must not be empty")
		}
	}
	if len(t.Providers) == 0 {
		v.add(path+".providers", "at least one identity provider is required")
	}
	switch k := t.PseudonymKey.Value(); {
	case t.PseudonymKey.IsZero() || k == "":
		v.add(path+".pseudonym_key", "is required: the HMAC key of the pseudonymous subject reference")
	case len(k) < MinIdentityPseudonymKeyLength:
		v.add(path+".pseudonym_key", "must have at least %d characters", MinIdentityPseudonymKeyLength)
	}
	v.nonNegative(path+".clock_skew", t.ClockSkew)
	if t.ClockSkew.Duration > MaxIdentityClockSkew {
		v.add(path+".clock_skew", "must be at most %s, got %s", MaxIdentityClockSkew, t.ClockSkew)
	}
	v.nonNegative(path+".max_age", t.MaxAge)
	issuers := map[string]string{}
	for i := range t.Providers {
		t.Providers[i].validate(fmt.Sprintf("%s.providers[%d]", path, i), issuers, v)
	}
}

func (p *IdentityProvider) validate(path string, issuers map[string]string, v *validator) {
	switch u, err := url.Parse(p.Issuer); {
	case p.Issuer == "":
		v.add(path+".issuer", "is required")
	case err != nil || u.Scheme == "":
		v.add(path+".issuer", "must be a URL or URI, the iss of the provider's tokens")
	case issuers[p.Issuer] != "":
		v.add(path+".issuer", "is used by %s as well", issuers[p.Issuer])
	default:
		issuers[p.Issuer] = path
	}
	if strings.TrimSpace(p.Name) == "" {
		v.add(path+".name", "is required, e.g. BundID")
	}
	if m := p.Method; m != "" && m != identityMethodServicekonto && m != identityMethodEID {
		v.add(path+".method", "must be servicekonto or eid, got %q", m)
	}
	switch {
	case (p.JWKSURL == "") == (p.JWKSFile == ""):
		v.add(path, "needs exactly one of jwks_url and jwks_file")
	case p.JWKSURL != "":
		jwksURL(path+".jwks_url", p.JWKSURL, v)
	}
	allowed := IdentityAlgorithms()
	for i, a := range p.Algorithms {
		if !slices.Contains(allowed, a) {
			v.add(fmt.Sprintf("%s.algorithms[%d]", path, i), "must be one of %s (asymmetric only), got %q",
				strings.Join(allowed, ", "), a)
		}
	}
	if len(p.TrustLevels) == 0 {
		v.add(path+".trust_levels", "at least one acr value must map to a trust level (basic, substantial or high)")
	}
	acrs := make([]string, 0, len(p.TrustLevels))
	for acr := range p.TrustLevels {
		acrs = append(acrs, acr)
	}
	slices.Sort(acrs)
	for _, acr := range acrs {
		switch p.TrustLevels[acr] {
		case identityTrustBasic, identityTrustSubstantial, identityTrustHigh:
		default:
			v.add(path+".trust_levels."+acr, "must be basic, substantial or high, got %q", p.TrustLevels[acr])
		}
	}
	v.nonNegative(path+".jwks_refresh", p.JWKSRefresh)
	v.nonNegative(path+".jwks_min_interval", p.JWKSMinInterval)
	v.nonNegative(path+".jwks_max_stale", p.JWKSMaxStale)
}

// jwksURL checks the URL of a key set: https, or http to a loopback
// address (a local proxy or test server), without credentials.
func jwksURL(path, s string, v *validator) {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.add(path, "must be an https URL, got %q", s)
	case u.User != nil:
		v.add(path, "must not contain credentials")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		v.add(path, "must be https; plain http is allowed to a loopback address only")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
