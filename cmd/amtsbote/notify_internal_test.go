package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// reactorStore records what installReactors installs.
type reactorStore struct {
	outbox.Store
	installed []outbox.Reactor
}

func (s *reactorStore) SetReactor(r outbox.Reactor) { s.installed = append(s.installed, r) }

// switchReactor is a reactor whose activity a test sets.
type switchReactor struct{ active bool }

func (r *switchReactor) React(context.Context, []outbox.Event) ([]outbox.Message, error) {
	return nil, nil
}
func (r *switchReactor) Active() bool { return r.active }

// TestInstallReactorsRemovesTheLast: a configuration (a reload) without any
// active reactor removes the one installed before, so that nothing reacts
// by a configuration that is gone.
func TestInstallReactorsRemovesTheLast(t *testing.T) {
	cfg := config.Demo(t.TempDir(), config.HashKey("k")) // no mails, no callbacks
	st := &reactorStore{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	extra := &switchReactor{active: true}
	if err := installReactors(cfg, st, time.UTC, logger, extra); err != nil {
		t.Fatal(err)
	}
	extra.active = false
	if err := installReactors(cfg, st, time.UTC, logger, extra); err != nil {
		t.Fatal(err)
	}
	if len(st.installed) != 2 || st.installed[0] == nil || st.installed[1] != nil {
		t.Fatalf("installed %v, want the active reactor, then none (nil)", st.installed)
	}
}
