package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/amtsbote/amtsbote/adapters/amqp"
	"github.com/amtsbote/amtsbote/adapters/answerinbox"
	"github.com/amtsbote/amtsbote/adapters/metrics"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
)

// answerChannelsPart returns the part that runs every destination's file
// inbox and AMQP queue of answers, each handing its answers to r. It has
// no run when no destination configures either. It stops with the intake
// (no new answers are taken) and starts after the relay.
func answerChannelsPart(cfg *config.Config, r intake.AnswerReceiver, logger *slog.Logger) (part, error) {
	// What a channel refuses itself (too large) is counted like the
	// service's refusals.
	var obs answerObserver
	if o, ok := r.(observedReceiver); ok {
		obs = o.obs
	}
	refused := func(tenant, channel string) func() {
		if obs == nil {
			return nil
		}
		return func() { obs.ObserveAnswer(tenant, channel, metrics.AnswerInvalid) }
	}
	var runs []func(context.Context) error
	var errs []error
	for _, b := range cfg.AnswerBindings() {
		if in := b.Answers.Inbox; in != nil {
			ib, err := answerinbox.New(answerinbox.Config{
				Dir: in.Dir, Tenant: b.Tenant, Procedure: b.Procedure, Destination: b.Destination,
				PollInterval: in.PollInterval.Duration, MaxBytes: in.MaxBytes,
				OnRefused: refused(b.Tenant, intake.AnswerChannelInbox),
				Logger: logger.With(slog.String("tenant", b.Tenant), slog.String("procedure", b.Procedure),
					slog.String("destination", b.Destination)),
			}, r)
			if err != nil {
				errs = append(errs, err)
			} else {
				runs = append(runs, ib.Run)
			}
		}
		if q := b.Answers.AMQP; q != nil {
			sub, err := amqp.NewAnswerSubscriber(amqp.AnswerConfig{
				URL: q.URL, Queue: q.Queue, Tenant: b.Tenant, Procedure: b.Procedure, Destination: b.Destination,
				MaxBytes: q.MaxBytes, OnRefused: refused(b.Tenant, intake.AnswerChannelAMQP), Logger: logger,
			}, r)
			if err != nil {
				errs = append(errs, err)
			} else {
				runs = append(runs, sub.Run)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return part{}, err
	}
	p := part{name: "answer channels"}
	if len(runs) == 0 {
		return p, nil
	}
	p.run = func(ctx context.Context) error {
		var wg sync.WaitGroup
		errs := make([]error, len(runs))
		for i, run := range runs {
			wg.Go(func() { errs[i] = run(ctx) })
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return p, nil
}
