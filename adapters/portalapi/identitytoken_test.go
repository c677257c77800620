package portalapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/intake/idtoken/idtokentest"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// recordingRegistry registers rec for demoProcedure.
func recordingRegistry(t *testing.T, rec *recordingMapper) *transform.Registry {
	t.Helper()
	r := transform.NewRegistry()
	if err := r.Register(demoProcedure, rec); err != nil {
		t.Fatal(err)
	}
	return r
}

func withToken(tok string) []string { return []string{portalapi.HeaderIdentityToken, tok} }

// TestIdentityTokenMatrix is the done-when of issue 19, point 4, at the
// handler: each token gets the expected answer, and a refused one stores
// nothing.
func TestIdentityTokenMatrix(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	valid := idtokentest.Claims(testNow, idtokentest.ACRSubstantial)
	foreign := idtokentest.NewKey(t, "rsa-1", jose.RS256)
	rotated := idtokentest.NewKey(t, "rsa-rotated", jose.RS256)
	p.Publish(rotated) // the provider rotates to a key the handler has not seen

	identity := func(kv ...string) func(m map[string]any) {
		return func(m map[string]any) {
			id := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				id[kv[i]] = kv[i+1]
			}
			m["identity"] = id
		}
	}
	tests := []struct {
		name    string
		token   string // "" sends no header
		mutate  func(m map[string]any)
		status  int
		reason  string // of a 401
		pointer string // of a 422
		level   string // of a 202
	}{
		{name: "valid RSA", token: p.RSA.Sign(t, valid), status: 202, level: "substantial"},
		{name: "valid EC, high", token: p.EC.Sign(t, idtokentest.With(valid, "acr", idtokentest.ACRHigh)), status: 202, level: "high"},
		{name: "rotated key", token: rotated.Sign(t, valid), status: 202, level: "substantial"},
		{name: "body states what the token says", token: p.RSA.Sign(t, valid),
			mutate: identity("method", "servicekonto", "provider", "BundID", "trust_level", "substantial"), status: 202, level: "substantial"},
		{name: "body claims less than the token", token: p.RSA.Sign(t, valid),
			mutate: identity("method", "servicekonto", "provider", "BundID", "trust_level", "basic"), status: 202, level: "substantial"},
		{name: "trust level escalation", token: p.RSA.Sign(t, valid),
			mutate: identity("method", "servicekonto", "provider", "BundID", "trust_level", "high"), status: 422, pointer: "/identity/trust_level"},
		{name: "other provider claimed", token: p.RSA.Sign(t, valid),
			mutate: identity("method", "servicekonto", "provider", "Servicekonto.NRW", "trust_level", "basic"), status: 422, pointer: "/identity/provider"},
		{name: "other method claimed", token: p.RSA.Sign(t, valid),
			mutate: identity("method", "eid", "trust_level", "basic"), status: 422, pointer: "/identity/method"},
		{name: "method none with a token", token: p.RSA.Sign(t, valid), mutate: identity("method", "none"), status: 422, pointer: "/identity/method"},
		{name: "missing", status: 401, reason: idtoken.ReasonMissing},
		{name: "missing, body claims an identity", mutate: identity("method", "eid", "trust_level", "high"), status: 401, reason: idtoken.ReasonMissing},
		{name: "expired", token: p.RSA.Sign(t, idtokentest.With(valid, "exp", testNow.Add(-time.Hour).Unix())), status: 401, reason: idtoken.ReasonExpired},
		{name: "not yet valid", token: p.RSA.Sign(t, idtokentest.With(valid, "nbf", testNow.Add(time.Hour).Unix())), status: 401, reason: idtoken.ReasonNotYetValid},
		{name: "wrong audience", token: p.RSA.Sign(t, idtokentest.With(valid, "aud", "anderes-portal")), status: 401, reason: idtoken.ReasonAudience},
		{name: "wrong issuer", token: p.RSA.Sign(t, idtokentest.With(valid, "iss", "https://evil.example")), status: 401, reason: idtoken.ReasonIssuer},
		{name: "wrong signature", token: foreign.Sign(t, valid), status: 401, reason: idtoken.ReasonSignature},
		{name: "unpublished key", token: idtokentest.NewKey(t, "rsa-x", jose.RS256).Sign(t, valid), status: 401, reason: idtoken.ReasonUnknownKey},
		{name: "alg none", token: idtokentest.NoneToken(t, "rsa-1", valid), status: 401, reason: idtoken.ReasonAlgorithm},
		{name: "HS256 with the public key", token: idtokentest.HS256Token(t, "rsa-1", p.RSA.PublicPEM(t), valid), status: 401, reason: idtoken.ReasonAlgorithm},
		{name: "unknown acr", token: p.RSA.Sign(t, idtokentest.With(valid, "acr", "urn:loa:9")), status: 401, reason: idtoken.ReasonTrustLevel},
		{name: "garbage", token: "Bearer xyz", status: 401, reason: idtoken.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recordingMapper{}
			e := newEnv(t, func(c *envConfig) {
				tokenEnvConfig(t, c, p, true)
				c.Registry = recordingRegistry(t, rec)
			})
			var header []string
			if tt.token != "" {
				header = withToken(tt.token)
			}
			r := e.submit(t, demoKey, demoBody(t, tt.mutate), header...)
			switch tt.status {
			case 202:
				id := accepted(t, r)
				want := map[string]string{
					outbox.MetaIdentityMethod: "servicekonto", outbox.MetaIdentityProvider: "BundID",
					outbox.MetaIdentityTrustLevel: tt.level, outbox.MetaIdentityVerified: "true", outbox.MetaIdentityIssuer: idtokentest.Issuer,
				}
				_, msgs, err := e.store.Submission(context.Background(), id)
				if err != nil || len(msgs) != 1 {
					t.Fatalf("store.Submission = %d messages, %v", len(msgs), err)
				}
				for k, v := range want {
					if got := msgs[0].Metadata[k]; got != v {
						t.Errorf("metadata %s = %q, want %q", k, got, v)
					}
				}
				ref := msgs[0].Metadata[outbox.MetaIdentitySubjectRef]
				if len(ref) != 64 || strings.Contains(ref, idtokentest.Subject) {
					t.Errorf("subject ref = %q, want a 64-digit pseudonym", ref)
				}
				for k, v := range msgs[0].Metadata {
					if strings.Contains(v, idtokentest.Subject) || strings.Contains(v, tt.token[:40]) {
						t.Errorf("metadata %s carries the token or its subject", k)
					}
				}
				if len(rec.seen) != 1 || rec.seen[0] == nil || !rec.seen[0].Verified || rec.seen[0].TrustLevel != tt.level {
					t.Errorf("mapper saw %+v, want the verified identity", rec.seen)
				}
				st := statusOf(t, e.status(t, demoKey, id))
				if st.Identity == nil || !st.Identity.Verified || st.Identity.TrustLevel != tt.level || st.Identity.Issuer != idtokentest.Issuer {
					t.Errorf("status identity = %+v, want verified at %s", st.Identity, tt.level)
				}
			case 401:
				pr := problemOf(t, r, 401, portalapi.ProblemIdentityToken)
				if pr.Reason != tt.reason || pr.Detail == "" {
					t.Errorf("problem reason %q, detail %q; want reason %s and a detail", pr.Reason, pr.Detail, tt.reason)
				}
				if !strings.HasPrefix(r.header.Get("Www-Authenticate"), portalapi.HeaderIdentityToken) {
					t.Errorf("WWW-Authenticate = %q", r.header.Get("Www-Authenticate"))
				}
				e.assertNothingStored(t)
			case 422:
				pr := problemOf(t, r, 422, portalapi.ProblemValidationFailed)
				if len(pr.Errors) != 1 || pr.Errors[0].Pointer != tt.pointer {
					t.Errorf("errors = %+v, want one at %s", pr.Errors, tt.pointer)
				}
				e.assertNothingStored(t)
			}
			for _, line := range e.logLines(t) {
				s := fmtRecord(line)
				if tt.token != "" && strings.Contains(s, tt.token[:min(len(tt.token), 30)]) || strings.Contains(s, idtokentest.Subject) {
					t.Errorf("log record carries the token or its subject: %s", s)
				}
				if tt.status == 401 && line["msg"] == "identity token refused" && line["reason"] != tt.reason {
					t.Errorf("refusal logged with reason %v, want %s", line["reason"], tt.reason)
				}
			}
		})
	}
}

