package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
)

// SetReactor installs the reactor that derives follow-up messages from events.
func (s *Store) SetReactor(r outbox.Reactor) {
	if r == nil {
		s.reactor.Store(nil)
		return
	}
	s.reactor.Store(&r)
}

// record appends events to the audit trail in tx and inserts the follow-ups
// of the reactor, returning their topics (to notify in tx).
func (s *Store) record(ctx context.Context, tx pgx.Tx, events []outbox.Event) ([]string, error) {
	if len(events) == 0 {
		return nil, nil
	}
	batch := &pgx.Batch{}
	for _, e := range events {
		batch.Queue(s.q["InsertEvent"], e.SubmissionID, e.MessageID, e.Topic, string(e.Kind),
			e.Attempt, string(e.Outcome), e.Actor, e.Detail, e.At)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("record events of %s: %w", events[0].SubmissionID, err)
	}
	rp := s.reactor.Load()
	if rp == nil {
		return nil, nil
	}
	err := outbox.FillSubmissionInfo(events, func(id string) (portal, tenant, procedure string, err error) {
		err = tx.QueryRow(ctx, s.q["SubmissionInfo"], id).Scan(&portal, &tenant, &procedure)
		if errors.Is(err, pgx.ErrNoRows) {
			err = nil // a message whose submission id names none: no info to add
		}
		return portal, tenant, procedure, err
	})
	if err != nil {
		return nil, err
	}
	follow, err := (*rp).React(ctx, events)
	if err != nil {
		return nil, fmt.Errorf("react to events of %s: %w", events[0].SubmissionID, err)
	}
	now := s.now()
	topics := make([]string, 0, len(follow))
	for _, m := range follow {
		if err := s.insertMessage(ctx, tx, "InsertMessageIgnore", m, now); err != nil {
			return nil, fmt.Errorf("follow-up: %w", err)
		}
		topics = append(topics, m.Topic)
	}
	return topics, nil
}

// committed wakes the watchers of topics after their transaction committed:
// this process's at once, other processes' through the notifier.
func (s *Store) committed(topics []string) {
	if len(topics) == 0 {
		return
	}
	slices.Sort(topics)
	topics = slices.Compact(topics)
	s.Notify(topics...)
	s.notifier.add(topics)
}

// Events returns the audit trail of a submission.
func (s *Store) Events(ctx context.Context, submissionID string) ([]outbox.Event, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, s.q["SubmissionExists"], submissionID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("events of %s: %w", submissionID, err)
	}
	if !exists {
		return nil, fmt.Errorf("events of %s: %w", submissionID, outbox.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, s.q["Events"], submissionID)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", submissionID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outbox.Event, error) {
		var e outbox.Event
		var kind, outcome string
		err := r.Scan(&e.Seq, &e.SubmissionID, &e.PortalID, &e.Tenant, &e.Procedure, &e.MessageID, &e.Topic,
			&kind, &e.Attempt, &outcome, &e.Actor, &e.Detail, &e.At)
		e.Kind, e.Outcome, e.At = outbox.EventKind(kind), outbox.Outcome(outcome), e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", submissionID, err)
	}
	return out, nil
}

