package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
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
		portal:        j.part("portal", nil),
		admin:         part{name: "admin"}, // off
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
	want := []string{"drain", "portal", "relay", "retention", "notifications", "metrics", "store"}
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