// tokenEnvConfig gives the demo portal an identity_token block trusting p.
func tokenEnvConfig(t *testing.T, c *envConfig, p *idtokentest.Provider, required bool) {
	t.Helper()
	c.Config.Portals[0].IdentityToken = &config.IdentityToken{
		Required:     required,
		Audience:     []string{idtokentest.Audience},
		PseudonymKey: config.NewSecret("pseudonym-key-of-the-test-0123456789"),
		Providers: []config.IdentityProvider{{
			Issuer: idtokentest.Issuer, Name: "BundID", JWKSURL: p.URL(), TrustLevels: idtokentest.TrustLevels(),
			JWKSMinInterval: config.Duration{Duration: time.Nanosecond},
		}},
	}
	if err := c.Config.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
}

func TestIdentityTokenOptional(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	e := newEnv(t, func(c *envConfig) { tokenEnvConfig(t, c, p, false) })
	// Without a token, the identity member is the portal's word.
	body := demoBody(t, func(m map[string]any) {
		m["identity"] = map[string]any{"method": "eid", "trust_level": "high"}
	})
	id := accepted(t, e.submit(t, demoKey, body))
	st := statusOf(t, e.status(t, demoKey, id))
	if st.Identity == nil || st.Identity.Verified || st.Identity.TrustLevel != "high" {
		t.Errorf("status identity = %+v, want the stated, unverified one", st.Identity)
	}
	// With one, it is verified all the same.
	r := e.submit(t, demoKey, demoBody(t, nil), withToken(p.RSA.Sign(t, idtokentest.Claims(testNow, idtokentest.ACRSubstantial)))...)
	id = accepted(t, r)
	if st := statusOf(t, e.status(t, demoKey, id)); st.Identity == nil || !st.Identity.Verified {
		t.Errorf("status identity = %+v, want verified", st.Identity)
	}
	// A bad one is refused even though none is required.
	r = e.submit(t, demoKey, demoBody(t, nil), withToken(idtokentest.NoneToken(t, "rsa-1", idtokentest.Claims(testNow, idtokentest.ACRHigh)))...)
	if pr := problemOf(t, r, 401, portalapi.ProblemIdentityToken); pr.Reason != idtoken.ReasonAlgorithm {
		t.Errorf("reason = %q", pr.Reason)
	}
}

