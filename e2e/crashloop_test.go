package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// deliveryLog is a receiving Fachverfahren: it answers 200 and records every
// delivery's message id and the submission it belongs to.
type deliveryLog struct {
	mu         sync.Mutex
	deliveries int
	messages   map[string]int    // message id -> deliveries
	subOf      map[string]string // message id -> submission id
	arrived    map[string]bool   // submission id -> delivered at least once
}

func newDeliveryLog(t *testing.T) (*deliveryLog, *httptest.Server) {
	l := &deliveryLog{messages: map[string]int{}, subOf: map[string]string{}, arrived: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		mid, sid := r.Header.Get("X-Amtsbote-Message-Id"), r.Header.Get("X-Amtsbote-Submission-Id")
		l.mu.Lock()
		defer l.mu.Unlock()
		l.deliveries++
		l.messages[mid]++
		l.subOf[mid] = sid
		l.arrived[sid] = true
	}))
	t.Cleanup(srv.Close)
	return l, srv
}

// missing counts the submissions in ids that never arrived.
func (l *deliveryLog) missing(ids []string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, id := range ids {
		if !l.arrived[id] {
			n++
		}
	}
	return n
}

// dedup reports, after deduplication by message id: the submissions in ids
// that do not have exactly one message, the deliveries of submissions not in
// ids, and the duplicate deliveries.
func (l *deliveryLog) dedup(ids []string) (notOne, unknown, duplicates int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	per := make(map[string]int, len(ids))
	for _, id := range ids {
		per[id] = 0
	}
	for mid, n := range l.messages {
		sid := l.subOf[mid]
		if _, ok := per[sid]; !ok {
			unknown += n
			continue
		}
		per[sid]++
		duplicates += n - 1
	}
	for _, n := range per {
		if n != 1 {
			notOne++
		}
	}
	return notOne, unknown, duplicates
}

// submitter posts like a portal that retries: on a connection error or a 5xx it
// sends the same request with the same Idempotency-Key again, until a 202.
type submitter struct {
	client *http.Client
	key    string
	body   []byte
}

func newSubmitter(key string, body []byte, clients int) *submitter {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	return &submitter{client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, key: key, body: body}
}

// once sends one POST to addr; err is a transport error.
func (s *submitter) once(addr, idem string) (status int, id, retryAfter string, err error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/submissions", bytes.NewReader(s.body))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idem)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", "", err
	}
	if resp.StatusCode == http.StatusAccepted {
		var b struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || b.ID == "" {
			return resp.StatusCode, "", "", fmt.Errorf("202 without an id: %q", raw)
		}
		id = b.ID
	}
	return resp.StatusCode, id, resp.Header.Get("Retry-After"), nil
}

// TestCrashLoop sends 600 submissions from 20 clients while the gateway is
// killed with SIGKILL every 0.5-2 s and restarted at once. Clients retry with
// their Idempotency-Key until they get a 202. Every 202 must be delivered, and
// after deduplication by message id each submission has exactly one effect.
// The bench harness runs the full version: amtsbote-bench -crashloop.
func TestCrashLoop(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			crashLoop(t, store)
		})
	}
}

func crashLoop(t *testing.T, store string) {
	const total, clients = 600, 20
	dir := t.TempDir()
	received, receiver := newDeliveryLog(t)
	text := httpConfig(dir, "crash-key", receiver.URL, "9s") // the lease fits three attempts
	if store == "postgres" {
		url := pgtest.NewDatabase(t)
		text = strings.Replace(text, "database:\n  path: "+dir+"/amtsbote.db", "database:\n  url: "+url, 1)
	}
	cfg := writeConfig(t, dir, text)
	p := start(t, dir, nil, "--config", cfg)
	var addr atomic.Value
	addr.Store(p.addr)

	sub := newSubmitter("crash-key", demoBody(t), clients)
	ids := make([]string, total)
	var retries atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	deadline := time.Now().Add(5 * time.Minute)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				key := fmt.Sprintf("crash-%d", i)
				for ids[i] == "" && time.Now().Before(deadline) {
					status, id, _, err := sub.once(addr.Load().(string), key)
					switch {
					case err == nil && status == http.StatusAccepted:
						ids[i] = id
					case err == nil && status < 500:
						t.Errorf("submission %d: status %d, want 202 (or 5xx during a restart)", i, status)
						ids[i] = "rejected"
					default:
						retries.Add(1)
						time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
					}
				}
				// Paced, so that the load spans several kills.
				time.Sleep(time.Duration(100+rand.IntN(100)) * time.Millisecond)
			}
		}()
	}
	loadDone := make(chan struct{})
	go func() {
		for i := range total {
			work <- i
		}
		close(work)
		wg.Wait()
		close(loadDone)
	}()

	// Kill and restart in the test goroutine until the load is done.
	kills := 0
	var lastKill time.Time
	for running := true; running; {
		select {
		case <-loadDone:
			running = false
		case <-time.After(500*time.Millisecond + rand.N(1500*time.Millisecond)):
			if got := p.stop(t, syscall.SIGKILL); got != -1 {
				t.Fatalf("SIGKILL: exit code %d", got)
			}
			kills++
			lastKill = time.Now()
			p = start(t, dir, nil, "--config", cfg)
			addr.Store(p.addr)
		}
	}
	loadEnd := time.Now()
	if kills == 0 {
		t.Fatal("the load ended before the first kill")
	}
	var accepted []string
	for i, id := range ids {
		if id == "" {
			t.Fatalf("submission %d got no 202 within the deadline", i)
		}
		if id != "rejected" {
			accepted = append(accepted, id)
		}
	}

	waitFor(t, 2*time.Minute, "every 202 delivered", func() bool { return received.missing(accepted) == 0 })
	drain := time.Since(loadEnd)
	// A message delivered just before a kill, but not recorded as delivered,
	// comes again when its lease (9s) runs out: wait for those before counting.
	time.Sleep(time.Until(lastKill.Add(10 * time.Second)))
	notOne, unknown, duplicates := received.dedup(accepted)
	if notOne != 0 || unknown != 0 {
		t.Errorf("after deduplication by message id: %d submissions without exactly one message, %d deliveries of unknown submissions", notOne, unknown)
	}
	t.Logf("%s: %d submissions, %d accepted, %d kills, %d client retries, lost 0, %d duplicate deliveries, drained %v after the load",
		store, total, len(accepted), kills, retries.Load(), duplicates, drain.Round(time.Millisecond))
	if got := p.stop(t, syscall.SIGTERM); got != 0 {
		t.Errorf("exit code after SIGTERM: %d", got)
	}
}
