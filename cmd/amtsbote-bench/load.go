package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// portal posts submissions like a portal does.
type portal struct {
	client *http.Client
	url    func() string // the submissions URL; may change between calls
	key    string
	body   []byte
}

func newPortal(url func() string, key string, body []byte, conns int) *portal {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns * 2
	tr.MaxConnsPerHost = 0
	return &portal{client: &http.Client{Transport: tr, Timeout: 60 * time.Second}, url: url, key: key, body: body}
}

// answer is the outcome of one POST.
type answer struct {
	status     int
	id         string // submission id of a 202
	retryAfter string
	err        error // transport error
}

// post sends one submission under the Idempotency-Key idem.
func (p *portal) post(ctx context.Context, idem string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url(), bytes.NewReader(p.body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+p.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idem)
	resp, err := p.client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), err: err}
	if err == nil && resp.StatusCode == http.StatusAccepted {
		var body struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &body); err != nil || body.ID == "" {
			a.err = fmt.Errorf("202 without a submission id: %q", raw)
		}
		a.id = body.ID
	}
	return a
}

// sample is one submission as the load driver saw it.
type sample struct {
	intended time.Time // when it was due to be sent (fixed rate) or was sent
	answered time.Time
	answer
}

// closedLoop sends n submissions from c clients, each sending its next one as
// soon as the previous was answered.
func closedLoop(ctx context.Context, p *portal, prefix string, n, c int) []sample {
	out := make([]sample, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				sent := time.Now()
				a := p.post(ctx, fmt.Sprintf("%s-%d", prefix, i))
				out[i] = sample{intended: sent, answered: time.Now(), answer: a}
			}
		}()
	}
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return out[:n]
}

// fixedRate sends rate submissions per second for d, through at most c clients.
// Latency counts from the moment a submission was due, so a backlog shows up in
// it (no coordinated omission).
func fixedRate(ctx context.Context, p *portal, prefix string, rate float64, d time.Duration, c int) []sample {
	n := int(rate * d.Seconds())
	out := make([]sample, n)
	type job struct {
		i   int
		due time.Time
	}
	work := make(chan job, n)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				a := p.post(ctx, fmt.Sprintf("%s-%d", prefix, j.i))
				out[j.i] = sample{intended: j.due, answered: time.Now(), answer: a}
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			select {
			case <-time.After(w):
			case <-ctx.Done():
			}
		}
		work <- job{i: i, due: due}
	}
	close(work)
	wg.Wait()
	return out
}
