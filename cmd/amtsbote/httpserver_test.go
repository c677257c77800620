package main

import (
	"context"
	"io"
	"net"
	"net/http"
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
	// The listener closes while the request is in flight.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still open 5s after the stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if got := <-answer; got != "done" {
		t.Fatalf("request in flight: %q, want its answer", got)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run after the stop: %v", err)
	}
}
