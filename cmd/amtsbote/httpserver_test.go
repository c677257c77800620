package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An httpServer's Run serves until its context ends; then the listener
// closes and a request in flight still gets its answer.
func TestHTTPServerFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inside, release := make(chan struct{}), make(chan struct{})
	s := &httpServer{ln: ln, timeout: 10 * time.Second, srv: &http.Server{
		ReadHeaderTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(inside)
			<-release
			io.WriteString(w, "done")
		}),
	}}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr())
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-inside
	cancel()
	waitClosed(t, s) // while the request is in flight
	close(release)
	if got := <-answer; got != "done" {
		t.Fatalf("request in flight: %q, want its answer", got)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run after the stop: %v", err)
	}
}

// waitClosed waits until s's listener refuses connections, for at most 5 s.
func waitClosed(t *testing.T, s *httpServer) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("listener %s still open 5s after the stop", s.Addr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A request that does not finish within the shutdown timeout has its
// connection closed, which cancels its context: its handler does not go on
// working after Run returned (and the store closed).
func TestHTTPServerClosesAfterTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inside, cancelled := make(chan struct{}), make(chan struct{})
	s := &httpServer{ln: ln, timeout: 100 * time.Millisecond, srv: &http.Server{
		ReadHeaderTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(inside)
			select {
			case <-r.Context().Done():
				close(cancelled)
			case <-time.After(time.Minute):
			}
		}),
	}}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	go func() {
		if resp, err := http.Get("http://" + s.Addr()); err == nil {
			resp.Body.Close()
		}
	}()
	<-inside
	cancel()
	if err := <-ran; err == nil || !strings.Contains(err.Error(), "shutdown incomplete") {
		t.Errorf("Run = %v, want the incomplete shutdown", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context was not cancelled after the shutdown timeout")
	}
}
