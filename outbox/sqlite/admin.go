package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/amtsbote/amtsbote/outbox"
)

// List returns a page of messages matching f in insertion order.
func (s *Store) List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error) {
	after, err := f.AfterSeq()
	if err != nil {
		return nil, "", err
	}
	limit := f.PageLimit()
	rows, err := s.read.QueryContext(ctx, s.q["List"], after, string(f.State), f.TopicPattern(), limit+1)
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
	m, _, err := s.messageByID(ctx, s.read, id, "")
	return m, err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) messageByID(ctx context.Context, q querier, id, topic string) (outbox.Message, int64, error) {
	rows, err := q.QueryContext(ctx, s.q["MessagesByID"], id, topic)
	if err != nil {
		return outbox.Message{}, 0, fmt.Errorf("read message %s: %w", id, err)
	}
	msgs, seqs, err := scanMessagesSeq(rows)
	if err != nil {
		return outbox.Message{}, 0, fmt.Errorf("read message %s: %w", id, err)
	}
	switch len(msgs) {
	case 0:
		return outbox.Message{}, 0, fmt.Errorf("message %s: %w", id, outbox.ErrNotFound)
	case 1:
		return msgs[0], seqs[0], nil
	}
	return outbox.Message{}, 0, fmt.Errorf("message %s: %w", id, outbox.ErrAmbiguous)
}

// Replay makes a dead message pending again and records the replay.
func (s *Store) Replay(ctx context.Context, r outbox.ReplayRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replay %s: %w", r.ID, err)
	}
	defer sqlTx.Rollback()
	m, seq, err := s.messageByID(ctx, sqlTx, r.ID, r.Topic)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if m.State != outbox.StateDead {
		return fmt.Errorf("replay %s (%s): %w", r.ID, m.State, outbox.ErrNotReplayable)
	}
	topics, follow, err := s.replay(ctx, sqlTx, s.q["ReplayMessage"], seq, r.By, r.Reason)
	if err != nil {
		return fmt.Errorf("replay %s: %w", r.ID, err)
	}
	if len(topics) != 1 { // the write connection is exclusive: nothing changed it since the read
		return fmt.Errorf("replay %s: %w", r.ID, outbox.ErrNotReplayable)
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("replay %s: %w", r.ID, err)
	}
	s.Notify(append(topics, follow...)...)
	return nil
}

// ReplayAll replays the dead messages of the topics f matches.
func (s *Store) ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error) {
	if by == "" {
		return 0, fmt.Errorf("replay all: by is required")
	}
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("replay all: %w", err)
	}
	defer sqlTx.Rollback()
	topics, follow, err := s.replay(ctx, sqlTx, s.q["ReplayDead"], f.TopicPattern(), by, reason)
	if err != nil {
		return 0, fmt.Errorf("replay all: %w", err)
	}
	if err := sqlTx.Commit(); err != nil {
		return 0, fmt.Errorf("replay all: %w", err)
	}
	n := len(topics)
	topics = append(topics, follow...)
	slices.Sort(topics)
	s.Notify(slices.Compact(topics)...)
	return n, nil
}

// replay runs an update returning (seq, topic, attempts) of the replayed
// messages, records a replay of each and returns their topics.
// The second list holds the topics of follow-up messages a reactor inserted.
func (s *Store) replay(ctx context.Context, tx *sql.Tx, query string, selector any, by, reason string) ([]string, []string, error) {
	now := micros(s.now())
	rows, err := tx.QueryContext(ctx, query, selector, now)
	if err != nil {
		return nil, nil, err
	}
	type replayed struct {
		seq      int64
		topic    string
		attempts int
		id, sub  string
		md       string
	}
	var done []replayed
	for rows.Next() {
		var r replayed
		if err := rows.Scan(&r.seq, &r.topic, &r.attempts, &r.id, &r.sub, &r.md); err != nil {
			rows.Close()
			return nil, nil, err
		}
		done = append(done, r)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(done, func(a, b replayed) int { return cmp.Compare(a.seq, b.seq) })
	topics := make([]string, 0, len(done))
	var events []outbox.Event
	for _, r := range done {
		if _, err := tx.ExecContext(ctx, s.q["InsertReplay"], r.seq, now, by, reason, r.attempts); err != nil {
			return nil, nil, fmt.Errorf("record replay: %w", err)
		}
		topics = append(topics, r.topic)
		if r.sub != "" {
			var meta map[string]string
			if err := json.Unmarshal([]byte(r.md), &meta); err != nil {
				return nil, nil, fmt.Errorf("decode metadata of %s: %w", r.id, err)
			}
			events = append(events, outbox.Event{SubmissionID: r.sub, MessageID: r.id, Topic: r.topic,
				Kind: outbox.EventReplayed, Actor: by, Detail: reason, At: fromMicros(now), Metadata: meta})
		}
	}
	outbox.SortEvents(events)
	follow, err := s.record(ctx, tx, events)
	if err != nil {
		return nil, nil, err
	}
	return topics, follow, nil
}

// Replays lists a message's replays.
func (s *Store) Replays(ctx context.Context, messageID string) ([]outbox.Replay, error) {
	rows, err := s.read.QueryContext(ctx, s.q["Replays"], messageID)
	if err != nil {
		return nil, fmt.Errorf("read replays of %s: %w", messageID, err)
	}
	defer rows.Close()
	var out []outbox.Replay
	for rows.Next() {
		var r outbox.Replay
		var at int64
		if err := rows.Scan(&r.MessageID, &r.Topic, &r.By, &r.Reason, &at, &r.Attempts); err != nil {
			return nil, fmt.Errorf("read replays of %s: %w", messageID, err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