// Stats returns the counts of topics with pending or dead messages.
func (s *Store) Stats(ctx context.Context) ([]outbox.TopicStats, error) {
	byTopic := map[string]*outbox.TopicStats{}
	get := func(topic string) *outbox.TopicStats {
		st, ok := byTopic[topic]
		if !ok {
			st = &outbox.TopicStats{Topic: topic}
			byTopic[topic] = st
		}
		return st
	}
	rows, err := s.pool.Query(ctx, s.q["StatsOpen"])
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	var topic string
	var pending, retrying int
	var oldest time.Time
	if _, err := pgx.ForEachRow(rows, []any{&topic, &pending, &retrying, &oldest}, func() error {
		st := get(topic)
		st.Pending, st.Retrying, st.OldestPending = pending, retrying, oldest.UTC()
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	rows, err = s.pool.Query(ctx, s.q["StatsDead"])
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	var dead int
	if _, err := pgx.ForEachRow(rows, []any{&topic, &dead}, func() error {
		get(topic).Dead = dead
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	out := make([]outbox.TopicStats, 0, len(byTopic))
	for _, st := range byTopic {
		if st.Pending > 0 {
			var last *time.Time
			if err := s.pool.QueryRow(ctx, s.q["LastDelivered"], st.Topic).Scan(&last); err != nil {
				return nil, fmt.Errorf("stats %s: %w", st.Topic, err)
			}
			if last != nil {
				st.LastDelivered = last.UTC()
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
	since := f.Since
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	if cur.CreatedAt.IsZero() {
		cur.CreatedAt = time.Unix(0, 0)
	}
	limit := f.PageLimit()
	rows, err := s.pool.Query(ctx, s.q["ListSubmissions"], f.PortalID, since, cur.CreatedAt, cur.ID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list submissions: %w", err)
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outbox.Submission, error) { return scanSubmission(r) })
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
	mrows, err := s.pool.Query(ctx, s.q["MessagesOfSubmissions"], ids)
	if err != nil {
		return nil, "", fmt.Errorf("list submissions: %w", err)
	}
	msgs, err := scanMessages(mrows)
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
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = outbox.PurgeResult{}
		now := s.now()
		rows, err := tx.Query(ctx, s.q["PurgeMessages"], before, now, limit)
		if err != nil {
			return err
		}
		type purged struct {
			seq            int64
			id, topic, sub string
		}
		msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (purged, error) {
			var p purged
			return p, r.Scan(&p.seq, &p.id, &p.topic, &p.sub)
		})
		if err != nil {
			return fmt.Errorf("purge messages: %w", err)
		}
		slices.SortFunc(msgs, func(a, b purged) int { return int(a.seq - b.seq) })
		var events []outbox.Event
		for _, p := range msgs {
			res.Messages++
			if p.sub != "" {
				events = append(events, outbox.Event{SubmissionID: p.sub, MessageID: p.id, Topic: p.topic,
					Kind: outbox.EventPurged, Actor: outbox.ActorRetention, At: now})
			}
		}
		rows, err = tx.Query(ctx, s.q["PurgeSubmissions"], before, now, limit)
		if err != nil {
			return err
		}
		subs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("purge submissions: %w", err)
		}
		slices.Sort(subs)
		for _, id := range subs {
			res.Submissions++
			events = append(events, outbox.Event{SubmissionID: id, Kind: outbox.EventPurged, Actor: outbox.ActorRetention, At: now})
		}
		// The submissions' blobs go with their request payloads.
		if res.Blobs, err = s.purgeBlobs(ctx, tx, subs); err != nil {
			return err
		}
		outbox.SortEvents(events)
		follow, err = s.record(ctx, tx, events)
		return err
	})
	if err != nil {
		return outbox.PurgeResult{}, fmt.Errorf("purge: %w", err)
	}
	s.committed(follow)
	return res, nil
}

// Discard gives up a dead message.
func (s *Store) Discard(ctx context.Context, r outbox.ReplayRequest) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("discard: %w", err)
	}
	var follow []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		seq, err := s.lockDead(ctx, tx, r)
		if err != nil {
			return err
		}
		now := s.now()
		var id, topic, sub string
		var md map[string]string
		err = tx.QueryRow(ctx, s.q["DiscardMessage"], seq, now).Scan(&id, &topic, &sub, &md)
		if errors.Is(err, pgx.ErrNoRows) {
			return outbox.ErrNotReplayable
		}
		if err != nil || sub == "" {
			return err
		}
		follow, err = s.record(ctx, tx, []outbox.Event{{SubmissionID: sub, MessageID: id, Topic: topic,
			Kind: outbox.EventDiscarded, Actor: r.By, Detail: r.Reason, At: now, Metadata: md}})
		return err
	})
	if err != nil {
		return fmt.Errorf("discard %s: %w", r.ID, err)
	}
	s.committed(follow)
	return nil
}

// SetAlarm opens or closes an alarm in the transaction.
func (t *tx) SetAlarm(ctx context.Context, key string, open bool) (bool, error) {
	query := t.s.q["CloseAlarm"]
	if open {
		query = t.s.q["OpenAlarm"]
	}
	tag, err := t.tx.Exec(ctx, query, key, t.s.now())
	if err != nil {
		return false, fmt.Errorf("set alarm %s: %w", key, err)
	}
	return tag.RowsAffected() > 0, nil
}
