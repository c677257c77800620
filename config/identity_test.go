package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func validIdentityToken() *IdentityToken {
	return &IdentityToken{
		Required:     true,
		Audience:     []string{"buergerportal"},
		PseudonymKey: NewSecret(strings.Repeat("k", MinIdentityPseudonymKeyLength)),
		Providers: []IdentityProvider{{
			Issuer: "https://id.bund.de", Name: "BundID", JWKSURL: "https://id.bund.de/jwks",
			TrustLevels: map[string]string{"http://eidas.europa.eu/LoA/substantial": "substantial"},
		}},
	}
}

func TestIdentityTokenValidation(t *testing.T) {
	t.Parallel()
	const p0 = "portals[0].identity_token"
	tests := []struct {
		name   string
		mutate func(it *IdentityToken)
		want   []string
	}{
		{"valid", func(*IdentityToken) {}, nil},
		{"jwks file", func(it *IdentityToken) {
			it.Providers[0].JWKSURL, it.Providers[0].JWKSFile = "", "/etc/amtsbote/bundid.jwks"
		}, nil},
		{"http to loopback", func(it *IdentityToken) { it.Providers[0].JWKSURL = "http://127.0.0.1:8099/jwks" }, nil},
		{"eid method", func(it *IdentityToken) { it.Providers[0].Method = "eid" }, nil},
		{"no audience", func(it *IdentityToken) { it.Audience = nil }, []string{p0 + ".audience"}},
		{"empty audience", func(it *IdentityToken) { it.Audience = []string{" "} }, []string{p0 + ".audience[0]"}},
		{"no providers", func(it *IdentityToken) { it.Providers = nil }, []string{p0 + ".providers"}},
		{"no pseudonym key", func(it *IdentityToken) { it.PseudonymKey = Secret{} }, []string{p0 + ".pseudonym_key"}},
		{"short pseudonym key", func(it *IdentityToken) { it.PseudonymKey = NewSecret("short") }, []string{p0 + ".pseudonym_key"}},
		{"clock skew too large", func(it *IdentityToken) { it.ClockSkew = Duration{time.Hour} }, []string{p0 + ".clock_skew"}},
		{"negative max age", func(it *IdentityToken) { it.MaxAge = Duration{-time.Second} }, []string{p0 + ".max_age"}},
		{"no issuer", func(it *IdentityToken) { it.Providers[0].Issuer = "" }, []string{p0 + ".providers[0].issuer"}},
		{"issuer twice", func(it *IdentityToken) { it.Providers = append(it.Providers, it.Providers[0]) }, []string{p0 + ".providers[1].issuer"}},
		{"no name", func(it *IdentityToken) { it.Providers[0].Name = "" }, []string{p0 + ".providers[0].name"}},
		{"unknown method", func(it *IdentityToken) { it.Providers[0].Method = "password" }, []string{p0 + ".providers[0].method"}},
		{"url and file", func(it *IdentityToken) { it.Providers[0].JWKSFile = "x.json" }, []string{p0 + ".providers[0]"}},
		{"neither url nor file", func(it *IdentityToken) { it.Providers[0].JWKSURL = "" }, []string{p0 + ".providers[0]"}},
		{"plain http", func(it *IdentityToken) { it.Providers[0].JWKSURL = "http://id.bund.de/jwks" }, []string{p0 + ".providers[0].jwks_url"}},
		{"credentials in url", func(it *IdentityToken) { it.Providers[0].JWKSURL = "https://u:p@id.bund.de/jwks" }, []string{p0 + ".providers[0].jwks_url"}},
		{"HS256", func(it *IdentityToken) { it.Providers[0].Algorithms = []string{"RS256", "HS256"} }, []string{p0 + ".providers[0].algorithms[1]"}},
		{"none", func(it *IdentityToken) { it.Providers[0].Algorithms = []string{"none"} }, []string{p0 + ".providers[0].algorithms[0]"}},
		{"no trust levels", func(it *IdentityToken) { it.Providers[0].TrustLevels = nil }, []string{p0 + ".providers[0].trust_levels"}},
		{"unknown trust level", func(it *IdentityToken) { it.Providers[0].TrustLevels = map[string]string{"loa3": "mittel"} },
			[]string{p0 + ".providers[0].trust_levels.loa3"}},
		{"negative refresh", func(it *IdentityToken) { it.Providers[0].JWKSRefresh = Duration{-time.Second} },
			[]string{p0 + ".providers[0].jwks_refresh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			it := validIdentityToken()
			tt.mutate(it)
			c.Portals[0].IdentityToken = it
			err := c.Validate()
			var got []string
			if err != nil {
				var verr *ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("Validate() = %v, want a *ValidationError", err)
				}
				for _, p := range verr.Problems {
					got = append(got, p.Path)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems at %v, want %v (%v)", got, tt.want, err)
			}
		})
	}
}

func TestIdentityTokenDefaults(t *testing.T) {
	t.Parallel()
	it := validIdentityToken()
	p := &it.Providers[0]
	if it.EffectiveClockSkew() != DefaultIdentityClockSkew || p.EffectiveMethod() != "servicekonto" ||
		p.EffectiveJWKSRefresh() != DefaultJWKSRefresh || p.EffectiveJWKSMinInterval() != DefaultJWKSMinInterval ||
		p.EffectiveJWKSMaxStale() != DefaultJWKSMaxStale || !slices.Equal(p.EffectiveAlgorithms(), IdentityAlgorithms()) {
		t.Errorf("defaults: skew %s, method %s, refresh %s, min interval %s, max stale %s, algorithms %v", it.EffectiveClockSkew(),
			p.EffectiveMethod(), p.EffectiveJWKSRefresh(), p.EffectiveJWKSMinInterval(), p.EffectiveJWKSMaxStale(), p.EffectiveAlgorithms())
	}
	if slices.ContainsFunc(IdentityAlgorithms(), func(a string) bool { return strings.HasPrefix(a, "HS") || a == "none" }) {
		t.Errorf("IdentityAlgorithms %v contains a symmetric algorithm or none", IdentityAlgorithms())
	}
}

func TestFitConnectIdentityTokenValidation(t *testing.T) {
	t.Parallel()
	cfg := fitconnectConfig()
	cfg.FitConnect.Subscribers[0].IdentityToken = validIdentityToken()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid identity_token: %v", err)
	}
	cfg.FitConnect.Subscribers[0].IdentityToken.Audience = nil
	cfg.FitConnect.Subscribers[0].IdentityToken.Providers[0].Algorithms = []string{"HS256"}
	var verr *ValidationError
	if err := cfg.Validate(); !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	var got []string
	for _, p := range verr.Problems {
		got = append(got, p.Path)
	}
	want := []string{"fitconnect.subscribers[0].identity_token.audience", "fitconnect.subscribers[0].identity_token.providers[0].algorithms[0]"}
	if !slices.Equal(got, want) {
		t.Errorf("problems at %v, want %v", got, want)
	}
}