func TestIdentityTokenNotConfigured(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	e := newEnv(t, func(c *envConfig) { tokenEnvConfig(t, c, p, true) })
	// other-portal has no identity_token: a token is a mistake, not ignored.
	r := e.submit(t, otherKey, demoBody(t, nil), withToken(p.RSA.Sign(t, idtokentest.Claims(testNow, idtokentest.ACRHigh)))...)
	problemOf(t, r, 400, portalapi.ProblemMalformedRequest)
	e.assertNothingStored(t)
	// Two token headers are refused.
	tok := p.RSA.Sign(t, idtokentest.Claims(testNow, idtokentest.ACRHigh))
	r = e.submit(t, demoKey, demoBody(t, nil), portalapi.HeaderIdentityToken, tok, portalapi.HeaderIdentityToken, tok)
	if pr := problemOf(t, r, 401, portalapi.ProblemIdentityToken); pr.Reason != idtoken.ReasonMalformed {
		t.Errorf("reason = %q", pr.Reason)
	}
}

func TestIdentityTokenGerman(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	e := newEnv(t, func(c *envConfig) { tokenEnvConfig(t, c, p, true) })
	r := e.submit(t, demoKey, demoBody(t, nil), "Accept-Language", "de")
	pr := problemIn(t, r, 401, portalapi.ProblemIdentityToken, "de")
	if !strings.Contains(pr.Detail, "Identitätsnachweis") || pr.Title != "Identitätsnachweis fehlt oder ist ungültig" {
		t.Errorf("German problem = %+v", pr)
	}
}

// Refused tokens are the applicant's problem, not a failed authentication
// of the portal: they never use up the client's failure budget.
func TestIdentityTokenRefusalsAreNotAuthFailures(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	e := newEnv(t, func(c *envConfig) {
		tokenEnvConfig(t, c, p, true)
		c.AuthFailureBurst = 2
	})
	for range 5 {
		problemOf(t, e.submit(t, demoKey, demoBody(t, nil)), 401, portalapi.ProblemIdentityToken)
	}
	accepted(t, e.submit(t, demoKey, demoBody(t, nil), withToken(p.EC.Sign(t, idtokentest.Claims(testNow, idtokentest.ACRHigh)))...))
}

func TestIdentityTokenKeysUnavailable(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	p.SetFailing(true)
	e := newEnv(t, func(c *envConfig) { tokenEnvConfig(t, c, p, true) })
	r := e.submit(t, demoKey, demoBody(t, nil), withToken(p.RSA.Sign(t, idtokentest.Claims(testNow, idtokentest.ACRHigh)))...)
	problemOf(t, r, 503, portalapi.ProblemUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e.assertNothingStored(t)
}

// An Idempotency-Key binds the verified account: a retry with a fresh
// token of the same account replays, another account's token conflicts.
func TestIdentityTokenIdempotency(t *testing.T) {
	t.Parallel()
	p := idtokentest.New(t)
	e := newEnv(t, func(c *envConfig) { tokenEnvConfig(t, c, p, true) })
	body := demoBody(t, nil)
	first := p.RSA.Sign(t, idtokentest.Claims(testNow.Add(-time.Minute), idtokentest.ACRSubstantial))
	id := accepted(t, e.submit(t, demoKey, body, append(withToken(first), "Idempotency-Key", "antrag-1")...))
	fresh := p.EC.Sign(t, idtokentest.Claims(testNow, idtokentest.ACRSubstantial))
	r := e.submit(t, demoKey, body, append(withToken(fresh), "Idempotency-Key", "antrag-1")...)
	if got := accepted(t, r); got != id || r.header.Get(portalapi.HeaderIdempotentReplayed) != "true" {
		t.Errorf("retry with a fresh token: id %s replayed %q, want %s replayed", got, r.header.Get(portalapi.HeaderIdempotentReplayed), id)
	}
	other := p.RSA.Sign(t, idtokentest.With(idtokentest.Claims(testNow, idtokentest.ACRSubstantial), "sub", "bPK2:someone-else"))
	r = e.submit(t, demoKey, body, append(withToken(other), "Idempotency-Key", "antrag-1")...)
	problemOf(t, r, 422, portalapi.ProblemIdempotencyConflict)
}
