package fitconnect_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/intake/idtoken/idtokentest"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestIdentificationReport: a subscriber with an identity verifier reads
// the identity token from the metadata's authenticationInformation; a valid
// one gives the verified identity, the token matrix is rejected with
// invalid-submission and nothing but the reject event is stored.
func TestIdentificationReport(t *testing.T) {
	idp := idtokentest.New(t)
	now := time.Now()
	valid := idtokentest.Claims(now, idtokentest.ACRSubstantial)
	meld, _ := fachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	withIdentity := func(level string) []byte {
		var m map[string]any
		if err := json.Unmarshal(meld, &m); err != nil {
			t.Fatal(err)
		}
		m["identity"] = map[string]any{"method": "servicekonto", "provider": "BundID", "trust_level": level}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	report := func(tok string) []fitconnect.AuthenticationInformation {
		return []fitconnect.AuthenticationInformation{{Type: fitconnect.AuthIdentificationReport, Version: "1.0.0", Content: tok}}
	}
	foreign := idtokentest.NewKey(t, "rsa-1", jose.RS256)
	tests := []struct {
		name   string
		data   []byte
		auth   []fitconnect.AuthenticationInformation
		reject string // a word of the reject's detail; "" for accepted
		level  string
	}{
		{"valid", meld, report(idp.RSA.Sign(t, valid)), "", "substantial"},
		{"valid, Fachdaten claim less", withIdentity("basic"), report(idp.EC.Sign(t, valid)), "", "substantial"},
		{"missing", meld, nil, "required", ""},
		{"other type only", meld, []fitconnect.AuthenticationInformation{{Type: "eidasReport", Version: "1.0.0", Content: "x"}}, "required", ""},
		{"two reports", meld, append(report(idp.RSA.Sign(t, valid)), report(idp.EC.Sign(t, valid))...), "more than one", ""},
		{"expired", meld, report(idp.RSA.Sign(t, idtokentest.With(valid, "exp", now.Add(-time.Hour).Unix()))), "expired", ""},
		{"wrong audience", meld, report(idp.RSA.Sign(t, idtokentest.With(valid, "aud", "x"))), "audience", ""},
		{"wrong signature", meld, report(foreign.Sign(t, valid)), "signature", ""},
		{"alg none", meld, report(idtokentest.NoneToken(t, "rsa-1", valid)), "algorithm", ""},
		{"trust level escalation", withIdentity("high"), report(idp.RSA.Sign(t, valid)), "trust_level_exceeds_token", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tcfg := &config.IdentityToken{Required: true, Audience: []string{idtokentest.Audience},
				PseudonymKey: config.NewSecret("fitconnect-test-pseudonym-key-012345"),
				Providers: []config.IdentityProvider{{Issuer: idtokentest.Issuer, Name: "BundID", JWKSURL: idp.URL(),
					TrustLevels: idtokentest.TrustLevels()}}}
			sub, err := e.newSubIdentity(idtoken.NewRegistry(idtoken.Options{}).Verifier(tcfg))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			sent, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld},
				Data: tc.data, AuthenticationInformation: tc.auth})
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			subs, _, err := e.store.ListSubmissions(ctx, outbox.SubmissionFilter{PortalID: fitconnect.PortalID("musterstadt")})
			if err != nil {
				t.Fatal(err)
			}
			if tc.reject == "" {
				if len(subs) != 1 {
					t.Fatalf("%d submissions stored, want 1 (observer %v)", len(subs), e.obs.counts)
				}
				var found bool
				for _, m := range subs[0].Messages {
					if m.Metadata[outbox.MetaDestination] == "" {
						continue
					}
					found = true
					md := m.Metadata
					if md[outbox.MetaIdentityVerified] != "true" || md[outbox.MetaIdentityTrustLevel] != tc.level ||
						md[outbox.MetaIdentityProvider] != "BundID" || len(md[outbox.MetaIdentitySubjectRef]) != 64 {
						t.Errorf("identity metadata %v, want verified at %s", md, tc.level)
					}
				}
				if !found {
					t.Error("no destination message")
				}
				return
			}
			if len(subs) != 0 {
				t.Fatalf("%d submissions stored, want none", len(subs))
			}
			e.deliverEvents(t)
			if st := e.fake.State(sent.SubmissionID); st != fitconnecttest.StateRejected {
				t.Fatalf("submission is %s, want rejected", st)
			}
			evs, err := e.fake.DecodedEvents(sent.CaseID, e.keys.Signing)
			if err != nil {
				t.Fatal(err)
			}
			last := evs[len(evs)-1]
			if last.Type != fitconnect.EventRejectSubmission || len(last.Payload.Problems) != 1 ||
				last.Payload.Problems[0].Type != fitconnect.ProblemInvalidSubmit || !strings.Contains(last.Payload.Problems[0].Detail, tc.reject) {
				t.Fatalf("last event %s %+v, want reject invalid-submission naming %q", last.Type, last.Payload.Problems, tc.reject)
			}
			if strings.Contains(last.Payload.Problems[0].Detail, idtokentest.Subject) {
				t.Error("the reject names the token's subject")
			}
		})
	}
}
