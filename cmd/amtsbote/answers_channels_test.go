package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// recordingReceiver records the sources of the answers it gets.
type recordingReceiver struct {
	mu   sync.Mutex
	srcs []intake.AnswerSource
}

func (r *recordingReceiver) Receive(_ context.Context, src intake.AnswerSource, _ []byte, _ string) (intake.AnswerReceipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srcs = append(r.srcs, src)
	return intake.AnswerReceipt{ID: "a"}, nil
}

func (r *recordingReceiver) sources() []intake.AnswerSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]intake.AnswerSource(nil), r.srcs...)
}

// serve runs a destination's inbox as configured, handing its answers with
// the destination as source; without inbox or queue there is nothing to run.
func TestAnswerChannelsPartFromConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := &config.Config{Tenants: []config.Tenant{{ID: "musterstadt", Procedures: []config.Route{{Procedure: "bau.baugenehmigung",
		Destinations: []config.Destination{
			{ID: "bauamt", Answers: &config.Answers{Inbox: &config.AnswerInbox{Dir: dir, PollInterval: config.Duration{Duration: 10 * time.Millisecond}, MaxBytes: 1 << 20}}},
			{ID: "eakte", Answers: &config.Answers{AMQP: &config.AnswerAMQP{URL: config.NewSecret("amqp://guest:guest@127.0.0.1:1/"), Queue: "answers", MaxBytes: 1 << 20}}},
			{ID: "http-only", Answers: &config.Answers{KeyHash: config.NewSecret("sha256:00")}},
		}}}}}}
	r := &recordingReceiver{}
	p, err := answerChannelsPart(cfg, r, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p.run == nil {
		t.Fatal("no run for an inbox and a queue")
	}
	if err := os.WriteFile(filepath.Join(dir, "a.xml"), answerstest.Read(t, answerstest.Aktenzeichen), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "a.xml"), old, old)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	for deadline := time.Now().Add(time.Minute); len(r.sources()) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the inbox did not hand the file over within a minute")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
	want := intake.AnswerSource{Tenant: "musterstadt", Procedure: "bau.baugenehmigung", Destination: "bauamt", Channel: intake.AnswerChannelInbox}
	if got := r.sources()[0]; got != want {
		t.Errorf("source %+v, want %+v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "done", "a.xml")); err != nil {
		t.Errorf("not moved to done/: %v", err)
	}

	none, err := answerChannelsPart(&config.Config{}, r, slog.New(slog.DiscardHandler))
	if err != nil || none.run != nil {
		t.Errorf("without channels: run %v, err %v", none.run != nil, err)
	}
}
