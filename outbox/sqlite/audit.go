package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
// of the reactor, returning their topics (to notify after the commit).
func (s *Store) record(ctx context.Context, tx *sql.Tx, events []outbox.Event) ([]string, error) {
	if len(events) == 0 {
		return nil, nil
	}
	for _, e := range events {
		if _, err := tx.ExecContext(ctx, s.q["InsertEvent"], e.SubmissionID, e.MessageID, e.Topic, string(e.Kind),
			e.Attempt, string(e.Outcome), e.Actor, e.Detail, micros(e.At)); err != nil {
			return nil, fmt.Errorf("record %s event of %s: %w", e.Kind, e.SubmissionID, err)
		}
	}
	rp := s.reactor.Load()
	if rp == nil {
		return nil, nil
	}
	err := outbox.FillSubmissionInfo(events, func(id string) (portal, tenant, procedure string, err error) {
		err = tx.QueryRowContext(ctx, s.q["SubmissionInfo"], id).Scan(&portal, &tenant, &procedure)
		if errors.Is(err, sql.ErrNoRows) {
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

// Events returns the audit trail of a submission.
func (s *Store) Events(ctx context.Context, submissionID string) ([]outbox.Event, error) {
	var exists bool
	if err := s.read.QueryRowContext(ctx, s.q["SubmissionExists"], submissionID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("events of %s: %w", submissionID, err)
	}
	if !exists {
		return nil, fmt.Errorf("events of %s: %w", submissionID, outbox.ErrNotFound)
	}
	rows, err := s.read.QueryContext(ctx, s.q["Events"], submissionID)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", submissionID, err)
	}
	defer rows.Close()
	var out []outbox.Event
	for rows.Next() {
		var e outbox.Event
		var kind, outcome string
		var at int64
		if err := rows.Scan(&e.Seq, &e.SubmissionID, &e.PortalID, &e.Tenant, &e.Procedure, &e.MessageID, &e.Topic,
			&kind, &e.Attempt, &outcome, &e.Actor, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("events of %s: %w", submissionID, err)
		}
		e.Kind, e.Outcome, e.At = outbox.EventKind(kind), outbox.Outcome(outcome), fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
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
	rows, err := s.read.QueryContext(ctx, s.q["StatsOpen"])
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	for rows.Next() {
		var topic string
		var pending, retrying int
		var oldest int64
		if err := rows.Scan(&topic, &pending, &retrying, &oldest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("stats: %w", err)
		}
		st := get(topic)
		st.Pending, st.Retrying, st.OldestPending = pending, retrying, fromMicros(oldest)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	rows, err = s.read.QueryContext(ctx, s.q["StatsDead"])
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	for rows.Next() {
		var topic string
		var dead int
		if err := rows.Scan(&topic, &dead); err != nil {
			rows.Close()
			return nil, fmt.Errorf("stats: %w", err)
		}
		get(topic).Dead = dead
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	out := make([]outbox.TopicStats, 0, len(byTopic))
	for _, st := range byTopic {
		if st.Pending > 0 {
			var last int64
			if err := s.read.QueryRowContext(ctx, s.q["LastDelivered"], st.Topic).Scan(&last); err != nil {
				return nil, fmt.Errorf("stats %s: %w", st.Topic, err)
			}
			if last != 0 {
				st.LastDelivered = fromMicros(last)
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
	rows, err := s.read.QueryContext(ctx, s.q["ListSubmissions"], f.PortalID, micros(f.Since),
		micros(cur.CreatedAt), cur.ID, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list submissions: %w", err)
	}
	var subs []outbox.Submission
	for rows.Next() {
		sub, err := scanSubmission(rows)
		if err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("list submissions: %w", err)
		}
		subs = append(subs, sub)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
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
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, "", fmt.Errorf("list submissions: %w", err)
	}
	mrows, err := s.read.QueryContext(ctx, s.q["MessagesOfSubmissions"], string(idsJSON))
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
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	defer sqlTx.Rollback()
	now := s.now()
	rows, err := sqlTx.QueryContext(ctx, s.q["PurgeMessages"], micros(before), micros(now), limit)
	if err != nil {
		return res, fmt.Errorf("purge messages: %w", err)
	}
	var events []outbox.Event
	for rows.Next() {
		var id, topic, sub string
		if err := rows.Scan(&id, &topic, &sub); err != nil {
			rows.Close()
			return res, fmt.Errorf("purge messages: %w", err)
		}
		res.Messages++
		if sub != "" {
			events = append(events, outbox.Event{SubmissionID: sub, MessageID: id, Topic: topic,
				Kind: outbox.EventPurged, Actor: outbox.ActorRetention, At: now})
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return res, fmt.Errorf("purge messages: %w", err)
	}
	var purgedSubs []string
	rows, err = sqlTx.QueryContext(ctx, s.q["PurgeSubmissions"], micros(before), micros(now), limit)
	if err != nil {
		return res, fmt.Errorf("purge submissions: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, fmt.Errorf("purge submissions: %w", err)
		}
		res.Submissions++
		purgedSubs = append(purgedSubs, id)
		events = append(events, outbox.Event{SubmissionID: id, Kind: outbox.EventPurged, Actor: outbox.ActorRetention, At: now})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return res, fmt.Errorf("purge submissions: %w", err)
	}
	// The submissions' blobs go with their request payloads.
	if res.Blobs, err = s.purgeBlobs(ctx, sqlTx, purgedSubs); err != nil {
		return res, err
	}
	outbox.SortEvents(events)
	topics, err := s.record(ctx, sqlTx, events)
	if err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return outbox.PurgeResult{}, fmt.Errorf("purge: %w", err)
	}
	s.Notify(topics...)
	return res, nil
}

// Discard gives up a dead message.
func (s *Store) Discard(ctx context.Context, r outbox.ReplayRequest) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("discard: %w", err)
	}
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("discard %s: %w", r.ID, err)
	}
	defer sqlTx.Rollback()
	m, seq, err := s.messageByID(ctx, sqlTx, r.ID, r.Topic)
	if err != nil {
		return fmt.Errorf("discard: %w", err)
	}
	if m.State != outbox.StateDead {
		return fmt.Errorf("discard %s (%s): %w", r.ID, m.State, outbox.ErrNotReplayable)
	}
	now := s.now()
	var sub string
	if err := sqlTx.QueryRowContext(ctx, s.q["DiscardMessage"], seq, micros(now)).Scan(&sub); err != nil {
		return fmt.Errorf("discard %s: %w", r.ID, err)
	}
	var topics []string
	if sub != "" {
		topics, err = s.record(ctx, sqlTx, []outbox.Event{{SubmissionID: sub, MessageID: m.ID, Topic: m.Topic,
			Kind: outbox.EventDiscarded, Actor: r.By, Detail: r.Reason, At: now, Metadata: m.Metadata}})
		if err != nil {
			return fmt.Errorf("discard %s: %w", r.ID, err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("discard %s: %w", r.ID, err)
	}
	s.Notify(topics...)
	return nil
}

// SetAlarm opens or closes an alarm in the transaction.
func (t *tx) SetAlarm(ctx context.Context, key string, open bool) (bool, error) {
	query := t.s.q["CloseAlarm"]
	if open {
		query = t.s.q["OpenAlarm"]
	}
	res, err := t.tx.ExecContext(ctx, query, key, micros(t.s.now()))
	if err != nil {
		return false, fmt.Errorf("set alarm %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set alarm %s: %w", key, err)
	}
	return n > 0, nil
}
