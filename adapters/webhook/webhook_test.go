package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/webhook"
	"github.com/amtsbote/amtsbote/outbox"
)

var secret = []byte("0123456789abcdef0123456789abcdef-portal")

// verify is the receiver's check, written independently of the package:
// HMAC-SHA256 over "timestamp.body", hex, "v1=" prefix, at most 5 minutes of skew.
func verify(r *http.Request, body []byte, now time.Time) bool {
	ts := r.Header.Get("Amtsbote-Timestamp")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(secs, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	io.WriteString(mac, ts+"."+string(body))
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(r.Header.Get("Amtsbote-Signature")), []byte(want))
}

type request struct {
	header http.Header
	body   []byte
	valid  bool
}

// receiver records every request and answers with status (and Retry-After).
func receiver(t *testing.T, status int, retryAfter string) (*httptest.Server, func() []request) {
	var mu sync.Mutex
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, request{header: r.Header.Clone(), body: body, valid: verify(r, body, time.Now())})
		mu.Unlock()
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		io.WriteString(w, "Antwort mit Größmann")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), got...)
	}
}

func newDeliverer(t *testing.T, url string, now func() time.Time) *webhook.Deliverer {
	t.Helper()
	d, err := webhook.New(webhook.Config{URL: url, Secret: secret, Portal: "buergerportal", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func event(id string) outbox.Delivery {
	return outbox.Delivery{MessageID: id, SubmissionID: "s-1", Topic: "~portal/buergerportal/callback", Attempt: 1,
		Payload: []byte(`{"type":"submission.delivered","submission_id":"s-1"}`)}
}

func TestDeliverSigned(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t, http.StatusNoContent, "")
	clock := time.Now()
	d := newDeliverer(t, srv.URL+"/hooks/amtsbote", func() time.Time { return clock })
	dl := event("e-1")
	if err := d.Deliver(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second) // a retry is signed with its own time
	dl.Attempt = 2
	if err := d.Deliver(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if !r.valid {
			t.Errorf("request %d: signature does not verify: %v", i, r.header)
		}
		if string(r.body) != string(dl.Payload) {
			t.Errorf("request %d: body %q", i, r.body)
		}
		if r.header.Get("Amtsbote-Event-Id") != "e-1" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: headers %v", i, r.header)
		}
	}
	if reqs[0].header.Get("Amtsbote-Timestamp") == reqs[1].header.Get("Amtsbote-Timestamp") {
		t.Error("both attempts carry the same timestamp")
	}
}

func TestDeliverStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status     int
		retryAfter string
		permanent  bool
		wantDelay  time.Duration
	}{
		{status: 400, permanent: true},
		{status: 401, permanent: true},
		{status: 404, permanent: true},
		{status: 301, permanent: true},
		{status: 408},
		{status: 429, retryAfter: "7", wantDelay: 7 * time.Second},
		{status: 500},
		{status: 503, retryAfter: "bogus"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			t.Parallel()
			srv, _ := receiver(t, tt.status, tt.retryAfter)
			err := newDeliverer(t, srv.URL, nil).Deliver(t.Context(), event("e"))
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			if errors.Is(err, outbox.ErrPermanent) != tt.permanent {
				t.Errorf("permanent = %v, want %v: %v", !tt.permanent, tt.permanent, err)
			}
			var ra outbox.RetryAfterError
			if errors.As(err, &ra) != (tt.wantDelay > 0) || (tt.wantDelay > 0 && ra.RetryAfter() != tt.wantDelay) {
				t.Errorf("retry after: %v", err)
			}
			if strings.Contains(err.Error(), "Größmann") {
				t.Errorf("error quotes the receiver's body: %v", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"a":1}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := webhook.Sign(secret, ts, body)
	if err := webhook.Verify(secret, ts, sig, body, now.Add(4*time.Minute)); err != nil {
		t.Errorf("Verify within skew: %v", err)
	}
	if err := webhook.Verify(secret, ts, "v1=00,"+sig, body, now); err != nil {
		t.Errorf("Verify with a rotated signature list: %v", err)
	}
	for name, err := range map[string]error{
		"skew":      webhook.Verify(secret, ts, sig, body, now.Add(6*time.Minute)),
		"future":    webhook.Verify(secret, ts, sig, body, now.Add(-6*time.Minute)),
		"body":      webhook.Verify(secret, ts, sig, []byte(`{"a":2}`), now),
		"secret":    webhook.Verify([]byte("other"), ts, sig, body, now),
		"malformed": webhook.Verify(secret, "x", sig, body, now),
	} {
		if err == nil {
			t.Errorf("%s: Verify accepted", name)
		}
	}
}

func TestAdapterContract(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (outbox.Deliverer, func() []adaptertest.Received) {
			srv, got := receiver(t, http.StatusOK, "")
			return newDeliverer(t, srv.URL, nil), func() []adaptertest.Received {
				var out []adaptertest.Received
				for _, r := range got() {
					if r.valid {
						out = append(out, adaptertest.Received{MessageID: r.header.Get("Amtsbote-Event-Id"), Body: r.body})
					}
				}
				return out
			}
		},
		NewStalled: func(t *testing.T) outbox.Deliverer {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(func() { close(release); srv.Close() })
			d, err := webhook.New(webhook.Config{URL: srv.URL, Secret: secret, Portal: "p", Timeout: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
	})
}
