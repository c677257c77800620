package httppost_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// flakyReceiver answers 500 to 30% and hangs past the client's timeout on
// 10% of the requests, decided per request by a seeded generator: the same
// sequence of requests meets the same sequence of failures in every run.
type flakyReceiver struct {
	release chan struct{}

	mu       sync.Mutex
	rng      *rand.Rand
	requests int
	failed   int
	hung     int
	received map[string][]byte // message id -> body, of the accepted requests
}

func (f *flakyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	x := f.rng.IntN(10)
	switch {
	case x < 3:
		f.failed++
		f.mu.Unlock()
		http.Error(w, "vorübergehend gestört", http.StatusInternalServerError)
		return
	case x == 3:
		f.hung++
		f.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	}
	f.received[r.Header.Get(httppost.HeaderMessageID)] = body
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func TestFlakyReceiver(t *testing.T) {
	t.Parallel()
	f := &flakyReceiver{
		release:  make(chan struct{}),
		rng:      rand.New(rand.NewPCG(2026, 11)),
		received: make(map[string][]byte),
	}
	srv := serve(t, f)
	t.Cleanup(func() { close(f.release) }) // before srv.Close
	d := newDeliverer(t, config.HTTP{URL: srv.URL, Timeout: config.Duration{Duration: 250 * time.Millisecond}})

	const messages, maxAttempts = 100, 10
	sent := make(map[string][]byte, messages)
	worst := 0
	// One message after the other, as an ordered destination delivers: the
	// receiver's generator then meets the same requests in every run.
	for i := range messages {
		dl := delivery(uuid.NewString(), fmt.Appendf(nil, "<nachricht nummer=%q/>", strconv.Itoa(i)))
		sent[dl.MessageID] = dl.Payload
		for attempt := 1; ; attempt++ {
			dl.Attempt = attempt
			err := d.Deliver(t.Context(), dl)
			if err == nil {
				worst = max(worst, attempt)
				break
			}
			if errors.Is(err, outbox.ErrPermanent) {
				t.Fatalf("message %d, attempt %d: permanent error %v", i, attempt, err)
			}
			if attempt == maxAttempts {
				t.Fatalf("message %d not delivered in %d attempts: %v", i, maxAttempts, err)
			}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) != messages {
		t.Errorf("receiver accepted %d messages, want %d", len(f.received), messages)
	}
	for id, body := range sent {
		if got, ok := f.received[id]; !ok || string(got) != string(body) {
			t.Errorf("message %s: received %q (%v), want %q", id, got, ok, body)
		}
	}
	if f.failed == 0 || f.hung == 0 {
		t.Errorf("the receiver failed %d and hung %d times: the test did not exercise retries", f.failed, f.hung)
	}
	t.Logf("%d requests for %d messages: %d answered 500, %d hung; at most %d attempts for one message",
		f.requests, messages, f.failed, f.hung, worst)
}
