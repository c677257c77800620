package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, s.q["LockMessagesByID"], r.ID, r.Topic)
		if err != nil {
			return err
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
			return err
		}
		switch {
		case len(locked) == 0:
			return outbox.ErrNotFound
		case len(locked) > 1:
			return outbox.ErrAmbiguous
		case outbox.State(locked[0].state) != outbox.StateDead:
			return fmt.Errorf("%s: %w", locked[0].state, outbox.ErrNotReplayable)
		}
		var topic string
		err = tx.QueryRow(ctx, s.q["ReplayMessage"], locked[0].seq, s.now(), r.By, r.Reason).Scan(&topic)
		if errors.Is(err, pgx.ErrNoRows) {
			return outbox.ErrNotReplayable
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q["Notify"], topic); err != nil {
			return fmt.Errorf("notify %s: %w", topic, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay %s: %w", r.ID, err)
	}
	return nil
}

// ReplayAll replays the dead messages of the topics f matches, records the
// replays and notifies their topics, in one transaction.
func (s *Store) ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error) {
	if by == "" {
		return 0, fmt.Errorf("replay all: by is required")
	}
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, s.q["ReplayDead"], f.TopicPattern(), s.now(), by, reason)
		if err != nil {
			return err
		}
		topics, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n = len(topics)
		slices.Sort(topics)
		for _, topic := range slices.Compact(topics) {
			if _, err := tx.Exec(ctx, s.q["Notify"], topic); err != nil {
				return fmt.Errorf("notify %s: %w", topic, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay all: %w", err)
	}
	return n, nil
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
