package fitconnect_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestCallback: a NewSubmissions callback wakes the subscriber only with
// a valid HMAC and a fresh timestamp; otherwise 401 and nothing fetched.
func TestCallback(t *testing.T) {
	const cbSecret = "callback-secret-0123456789abcdef0123"
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"` + fitconnect.CallbackNewSubmissions + `","submissions":[]}`)
	for _, tc := range []struct {
		name   string
		ts     string
		mac    string
		status int
	}{
		{"valid", strconv.FormatInt(now.Unix(), 10), fitconnect.CallbackMAC([]byte(cbSecret), strconv.FormatInt(now.Unix(), 10), body), http.StatusOK},
		{"bad hmac", strconv.FormatInt(now.Unix(), 10), fitconnect.CallbackMAC([]byte("other"), strconv.FormatInt(now.Unix(), 10), body), http.StatusUnauthorized},
		{"stale", strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), fitconnect.CallbackMAC([]byte(cbSecret), strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), body), http.StatusUnauthorized},
		{"future", strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), fitconnect.CallbackMAC([]byte(cbSecret), strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), body), http.StatusUnauthorized},
		{"no timestamp", "", fitconnect.CallbackMAC([]byte(cbSecret), "", body), http.StatusUnauthorized},
		{"no hmac", strconv.FormatInt(now.Unix(), 10), "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var woken atomic.Int32
			obs := &countingObserver{counts: map[string]int{}}
			h := fitconnect.CallbackHandler([]byte(cbSecret), func() { woken.Add(1) }, obs, "musterstadt", func() time.Time { return now })
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header.Set(fitconnect.HeaderCallbackTimestamp, tc.ts)
			req.Header.Set(fitconnect.HeaderCallbackAuthentication, tc.mac)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			wantWoken := int32(0)
			if tc.status == http.StatusOK {
				wantWoken = 1
			} else if obs.get("error/callback") != 1 {
				t.Errorf("callback error not counted: %v", obs.counts)
			}
			if woken.Load() != wantWoken {
				t.Errorf("woken %d times, want %d", woken.Load(), wantWoken)
			}
		})
	}
}

// TestCallbackWakesRun: the fake's NewSubmissions callback makes a
// subscriber with an hour's poll interval pick the submission up at once.
func TestCallbackWakesRun(t *testing.T) {
	e := newEnv(t)
	const cbSecret = "callback-secret-0123456789abcdef0123"
	cb := httptest.NewServer(fitconnect.CallbackHandler([]byte(cbSecret), e.sub.Wake, nil, "musterstadt", nil))
	t.Cleanup(cb.Close)
	e.fake.SetCallback(destID, cb.URL, cbSecret)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.sub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, func() bool { return e.fake.Requests("GET /v1/submissions") >= 1 }) // the first poll
	meld, _ := fachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	if _, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld}, Data: meld}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(e.eventMessages(t)) == 1 })
	if errs := e.fake.CallbackErrors(); len(errs) > 0 {
		t.Fatal(errs)
	}
}

// TestFaults: an expired token is replaced once, 5xx answers and timeouts
// fail the poll (Run retries it with backoff), and after them the
// submission is stored once.
func TestFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	meld, _ := fachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	if _, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld}, Data: meld}); err != nil {
		t.Fatal(err)
	}

	// An expired token: one more token, the poll succeeds.
	if err := e.sub.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	e.fake.ExpireTokens()
	before := e.fake.TokensIssued()
	if err := e.sub.Poll(ctx); err != nil {
		t.Fatalf("poll after the token expired: %v", err)
	}
	if got := e.fake.TokensIssued() - before; got != 1 {
		t.Errorf("%d new tokens after expiry, want 1", got)
	}

	// 5xx and a timeout on the fetch: errors, counted, nothing stored.
	e2 := newEnv(t)
	if _, err := e2.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld}, Data: meld}); err != nil {
		t.Fatal(err)
	}
	e2.fake.Inject(fitconnecttest.Fault{Method: http.MethodGet, Path: "/v1/submissions/", Status: http.StatusServiceUnavailable, Count: 1})
	err := e2.sub.Poll(ctx)
	var ae *fitconnect.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || !fitconnect.IsTemporary(err) {
		t.Fatalf("poll with 503: %v, want a temporary APIError", err)
	}
	e2.fake.Inject(fitconnecttest.Fault{Method: http.MethodGet, Path: "/v1/submissions/", Delay: 3 * time.Second, Count: 1})
	if err := e2.sub.Poll(ctx); err == nil || !fitconnect.IsTemporary(err) {
		t.Fatalf("poll with a timeout: %v, want a temporary error", err)
	}
	if e2.obs.get("error/api") != 2 || len(e2.eventMessages(t)) != 0 {
		t.Fatalf("counts %v, events %d; want 2 api errors and no event", e2.obs.counts, len(e2.eventMessages(t)))
	}
	// Run retries with backoff (1s first) and gets it.
	e2.fake.Inject(fitconnecttest.Fault{Path: "/v1/submissions", Status: http.StatusBadGateway, Count: 1})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); e2.sub.Run(rctx) }()
	waitUntil(t, func() bool { return len(e2.eventMessages(t)) == 1 })
	cancel()
	<-done
	subs, _, err := e2.store.ListSubmissions(ctx, outbox.SubmissionFilter{PortalID: fitconnect.PortalID("musterstadt")})
	if err != nil || len(subs) != 1 {
		t.Fatalf("%d submissions (%v), want 1", len(subs), err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTokenRefreshedBeforeExpiry: a token that expires within RefreshBefore
// is replaced before it is used again, not after the API refused it.
func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	fake, err := fitconnecttest.New()
	if err != nil {
		t.Fatal(err)
	}
	fake.TokenTTL = 61 * time.Second
	fake.AddClient(clientID, secret)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cl, err := fitconnect.NewClient(fitconnect.ClientConfig{SubmissionAPI: srv.URL, TokenURL: srv.URL + "/token",
		ClientID: clientID, ClientSecret: secret, RefreshBefore: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cl.SubmissionsForPickup(ctx, destID); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SubmissionsForPickup(ctx, destID); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokensIssued(); got != 1 {
		t.Fatalf("%d tokens for two requests within the token's life, want 1", got)
	}
	time.Sleep(1100 * time.Millisecond) // now within a minute of the expiry
	if _, err := cl.SubmissionsForPickup(ctx, destID); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokensIssued(); got != 2 {
		t.Fatalf("%d tokens, want a second one before the first expired", got)
	}
	if got := fake.Requests("GET /v1/submissions"); got != 3 {
		t.Errorf("%d list requests, want 3 (none refused and repeated)", got)
	}
}
