package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// part is a long-running part of serve. run works until ctx ends, then
// finishes its work in flight and returns. An error it returns before
// that is a failure, which stops the service; returning nil early means it
// had nothing (more) to do.
type part struct {
	name string
	run  func(ctx context.Context) error
}

// errStopRequested is the cause of the parts' contexts on an orderly
// shutdown (SIGINT, SIGTERM). After a failure, the cause is the failure.
var errStopRequested = errors.New("shutdown requested")

// stopRequested reports whether ctx, a part's context, ended for an orderly
// shutdown rather than because another part failed.
func stopRequested(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errStopRequested)
}

// supervisor runs the parts of serve: it starts them in the reverse of their
// order, and when its context ends or a part fails, it stops them one after
// the other in their order, each after the one before has returned.
type supervisor struct {
	parts   []part // in the order they stop; those without run are left out
	logger  *slog.Logger
	started func() // called once every part was started; optional
}

// run starts the parts and stops them when ctx ends or one fails. It
// returns the failure, if any, joined with the errors of parts that failed
// while stopping (a server whose requests did not finish in time, a store
// that did not close), each naming its part: a stop that left work undone
// is no clean exit.
func (s *supervisor) run(ctx context.Context) error {
	type running struct {
		cancel context.CancelCauseFunc
		done   chan error
	}
	parts := slices.DeleteFunc(slices.Clone(s.parts), func(p part) bool { return p.run == nil })
	rs := make([]running, len(parts))
	failed := make(chan error, len(parts))
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		// Each part stops when the supervisor says so, not when ctx ends.
		pctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		rs[i] = running{cancel: cancel, done: done}
		s.logger.Debug("starting", slog.String("part", p.name))
		go func() {
			err := p.run(pctx)
			if err != nil {
				err = fmt.Errorf("%s: %w", p.name, err)
				if pctx.Err() == nil {
					failed <- err
				}
			}
			done <- err
		}()
	}
	if s.started != nil {
		s.started()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-failed:
	}
	cause := errStopRequested
	if runErr != nil {
		cause = runErr
	}
	errs := []error{runErr}
	for i, p := range parts {
		begun := time.Now()
		rs[i].cancel(cause)
		err := <-rs[i].done
		if err != nil && err != runErr {
			s.logger.Error("part failed while stopping", slog.String("part", p.name), slog.Any("error", err))
			errs = append(errs, fmt.Errorf("stopping %w", err))
		}
		s.logger.Debug("stopped", slog.String("part", p.name), slog.Duration("duration", time.Since(begun)))
	}
	return errors.Join(errs...)
}

// untilStopped is the run of a part that only has something to do when it
// stops.
func untilStopped(stop func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		return stop(ctx)
	}
}
