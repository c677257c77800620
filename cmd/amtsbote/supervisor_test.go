package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// journal records what fake parts do, in order.
type journal struct {
	mu      sync.Mutex
	stopped []string
	causes  map[string]bool // part -> stopRequested when it stopped
}

// part is a fake part named name: it runs until its context ends and then
// takes a moment to stop, or, with fail set, fails once fail is closed.
func (j *journal) part(name string, fail <-chan struct{}) part {
	return part{name: name, run: func(ctx context.Context) error {
		select {
		case <-ctx.Done():
		case <-fail:
			return errors.New("listener broke")
		}
		time.Sleep(5 * time.Millisecond) // a part that stops later would overtake it if not waited for
		j.mu.Lock()
		defer j.mu.Unlock()
		j.stopped = append(j.stopped, name)
		j.causes[name] = stopRequested(ctx)
		return nil
	}}
}

// started lists the parts in the order the supervisor started them, from its debug log.
func started(t *testing.T, logs string) []string {
	t.Helper()
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec struct{ Msg, Part string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Msg == "starting" {
			names = append(names, rec.Part)
		}
	}
	return names
}

// The shutdown order of serve, written once in services.parts, with fake
// parts: stop in this order, start in the reverse one; parts that are off
// are left out.
func TestServeShutdownOrder(t *testing.T) {
	t.Parallel()
	j := &journal{causes: map[string]bool{}}
	svc := services{
		drain:         j.part("drain", nil),
		http:          j.part("http servers", nil),
		relay:         j.part("relay", nil),
		retention:     j.part("retention", nil),
		notifications: j.part("notifications", nil),
		operations:    j.part("metrics", nil),
		pprof:         part{name: "pprof"}, // off
		store:         j.part("store", nil),
	}
	var logs bytes.Buffer // written by the supervisor's goroutine only
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	sup := &supervisor{parts: svc.parts(), started: func() { close(up) },
		logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	done := make(chan error, 1)
	go func() { done <- sup.run(ctx) }()
	<-up
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after an orderly shutdown: %v", err)
	}
	want := []string{"drain", "http servers", "relay", "retention", "notifications", "metrics", "store"}
	if !slices.Equal(j.stopped, want) {
		t.Errorf("stopped %v, want %v", j.stopped, want)
	}
	reversed := slices.Clone(want)
	slices.Reverse(reversed)
	if got := started(t, logs.String()); !slices.Equal(got, reversed) {
		t.Errorf("started %v, want %v", got, reversed)
	}
	for name, requested := range j.causes {
		if !requested {
			t.Errorf("%s did not learn that the stop was requested", name)
		}
	}
}

// A part that fails at run time stops the others in order, and run returns
// its error, naming it. The drain learns that it was no orderly stop.
func TestSupervisorPartFailure(t *testing.T) {
	t.Parallel()
	j := &journal{causes: map[string]bool{}}
	fail := make(chan struct{})
	sup := &supervisor{logger: slog.New(slog.DiscardHandler), parts: []part{
		j.part("drain", nil), j.part("intake", nil), j.part("relay", fail), j.part("store", nil),
	}, started: func() { close(fail) }}
	err := sup.run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "relay: listener broke") {
		t.Fatalf("run = %v, want the relay's failure", err)
	}
	if want := []string{"drain", "intake", "store"}; !slices.Equal(j.stopped, want) {
		t.Errorf("stopped %v, want %v", j.stopped, want)
	}
	if j.causes["drain"] {
		t.Error("the drain took a failure for a requested stop")
	}
}

// A part that fails while stopping makes run return its error, naming the
// part, after every part was stopped; it is logged as an error.
func TestSupervisorStopFailure(t *testing.T) {
	t.Parallel()
	j := &journal{causes: map[string]bool{}}
	broken := part{name: "store", run: untilStopped(func(context.Context) error { return errors.New("database is locked") })}
	var logs bytes.Buffer // written by run, in this goroutine
	ctx, cancel := context.WithCancel(context.Background())
	sup := &supervisor{parts: []part{j.part("drain", nil), broken, j.part("pprof", nil)}, started: cancel,
		logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	err := sup.run(ctx)
	if err == nil || !strings.Contains(err.Error(), "stopping store: database is locked") {
		t.Fatalf("run = %v, want the store's failure while stopping", err)
	}
	if want := []string{"drain", "pprof"}; !slices.Equal(j.stopped, want) {
		t.Errorf("stopped %v, want %v", j.stopped, want)
	}
	var rec struct{ Level, Msg, Part string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &rec); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if rec.Level != "ERROR" || rec.Part != "store" {
		t.Errorf("logged %+v, want an ERROR naming the store", rec)
	}
}

// blockingServer is an HTTP server whose handler blocks until its request's
// context ends, with shutdown timeout timeout; inside is closed once a
// request is in it.
func blockingServer(t *testing.T, timeout time.Duration) (s *httpServer, inside chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inside = make(chan struct{})
	var once sync.Once
	return &httpServer{ln: ln, timeout: timeout, srv: &http.Server{
		ReadHeaderTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(inside) })
			<-r.Context().Done()
		}),
	}}, inside
}

