package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
)

// List returns a page of messages matching f in insertion order.
func (s *Store) List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error) {
	after, err := f.AfterSeq()
	if err != nil {
		return nil, "", err
	}
	limit := f.PageLimit()
	rows, err := s.pool.Query(ctx, s.q["List"], after, string(f.State), f.TopicPattern(), limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	msgs, seqs, err := scanMessagesSeq(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	page, next := outbox.Page(msgs, seqs, limit)
	return page, next, nil
}

// Message returns the message with id.
func (s *Store) Message(ctx context.Context, id string) (outbox.Message, error) {
	rows, err := s.pool.Query(ctx, s.q["MessagesByID"], id, "")
	if err != nil {
		return outbox.Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	msgs, _, err := scanMessagesSeq(rows)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	switch len(msgs) {
	case 0:
		return outbox.Message{}, fmt.Errorf("message %s: %w", id, outbox.ErrNotFound)
	case 1:
		return msgs[0], nil
	}
	return outbox.Message{}, fmt.Errorf("message %s: %w", id, outbox.ErrAmbiguous)
}

// Replay makes a dead message pending again, records the replay and notifies
// the topic, all in one transaction.
func (s *Store) Replay(ctx context.Context, r outbox.ReplayRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	var topics []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		seq, err := s.lockDead(ctx, tx, r)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, s.q["ReplayMessage"], seq, s.now(), r.By, r.Reason)
		if err != nil {
			return err
		}
		var n int
		n, topics, err = s.recordReplays(ctx, tx, rows, r.By, r.Reason)
		if err == nil && n == 0 {
			err = outbox.ErrNotReplayable
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("replay %s: %w", r.ID, err)
	}
	s.committed(topics)
	return nil
}

// ReplayAll replays the dead messages of the topics f matches, records the
// replays and notifies their topics, in one transaction.
func (s *Store) ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error) {
	if by == "" {
		return 0, fmt.Errorf("replay all: by is required")
	}
	var n int
	var topics []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, s.q["ReplayDead"], f.TopicPattern(), s.now(), by, reason)
		if err != nil {
			return err
		}
		n, topics, err = s.recordReplays(ctx, tx, rows, by, reason)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replay all: %w", err)
	}
	s.committed(topics)
	return n, nil
}

// lockDead locks the message r names and returns its seq if it is dead.
func (s *Store) lockDead(ctx context.Context, tx pgx.Tx, r outbox.ReplayRequest) (int64, error) {
	rows, err := tx.Query(ctx, s.q["LockMessagesByID"], r.ID, r.Topic)
	if err != nil {
		return 0, err
	}
	type found struct {
		seq   int64
		state string
	}
	locked, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (found, error) {
		var f found
		return f, row.Scan(&f.seq, &f.state)
	})
	if err != nil {
		return 0, err
	}
	switch {
	case len(locked) == 0:
		return 0, outbox.ErrNotFound
	case len(locked) > 1:
		return 0, outbox.ErrAmbiguous
	case outbox.State(locked[0].state) != outbox.StateDead:
		return 0, fmt.Errorf("%s: %w", locked[0].state, outbox.ErrNotReplayable)
	}
	return locked[0].seq, nil
}

// recordReplays reads the (topic, id, submission, metadata) rows of replayed
// messages and records their events; it returns how many were replayed and
// the topics to wake after the commit (theirs and those of follow-ups).
func (s *Store) recordReplays(ctx context.Context, tx pgx.Tx, rows pgx.Rows, by, reason string) (int, []string, error) {
	now := s.now()
	var topics []string
	var events []outbox.Event
	var topic, id, sub string
	var md map[string]string
	if _, err := pgx.ForEachRow(rows, []any{&topic, &id, &sub, &md}, func() error {
		topics = append(topics, topic)
		if sub != "" {
			events = append(events, outbox.Event{SubmissionID: sub, MessageID: id, Topic: topic,
				Kind: outbox.EventReplayed, Actor: by, Detail: reason, At: now, Metadata: md})
		}
		return nil
	}); err != nil {
		return 0, nil, err
	}
	n := len(topics)
	outbox.SortEvents(events)
	follow, err := s.record(ctx, tx, events)
	if err != nil {
		return 0, nil, err
	}
	return n, append(topics, follow...), nil
}

// Replays lists a message's replays.
func (s *Store) Replays(ctx context.Context, messageID string) ([]outbox.Replay, error) {
	rows, err := s.pool.Query(ctx, s.q["Replays"], messageID)
	if err != nil {
		return nil, fmt.Errorf("read replays of %s: %w", messageID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outbox.Replay, error) {
		var r outbox.Replay
		err := row.Scan(&r.MessageID, &r.Topic, &r.By, &r.Reason, &r.At, &r.Attempts)
		r.At = r.At.UTC()
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read replays of %s: %w", messageID, err)
	}
	return out, nil
}
