package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// fairIntakeConfig is retryConfig with a second portal, portal-b, whose key
// is keyB; the first portal (demo-portal) has keyA. The intake settings are
// the defaults (server.intake).
func fairIntakeConfig(dir, keyA, keyB string) string {
	return fmt.Sprintf(retryConfig, dir, config.HashKey(keyA)) + fmt.Sprintf(`  - id: portal-b
    key_hash: %s
    tenants: [musterstadt]
    procedures: [meldewesen.wohnungsgeberbestaetigung]
`, config.HashKey(keyB))
}

// attackerTally counts how portal A's stalled uploads ended.
type attackerTally struct {
	mu     sync.Mutex
	status map[int]int // by status of the answer; 0: closed without one
}

func (a *attackerTally) add(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status[status]++
}

func (a *attackerTally) snapshot() map[int]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[int]int, len(a.status))
	for k, v := range a.status {
		out[k] = v
	}
	return out
}

// TestFairIntake runs the binary with the default intake settings while
// portal A keeps 50 uploads open that announce 10 MiB each and send
// nothing (each reconnects as soon as it is answered or cut), and one
// chunked upload that sends one byte per second. Portal B's submissions,
// sent meanwhile, must all get 202. A's stalled uploads must be cut (408)
// or refused (429: A's share of the uploads is taken), never hang. The
// latencies of B are logged, not asserted: the machine's load varies.
func TestFairIntake(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const keyA, keyB = "portal-a-key", "portal-b-key"
	p := start(t, dir, nil, "--config", writeConfig(t, dir, fairIntakeConfig(dir, keyA, keyB)))

	var stop atomic.Bool
	var wg sync.WaitGroup
	tally := &attackerTally{status: map[int]int{}}
	stalled := func() {
		defer wg.Done()
		for !stop.Load() {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				continue
			}
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			head := fmt.Sprintf("POST /v1/submissions HTTP/1.1\r\nHost: amtsbote.test\r\nAuthorization: Bearer %s\r\n"+
				"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", keyA, 10<<20)
			if _, err := io.WriteString(c, head); err != nil {
				c.Close()
				continue
			}
			status := 0
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			tally.add(status)
			c.Close()
		}
	}
	for range 50 {
		wg.Add(1)
		go stalled()
	}
	// One chunked upload trickling one byte per second, reconnecting too.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				continue
			}
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			head := "POST /v1/submissions HTTP/1.1\r\nHost: amtsbote.test\r\nAuthorization: Bearer " + keyA +
				"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
			answered := make(chan int, 1)
			go func() {
				status := 0
				if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
					status = resp.StatusCode
					resp.Body.Close()
				}
				answered <- status
			}()
			_, err = io.WriteString(c, head)
		trickle:
			for err == nil && !stop.Load() {
				select {
				case st := <-answered:
					tally.add(st)
					answered <- st
					break trickle
				case <-time.After(time.Second):
					_, err = io.WriteString(c, "1\r\n \r\n")
				}
			}
			c.Close()
			<-answered
		}
	}()
	time.Sleep(500 * time.Millisecond) // the attack is in place

	// Portal B: 4 clients submit for 15 s, long enough for A's uploads to
	// be cut (after the 10 s grace) and to reconnect.
	sub := newSubmitter(keyB, demoBody(t), 4)
	var mu sync.Mutex
	var latencies []time.Duration
	var failures []string
	deadline := time.Now().Add(15 * time.Second)
	var clients sync.WaitGroup
	for c := range 4 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				began := time.Now()
				status, _, _, err := sub.once(p.addr, fmt.Sprintf("b-%d-%d", c, i))
				took := time.Since(began)
				mu.Lock()
				latencies = append(latencies, took)
				if err != nil || status != http.StatusAccepted {
					failures = append(failures, fmt.Sprintf("status %d, error %v", status, err))
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	clients.Wait()
	stop.Store(true)
	wg.Wait()

	for _, f := range failures[:min(len(failures), 10)] {
		t.Errorf("portal B during the attack: %s; want 202", f)
	}
	if len(failures) > 10 {
		t.Errorf("... and %d more failures of portal B", len(failures)-10)
	}
	if len(latencies) < 20 {
		t.Fatalf("portal B sent only %d submissions in 15 s", len(latencies))
	}
	slices.Sort(latencies)
	pct := func(q float64) time.Duration { return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))] }
	t.Logf("portal B under attack: %d submissions, all 202: %v; latency p50 %v, p99 %v, max %v",
		len(latencies), len(failures) == 0, pct(0.50), pct(0.99), latencies[len(latencies)-1])

	// A's uploads never hang: each is cut for its rate (408), or refused
	// (429) when it waited for one of A's upload slots in vain. Each of
	// the 51 was answered at least once.
	got := tally.snapshot()
	t.Logf("portal A's stalled uploads ended: %v (by status; 0: closed without an answer)", got)
	if got[http.StatusRequestTimeout] == 0 {
		t.Errorf("no stalled upload of portal A was cut with 408: %v", got)
	}
	if n := got[http.StatusRequestTimeout] + got[http.StatusTooManyRequests]; n < 51 {
		t.Errorf("%d uploads of portal A answered 408 or 429, want at least 51: %v", n, got)
	}
	for status, n := range got {
		if status != http.StatusRequestTimeout && status != http.StatusTooManyRequests && status != 0 {
			t.Errorf("%d uploads of portal A answered %d, want 408 or 429", n, status)
		}
	}
	if strings.Contains(p.stderr.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged during the attack:\n%s", p.stderr.String())
	}
}
