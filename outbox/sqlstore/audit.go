package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// Events returns the audit trail of a submission: one query, and a second
// only when the trail is empty (a submission stored before the trail was).
func (s *Store) Events(ctx context.Context, submissionID string) ([]outbox.Event, error) {
	out, err := s.d.Events(ctx, submissionID)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", submissionID, err)
	}
	if len(out) > 0 {
		return out, nil
	}
	exists, err := s.d.SubmissionExists(ctx, submissionID)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", submissionID, err)
	}
	if !exists {
		return nil, fmt.Errorf("events of %s: %w", submissionID, outbox.ErrNotFound)
	}
	return out, nil
}

// Stats returns the counts of topics with pending or dead messages.
func (s *Store) Stats(ctx context.Context) ([]outbox.TopicStats, error) {
	open, err := s.d.StatsOpen(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	dead, err := s.d.StatsDead(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	byTopic := make(map[string]*outbox.TopicStats, len(open)+len(dead))
	for i := range open {
		byTopic[open[i].Topic] = &open[i]
	}
	for _, d := range dead {
		st, ok := byTopic[d.Topic]
		if !ok {
			st = &outbox.TopicStats{Topic: d.Topic}
			byTopic[d.Topic] = st
		}
		st.Dead = d.Dead
	}
	out := make([]outbox.TopicStats, 0, len(byTopic))
	for _, st := range byTopic {
		if st.Pending > 0 {
			if st.LastDelivered, err = s.d.LastDelivered(ctx, st.Topic); err != nil {
				return nil, fmt.Errorf("stats %s: %w", st.Topic, err)
			}
		}
		out = append(out, *st)
	}
	outbox.SortStats(out)
	return out, nil
}

// ListSubmissions returns a page of a portal's submissions with their messages.
func (s *Store) ListSubmissions(ctx context.Context, f outbox.SubmissionFilter) ([]outbox.SubmissionStatus, string, error) {
	if f.PortalID == "" {
		return nil, "", errors.New("list submissions: portal id is required")
	}
	cur, err := outbox.ParseSubmissionCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	limit := f.PageLimit()
	subs, err := s.d.ListSubmissions(ctx, f.PortalID, f.Since, cur, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list submissions: %w", err)
	}
	subs, next := outbox.PageSubmissions(subs, limit)
	if len(subs) == 0 {
		return nil, "", nil
	}
	ids := make([]string, len(subs))
	for i, sub := range subs {
		ids[i] = sub.ID
	}
	msgs, err := s.d.MessagesOfSubmissions(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("list submissions: %w", err)
	}
	return outbox.GroupMessages(subs, msgs), next, nil
}

// Purge removes the payloads of delivered messages and finished submissions.
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (outbox.PurgeResult, error) {
	var res outbox.PurgeResult
	if limit <= 0 {
		return res, errors.New("purge: limit must be positive")
	}
	var follow []string
	err := s.inTx(ctx, func(ex Executor) error {
		res = outbox.PurgeResult{}
		now := s.now()
		msgs, err := ex.PurgeMessages(ctx, before, now, limit)
		if err != nil {
			return fmt.Errorf("purge messages: %w", err)
		}
		var events []outbox.Event
		for _, p := range msgs {
			res.Messages++
			if p.SubmissionID != "" {
				events = append(events, outbox.Event{SubmissionID: p.SubmissionID, MessageID: p.ID, Topic: p.Topic,
					Kind: outbox.EventPurged, Actor: outbox.ActorRetention, At: now})
			}
		}
		subs, err := ex.PurgeSubmissions(ctx, before, now, limit)
		if err != nil {
			return fmt.Errorf("purge submissions: %w", err)
		}
		slices.Sort(subs)
		for _, id := range subs {
			res.Submissions++
			events = append(events, outbox.Event{SubmissionID: id, Kind: outbox.EventPurged, Actor: outbox.ActorRetention, At: now})
		}
		// The submissions' blobs go with their request payloads.
		if len(subs) > 0 {
			if res.Blobs, err = ex.PurgeBlobs(ctx, subs); err != nil {
				return fmt.Errorf("purge blobs: %w", err)
			}
		}
		// Answers' payloads and their attachments, with an answer event each.
		answers, err := ex.PurgeAnswers(ctx, before, now, limit)
		if err != nil {
			return fmt.Errorf("purge answers: %w", err)
		}
		if len(answers) > 0 {
			res.Answers = len(answers)
			n, err := ex.PurgeAnswerBlobs(ctx, answers)
			if err != nil {
				return fmt.Errorf("purge answer attachments: %w", err)
			}
			res.Blobs += n
			slices.Sort(answers)
			for _, id := range answers {
				if err := ex.InsertAnswerEvent(ctx, outbox.AnswerEvent{AnswerID: id, Kind: outbox.AnswerEventPurged,
					Actor: outbox.ActorRetention, At: now}); err != nil {
					return fmt.Errorf("record purge of answer %s: %w", id, err)
				}
			}
		}
		outbox.SortEvents(events)
		follow, err = s.record(ctx, ex, events)
		return err
	})
	if err != nil {
		return outbox.PurgeResult{}, fmt.Errorf("purge: %w", err)
	}
	s.wake(follow)
	return res, nil
}

// Discard gives up a dead message.
func (s *Store) Discard(ctx context.Context, r outbox.ReplayRequest) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("discard: %w", err)
	}
	var follow []string
	err := s.inTx(ctx, func(ex Executor) error {
		seq, err := lockDead(ctx, ex, r)
		if err != nil {
			return err
		}
		now := s.now()
		d, err := ex.DiscardMessage(ctx, seq, now)
		if errors.Is(err, outbox.ErrNotFound) {
			return outbox.ErrNotReplayable
		}
		if err != nil || d.SubmissionID == "" {
			return err
		}
		follow, err = s.record(ctx, ex, []outbox.Event{{SubmissionID: d.SubmissionID, MessageID: d.ID, Topic: d.Topic,
			Kind: outbox.EventDiscarded, Actor: r.By, Detail: r.Reason, At: now, Metadata: d.Metadata}})
		return err
	})
	if err != nil {
		return fmt.Errorf("discard %s: %w", r.ID, err)
	}
	s.wake(follow)
	return nil
}

// RecordAccess appends an operator's access to the audit trail.
func (s *Store) RecordAccess(ctx context.Context, e outbox.Event) error {
	if e.SubmissionID == "" || e.Kind == "" || e.Actor == "" {
		return errors.New("record access: submission id, kind and actor are required")
	}
	err := s.inTx(ctx, func(ex Executor) error {
		exists, err := ex.SubmissionExists(ctx, e.SubmissionID)
		if err != nil {
			return err
		}
		if !exists {
			return outbox.ErrNotFound
		}
		e.At = s.now()
		return ex.InsertEvents(ctx, []outbox.Event{e})
	})
	if err != nil {
		return fmt.Errorf("record access to %s: %w", e.SubmissionID, err)
	}
	return nil
}
