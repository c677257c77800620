package main

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// receiver is the Fachverfahren stand-in: it answers 200 to every delivery and
// records, per message id, how often it arrived and the first arrival time, and
// which submission each message belongs to.
type receiver struct {
	srv *http.Server
	url string

	mu        sync.Mutex
	first     map[string]time.Time // submission id -> first arrival of its message
	messages  map[string]int       // message id -> deliveries
	subOf     map[string]string    // message id -> submission id
	bodyBytes int                  // size of the last body
	total     int
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{
		url:      "http://" + ln.Addr().String() + "/eingang",
		first:    map[string]time.Time{},
		messages: map[string]int{},
		subOf:    map[string]string{},
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// ServeHTTP stores the arrival, then answers 200.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n, err := io.Copy(io.Discard, req.Body)
	now := time.Now()
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	mid := req.Header.Get("X-Amtsbote-Message-Id")
	sid := req.Header.Get("X-Amtsbote-Submission-Id")
	r.mu.Lock()
	r.total++
	r.bodyBytes = int(n)
	r.messages[mid]++
	r.subOf[mid] = sid
	if _, ok := r.first[sid]; !ok {
		r.first[sid] = now
	}
	r.mu.Unlock()
}

// arrival returns the first arrival of the submission's message.
func (r *receiver) arrival(submissionID string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[submissionID]
	return t, ok
}

// counts reports the deliveries received, the distinct message ids among them
// and the size of the last body.
func (r *receiver) counts() (total, distinct, bodyBytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total, len(r.messages), r.bodyBytes
}

// reset forgets everything received.
func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.first, r.messages, r.subOf = map[string]time.Time{}, map[string]int{}, map[string]string{}
	r.total = 0
}

// waitFor waits until every id in ids has arrived, or until the timeout.
func (r *receiver) waitFor(ids []string, timeout time.Duration) (missing int) {
	deadline := time.Now().Add(timeout)
	for {
		missing = 0
		r.mu.Lock()
		for _, id := range ids {
			if _, ok := r.first[id]; !ok {
				missing++
			}
		}
		r.mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			return missing
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *receiver) close() error { return r.srv.Close() }

// effects is what deliveries amount to once deduplicated by message id.
type effects struct {
	deliveries int // requests received for the accepted submissions and others
	effects    int // distinct message ids of accepted submissions
	notOne     int // accepted submissions with no or several message ids
	unknown    int // deliveries of submissions not among the accepted
}

// effects deduplicates the deliveries of the accepted submissions by message id.
func (r *receiver) effects(accepted []string) effects {
	r.mu.Lock()
	defer r.mu.Unlock()
	want := make(map[string]int, len(accepted))
	for _, id := range accepted {
		want[id] = 0
	}
	e := effects{deliveries: r.total}
	for mid, n := range r.messages {
		sid := r.subOf[mid]
		if _, ok := want[sid]; !ok {
			e.unknown += n
			continue
		}
		want[sid]++
		e.effects++
	}
	for _, n := range want {
		if n != 1 {
			e.notOne++
		}
	}
	return e
}