// get sends a request to s in the background; its answer does not matter.
func get(s *httpServer) {
	go func() {
		if resp, err := http.Get("http://" + s.Addr()); err == nil {
			resp.Body.Close()
		}
	}()
}

// The worst case of a stop stays within the budget the systemd unit
// leaves, drain + 2 × shutdown_timeout + the fixed parts: the portal and
// admin APIs, both with a request that does not finish, stop together
// within one shutdown timeout, and the relay, which uses up the other, only
// then. One after the other they would take a third timeout.
func TestServeStopWithinBudget(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	portal, inPortal := blockingServer(t, timeout)
	admin, inAdmin := blockingServer(t, timeout)
	// blocking is a fake part that uses up its whole timeout when it stops.
	blocking := func(name string) part {
		return part{name: name, run: untilStopped(func(context.Context) error { time.Sleep(timeout); return nil })}
	}
	svc := services{
		drain:         part{name: "drain", run: untilStopped(func(context.Context) error { return nil })},
		http:          httpServersPart("http servers", namedServer{"portal api", portal}, namedServer{"admin api", admin}),
		relay:         blocking("relay"),
		retention:     part{name: "retention"},
		notifications: part{name: "notifications"},
		operations:    part{name: "metrics"},
		pprof:         part{name: "pprof"},
		store:         part{name: "store", run: untilStopped(func(context.Context) error { return nil })},
	}
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	sup := &supervisor{parts: svc.parts(), started: func() { close(up) }, logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- sup.run(ctx) }()
	<-up
	get(portal)
	get(admin)
	<-inPortal
	<-inAdmin
	begun := time.Now()
	cancel()
	err := <-done
	took := time.Since(begun)
	if err == nil || !strings.Contains(err.Error(), "portal api: shutdown incomplete") || !strings.Contains(err.Error(), "admin api: shutdown incomplete") {
		t.Errorf("run = %v, want both servers' incomplete shutdowns", err)
	}
	if budget := 2*timeout + timeout*8/10; took > budget {
		t.Errorf("stop took %v, want at most %v (2 × shutdown timeout and a margin below a third)", took, budget)
	}
}

// The portal and admin APIs stop together: both listeners close while a
// request is still in flight on each, rather than the admin API's only
// after the portal API's requests finished.
func TestHTTPServersStopTogether(t *testing.T) {
	t.Parallel()
	portal, inPortal := blockingServer(t, time.Minute)
	admin, inAdmin := blockingServer(t, time.Minute)
	p := httpServersPart("http servers", namedServer{"portal api", portal}, namedServer{"admin api", admin}, namedServer{"off", nil})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.run(ctx) }()
	get(portal)
	get(admin)
	<-inPortal
	<-inAdmin
	cancel()
	for _, s := range []*httpServer{portal, admin} {
		waitClosed(t, s)
	}
	select {
	case err := <-ran:
		t.Fatalf("run returned %v while requests were in flight", err)
	default:
	}
	portal.srv.Close() // end the requests
	admin.srv.Close()
	<-ran
	if got := httpServersPart("none", namedServer{"off", nil}); got.run != nil {
		t.Error("a part of servers that are all off has a run")
	}
}

// A server that fails while serving stops the other one, and the part
// returns its error, naming it.
func TestHTTPServersFailure(t *testing.T) {
	t.Parallel()
	portal, _ := blockingServer(t, time.Second)
	admin, _ := blockingServer(t, time.Second)
	p := httpServersPart("http servers", namedServer{"portal api", portal}, namedServer{"admin api", admin})
	ran := make(chan error, 1)
	go func() { ran <- p.run(context.Background()) }()
	admin.ln.Close()
	select {
	case err := <-ran:
		if err == nil || !strings.Contains(err.Error(), "admin api: ") {
			t.Errorf("run = %v, want the admin api's failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the portal api went on serving after the admin api failed")
	}
	waitClosed(t, portal)
}
