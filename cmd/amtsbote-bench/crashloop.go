package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// crashLease is the relay lease in the crash loop: a message whose delivery a
// kill interrupted is delivered again at most this long after the kill.
const crashLease = 10 * time.Second

// crashLoop sends o.n submissions from o.c clients while the gateway is killed
// with SIGKILL at random intervals between o.killMin and o.killMax and
// restarted. Clients retry on connection errors and 5xx with the same
// Idempotency-Key until they get a 202. It reports lost submissions (a 202 but
// never delivered), effects after deduplication by message id, duplicate
// deliveries and the time to drain after the load.
func crashLoop(ctx context.Context, o options, store, dir string, body []byte, log io.Writer) (report, error) {
	title := fmt.Sprintf("crash loop, %s, %d submissions, %d clients, SIGKILL every %v-%v", store, o.n, o.c, o.killMin, o.killMax)
	r := report{Title: title, Runs: 1}
	s, err := newSetup(ctx, o, store, dir, crashLease)
	if err != nil {
		return r, err
	}
	defer s.cleanup()
	p := newPortal(func() string { return "http://" + s.gw.addr + "/v1/submissions" }, portalKey, body, o.c)
	r.add("load average (1 min) at start", "", loadAverage())

	var retries, rejected atomic.Int64
	ids := make([]string, o.n)
	work := make(chan int)
	var wg sync.WaitGroup
	loadCtx, cancelLoad := context.WithTimeout(ctx, 30*time.Minute)
	defer cancelLoad()
	for range o.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				key := fmt.Sprintf("crash-%d", i)
				for loadCtx.Err() == nil {
					a := p.post(loadCtx, key)
					if a.err == nil && a.status == http.StatusAccepted {
						ids[i] = a.id
						break
					}
					if a.err == nil && a.status < 500 {
						rejected.Add(1) // a 4xx: the gateway refused a valid submission
						fmt.Fprintf(log, "submission %d: status %d\n", i, a.status)
						break
					}
					retries.Add(1)
					time.Sleep(time.Duration(50+rand.IntN(100)) * time.Millisecond)
				}
			}
		}()
	}

	// The killer: SIGKILL at random intervals, restart at once, until the load ends.
	loadDone := make(chan struct{})
	var kills int
	var lastKill time.Time
	var killErr error
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for {
			wait := o.killMin + time.Duration(rand.Int64N(int64(o.killMax-o.killMin)+1))
			select {
			case <-loadDone:
				return
			case <-time.After(wait):
			}
			if err := s.gw.signal(syscall.SIGKILL); err != nil {
				killErr = err
				return
			}
			kills++
			lastKill = time.Now()
			if err := s.gw.start(ctx); err != nil {
				killErr = err
				return
			}
		}
	}()

	start := time.Now()
	fmt.Fprintf(log, "%s: load ...\n", title)
	for i := range o.n {
		select {
		case work <- i:
		case <-loadCtx.Done():
		}
	}
	close(work)
	wg.Wait()
	close(loadDone)
	<-killerDone
	loadEnd := time.Now()
	if killErr != nil {
		return r, fmt.Errorf("kill and restart: %w", killErr)
	}
	if err := loadCtx.Err(); err != nil {
		return r, fmt.Errorf("load did not finish: %w", err)
	}
	var accepted []string
	for _, id := range ids {
		if id != "" {
			accepted = append(accepted, id)
		}
	}
	fmt.Fprintf(log, "%s: %d accepted, %d kills; draining ...\n", title, len(accepted), kills)
	missing := s.recv.waitFor(accepted, 3*crashLease+2*time.Minute)
	drain := time.Since(loadEnd)
	// Redeliveries of messages whose completion a kill lost arrive up to a lease
	// after that kill: wait for them before counting duplicates.
	if settle := time.Until(lastKill.Add(crashLease + 2*time.Second)); settle > 0 {
		time.Sleep(settle)
	}
	eff := s.recv.effects(accepted)

	r.add("submissions", "", float64(o.n))
	r.add("accepted (202)", "", float64(len(accepted)))
	r.add("rejected (4xx, must be 0)", "", float64(rejected.Load()))
	r.add("kills (SIGKILL)", "", float64(kills))
	r.add("client retries", "", float64(retries.Load()))
	r.add("lost (202, never delivered; must be 0)", "", float64(missing))
	r.add("effects after dedup by message id", "", float64(eff.effects))
	r.add("submissions without exactly one message id (must be 0)", "", float64(eff.notOne))
	r.add("deliveries of unknown submissions (must be 0)", "", float64(eff.unknown))
	r.add("deliveries", "", float64(eff.deliveries))
	r.add("duplicate deliveries", "", float64(eff.deliveries-eff.effects-eff.unknown))
	r.add("load time", "s", loadEnd.Sub(start).Seconds())
	r.add("drain time after the load", "s", drain.Seconds())
	if missing > 0 || eff.notOne > 0 || eff.unknown > 0 || rejected.Load() > 0 || len(accepted) != o.n {
		r.Notes = append(r.Notes, "FAILED: lost, unexpected or rejected submissions (see figures)")
	} else {
		r.Notes = append(r.Notes, "ok: every 202 delivered, exactly one effect per message after deduplication")
	}
	return r, nil
}
