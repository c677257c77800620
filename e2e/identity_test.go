package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken/idtokentest"
)

// identityConfig gives the portal of retryConfig an identity_token block
// trusting the provider p, tokens required.
func identityConfig(dir, key string, p *idtokentest.Provider) string {
	text := fmt.Sprintf(retryConfig, dir, config.HashKey(key))
	return text + `    identity_token:
      required: true
      audience: [` + idtokentest.Audience + `]
      pseudonym_key: {env: AMTSBOTE_TEST_PSEUDONYM_KEY}
      providers:
        - issuer: ` + idtokentest.Issuer + `
          name: BundID
          jwks_url: ` + p.URL() + `
          jwks_min_interval: 1ms
          trust_levels:
            "` + idtokentest.ACRLow + `": basic
            "` + idtokentest.ACRSubstantial + `": substantial
            "` + idtokentest.ACRHigh + `": high
`
}

// postToken posts body with the identity token tok ("" sends none).
func (p *proc) postToken(t *testing.T, key, tok string, body []byte) (int, map[string]any) {
	t.Helper()
	return p.postWith(t, key, "Amtsbote-Identity-Token", tok, body)
}

// TestVerifiedIdentity runs the binary with a portal that must send
// identity tokens of a provider whose JWKS a real server publishes: a valid
// token is delivered with the verified identity in the XML and the
// metadata; the token matrix is refused with nothing stored; a key rotated
// in at the provider is fetched on demand; nothing of a token is logged.
func TestVerifiedIdentity(t *testing.T) {
	t.Parallel()
	const key = "identity-portal-key-3c1e"
	const pseudonymKey = "e2e-pseudonym-key-0123456789abcdefghij"
	dir := t.TempDir()
	idp := idtokentest.New(t)
	metricsAddr := freeAddr(t)
	p := start(t, dir, []string{"AMTSBOTE_TEST_PSEUDONYM_KEY=" + pseudonymKey},
		"--config", writeConfig(t, dir, identityConfig(dir, key, idp)), "--metrics-listen", metricsAddr)

	// The portal claims basic; the token says high: the verified level travels.
	var body map[string]any
	if err := json.Unmarshal(demoBody(t), &body); err != nil {
		t.Fatal(err)
	}
	body["identity"] = map[string]any{"method": "servicekonto", "provider": "BundID", "trust_level": "basic",
		"postbox_reference": "urn:bundid:postfach:e2e"}
	claimsBasic, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid := idtokentest.Claims(now, idtokentest.ACRHigh)
	tokens := []string{}
	sign := func(k *idtokentest.Key, claims map[string]any) string {
		tok := k.Sign(t, claims)
		tokens = append(tokens, tok)
		return tok
	}
	code, resp := p.postToken(t, key, sign(idp.RSA, valid), claimsBasic)
	if code != http.StatusAccepted {
		t.Fatalf("valid token: %d %v", code, resp)
	}
	id := resp["id"].(string)
	st := p.awaitStatus(t, key, id, "delivered", 30*time.Second)
	wantIdentity := map[string]any{"method": "servicekonto", "provider": "BundID", "trust_level": "high",
		"postbox_reference": "urn:bundid:postfach:e2e", "verified": true, "issuer": idtokentest.Issuer}
	if got, _ := json.Marshal(st["identity"]); string(got) != mustJSON(t, wantIdentity) {
		t.Errorf("status identity = %s, want %s", got, mustJSON(t, wantIdentity))
	}

	// The delivered XML names the verified trust level (xmeld: hoch).
	msgID := destination(t, st)["message_id"].(string)
	xml, err := os.ReadFile(filepath.Join(dir, "drop", "musterstadt", "meldewesen.wohnungsgeberbestaetigung", msgID+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	ident := regexp.MustCompile(`(?s)<xmeld:identifizierung>.*</xmeld:identifizierung>`).Find(xml)
	for _, want := range []string{"<code>servicekonto</code>", "<xmeld:anbieter>BundID</xmeld:anbieter>", "<code>hoch</code>"} {
		if !bytes.Contains(ident, []byte(want)) {
			t.Errorf("delivered identifizierung lacks %s:\n%s", want, ident)
		}
	}

	// The metadata carry the verified values and the pseudonym.
	cfgPath := filepath.Join(dir, "amtsbote.yaml")
	code2, out, errOut := run(t, dir, []string{"AMTSBOTE_TEST_PSEUDONYM_KEY=" + pseudonymKey}, "", "outbox", "show", msgID, "--config", cfgPath)
	if code2 != 0 {
		t.Fatalf("outbox show: %d %s", code2, errOut)
	}
	for _, want := range []string{"identity_verified: true", "identity_trust_level: high", "identity_issuer: " + idtokentest.Issuer} {
		if !strings.Contains(out, want) {
			t.Errorf("outbox show lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`identity_subject_ref: [0-9a-f]{64}\n`).MatchString(out) {
		t.Errorf("outbox show has no 64-digit subject ref:\n%s", out)
	}

	// The matrix: each refused, nothing stored.
	foreign := idtokentest.NewKey(t, "rsa-1", jose.RS256)
	plain := demoBody(t)
	for _, tc := range []struct {
		name   string
		token  string
		body   []byte
		status int
		reason string
	}{
		{"missing", "", plain, 401, "missing"},
		{"expired", sign(idp.RSA, idtokentest.With(valid, "exp", now.Add(-time.Hour).Unix())), plain, 401, "expired"},
		{"wrong audience", sign(idp.EC, idtokentest.With(valid, "aud", "anderes-portal")), plain, 401, "audience"},
		{"wrong signature", sign(foreign, valid), plain, 401, "signature"},
		{"alg none", idtokentest.NoneToken(t, "rsa-1", valid), plain, 401, "algorithm"},
		{"trust level escalation", sign(idp.RSA, idtokentest.With(valid, "acr", idtokentest.ACRSubstantial)),
			bytes.Replace(claimsBasic, []byte(`"trust_level":"basic"`), []byte(`"trust_level":"high"`), 1), 422, ""},
	} {
		code, resp := p.postToken(t, key, tc.token, tc.body)
		if code != tc.status || (tc.reason != "" && resp["reason"] != tc.reason) {
			t.Errorf("%s: %d %v, want %d reason %q", tc.name, code, resp, tc.status, tc.reason)
		}
	}

	got := scrape(t, "http://"+metricsAddr+"/metrics")
	for _, reason := range []string{"missing", "expired", "audience", "signature", "algorithm"} {
		k := `amtsbote_identity_tokens_refused_total{portal="demo-portal",reason="` + reason + `"}`
		if got[k] != 1 {
			t.Errorf("%s = %v, want 1", k, got[k])
		}
	}

	// A key the provider rotates in is fetched when a token names it.
	rotated := idtokentest.NewKey(t, "ec-rotated", jose.ES256)
	idp.Publish(rotated)
	code, resp = p.postToken(t, key, sign(rotated, valid), plain)
	if code != http.StatusAccepted {
		t.Fatalf("token of the rotated key: %d %v", code, resp)
	}
	rotatedID := resp["id"].(string)
	p.awaitStatus(t, key, rotatedID, "delivered", 30*time.Second)

	// Exactly the two accepted submissions were stored and delivered.
	files, err := filepath.Glob(filepath.Join(dir, "drop", "musterstadt", "meldewesen.wohnungsgeberbestaetigung", "*.xml"))
	if err != nil || len(files) != 2 {
		t.Errorf("drop has %v (%v), want the two accepted submissions", files, err)
	}

	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	logs := p.stderr.String() + p.stdout.String()
	for _, tok := range tokens {
		if strings.Contains(logs, tok[strings.LastIndexByte(tok, '.')+1:]) || strings.Contains(logs, tok[:strings.IndexByte(tok, '.')+20]) {
			t.Errorf("the log contains a token")
		}
	}
	for _, s := range []string{idtokentest.Subject, pseudonymKey} {
		if strings.Contains(logs, s) {
			t.Errorf("the log contains %q", s)
		}
	}
	if !strings.Contains(logs, `"msg":"identity token refused","portal_id":"demo-portal","reason":"audience"`) {
		t.Errorf("refusals are not logged with their reason:\n%s", logs)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIdentityKeySetFileMissing: a jwks_file that cannot be read stops the
// start with a message naming it.
func TestIdentityKeySetFileMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	idp := idtokentest.New(t)
	text := strings.Replace(identityConfig(dir, "k-missing-jwks", idp), "jwks_url: "+idp.URL(), "jwks_file: "+dir+"/missing.jwks", 1)
	code, _, stderr := run(t, dir, []string{"AMTSBOTE_TEST_PSEUDONYM_KEY=0123456789abcdef0123456789abcdef"}, "",
		"serve", "--listen", freeAddr(t), "--config", writeConfig(t, dir, text))
	if code == 0 || !strings.Contains(stderr, "missing.jwks") {
		t.Errorf("serve with a missing jwks_file: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestFitConnectIdentificationReport runs the binary with a FIT-Connect
// subscriber that verifies the identity provider's token in the metadata's
// authenticationInformation: a valid token is accepted and delivered with
// the verified trust level; an expired one is rejected with
// invalid-submission and nothing is delivered.
func TestFitConnectIdentificationReport(t *testing.T) {
	t.Parallel()
	e := newFCEnv(t, false)
	idp := idtokentest.New(t)
	raw, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	block := `      identity_token:
        required: true
        audience: [` + idtokentest.Audience + `]
        pseudonym_key: fitconnect-e2e-pseudonym-key-0123456789
        providers:
          - issuer: ` + idtokentest.Issuer + `
            name: BundID
            jwks_url: ` + idp.URL() + `
            trust_levels:
              "` + idtokentest.ACRHigh + `": high
`
	text := strings.Replace(string(raw), "      poll_interval: 1s\n", "      poll_interval: 1s\n"+block, 1)
	if text == string(raw) {
		t.Fatal("the subscriber block was not found")
	}
	if err := os.WriteFile(e.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	meld, _ := fcFachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	report := func(claims map[string]any) []fitconnect.AuthenticationInformation {
		return []fitconnect.AuthenticationInformation{{Type: fitconnect.AuthIdentificationReport, Version: "1.0.0",
			Content: idp.RSA.Sign(t, claims)}}
	}
	now := time.Now()
	valid, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: fcDestIn, Service: fitconnect.ServiceType{Identifier: fcLeikaMeld},
		Data: meld, AuthenticationInformation: report(idtokentest.Claims(now, idtokentest.ACRHigh))})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: fcDestIn, Service: fitconnect.ServiceType{Identifier: fcLeikaMeld},
		Data: meld, AuthenticationInformation: report(idtokentest.With(idtokentest.Claims(now, idtokentest.ACRHigh), "exp", now.Add(-time.Hour).Unix()))})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "decided", func() bool {
		return e.fake.State(valid.SubmissionID) == fitconnecttest.StateAccepted && e.fake.State(expired.SubmissionID) == fitconnecttest.StateRejected
	})
	rejects := e.events(t, expired.CaseID, fitconnect.EventRejectSubmission)
	if len(rejects) != 1 || len(rejects[0].Payload.Problems) != 1 || rejects[0].Payload.Problems[0].Type != fitconnect.ProblemInvalidSubmit ||
		!strings.Contains(rejects[0].Payload.Problems[0].Detail, "expired") {
		t.Fatalf("reject events %+v, want one invalid-submission naming expired", rejects)
	}
	var drops []string
	waitFor(t, 30*time.Second, "delivered", func() bool {
		drops = e.drops(t, "meldewesen.wohnungsgeberbestaetigung")
		return len(drops) > 0
	})
	if len(drops) != 1 {
		t.Fatalf("delivered %v, want only the valid submission", drops)
	}
	xml, err := os.ReadFile(drops[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(xml, []byte("<code>hoch</code>")) || !bytes.Contains(xml, []byte("<xmeld:anbieter>BundID</xmeld:anbieter>")) {
		t.Errorf("delivered XML lacks the verified identity:\n%s", regexp.MustCompile(`(?s)<xmeld:identifizierung>.*</xmeld:identifizierung>`).Find(xml))
	}
}
