package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/amtsbote/amtsbote/outbox"
)

// List returns a page of messages matching f in insertion order.
func (s *Store) List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error) {
	after, err := f.AfterSeq()
	if err != nil {
		return nil, "", err
	}
	limit := f.PageLimit()
	msgs, seqs, err := s.d.ListMessages(ctx, after, f.State, f.TopicPattern(), limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	page, next := outbox.Page(msgs, seqs, limit)
	return page, next, nil
}

// Message returns the message with id.
func (s *Store) Message(ctx context.Context, id string) (outbox.Message, error) {
	msgs, _, err := s.d.MessagesByID(ctx, id, "")
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

// Replay makes a dead message pending again, records the replay and wakes
// the topic, all in one transaction.
func (s *Store) Replay(ctx context.Context, r outbox.ReplayRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	var topics []string
	err := s.inTx(ctx, func(ex Executor) error {
		seq, err := lockDead(ctx, ex, r)
		if err != nil {
			return err
		}
		done, err := ex.ReplayMessage(ctx, seq, s.now(), r.By, r.Reason)
		if err != nil {
			return err
		}
		if len(done) == 0 {
			return outbox.ErrNotReplayable
		}
		topics, err = s.recordReplays(ctx, ex, done, r.By, r.Reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("replay %s: %w", r.ID, err)
	}
	s.wake(topics)
	return nil
}

// Remap replaces a dead message's payload and metadata and replays it,
// recording the replay with the mapping versions, in one transaction.
func (s *Store) Remap(ctx context.Context, r outbox.RemapRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	reason := r.RemapReason()
	var topics []string
	err := s.inTx(ctx, func(ex Executor) error {
		seq, err := lockDead(ctx, ex, r.ReplayRequest)
		if err != nil {
			return err
		}
		rows, err := ex.MessagePayloads(ctx, seq-1, 1)
		if err != nil {
			return err
		}
		if len(rows) != 1 || rows[0].Seq != seq {
			return fmt.Errorf("read message payload: %w", outbox.ErrNotFound)
		}
		md := r.Metadata
		if md == nil {
			md = map[string]string{}
		}
		// The transformed event keeps the message type it recorded.
		if err := ex.KeepTransformed(ctx, seq); err != nil {
			return fmt.Errorf("keep transformed event: %w", err)
		}
		if n, err := ex.RewriteMessagePayload(ctx, rows[0], r.Payload, md); err != nil {
			return err
		} else if n != 1 {
			return errors.New("message changed while it was re-mapped")
		}
		done, err := ex.ReplayMessage(ctx, seq, s.now(), r.By, reason)
		if err != nil {
			return err
		}
		if len(done) == 0 {
			return outbox.ErrNotReplayable
		}
		topics, err = s.recordReplays(ctx, ex, done, r.By, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("remap %s: %w", r.ID, err)
	}
	s.wake(topics)
	return nil
}

// ReplayAll replays the dead messages of the topics f matches, records the
// replays and wakes their topics, in one transaction.
func (s *Store) ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error) {
	if by == "" {
		return 0, errors.New("replay all: by is required")
	}
	var n int
	var topics []string
	err := s.inTx(ctx, func(ex Executor) error {
		done, err := ex.ReplayDead(ctx, f.TopicPattern(), s.now(), by, reason)
		if err != nil {
			return err
		}
		n = len(done)
		topics, err = s.recordReplays(ctx, ex, done, by, reason)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replay all: %w", err)
	}
	s.wake(topics)
	return n, nil
}

// lockDead locks the message r names and returns its seq if it is dead.
func lockDead(ctx context.Context, ex Executor, r outbox.ReplayRequest) (int64, error) {
	locked, err := ex.LockMessages(ctx, r.ID, r.Topic)
	if err != nil {
		return 0, err
	}
	switch {
	case len(locked) == 0:
		return 0, outbox.ErrNotFound
	case len(locked) > 1:
		return 0, outbox.ErrAmbiguous
	case locked[0].State != outbox.StateDead:
		return 0, fmt.Errorf("%s: %w", locked[0].State, outbox.ErrNotReplayable)
	}
	return locked[0].Seq, nil
}

// recordReplays records the events of replayed messages and returns the
// topics to wake after the commit (theirs and those of follow-ups).
func (s *Store) recordReplays(ctx context.Context, ex Executor, done []Replayed, by, reason string) ([]string, error) {
	now := s.now()
	topics := make([]string, 0, len(done))
	var events []outbox.Event
	for _, r := range done {
		topics = append(topics, r.Topic)
		if r.SubmissionID != "" {
			events = append(events, outbox.Event{SubmissionID: r.SubmissionID, MessageID: r.ID, Topic: r.Topic,
				Kind: outbox.EventReplayed, Actor: by, Detail: reason, At: now, Metadata: r.Metadata})
		}
	}
	outbox.SortEvents(events)
	follow, err := s.record(ctx, ex, events)
	if err != nil {
		return nil, err
	}
	return append(topics, follow...), nil
}

// Replays lists a message's replays.
func (s *Store) Replays(ctx context.Context, messageID string) ([]outbox.Replay, error) {
	out, err := s.d.Replays(ctx, messageID)
	if err != nil {
		return nil, fmt.Errorf("read replays of %s: %w", messageID, err)
	}
	return out, nil
}
