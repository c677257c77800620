package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/amtsbote/amtsbote/outbox"
)

// InsertAnswer stores an answer, its attachments and its events, unless
// the tenant has one with its message id.
func (t *tx) InsertAnswer(ctx context.Context, a outbox.Answer) (outbox.Answer, bool, error) {
	if a.ReceivedAt.IsZero() {
		a.ReceivedAt = t.s.now()
	}
	if len(a.Attachments) > 0 && a.SubmissionID == "" {
		return outbox.Answer{}, false, fmt.Errorf("insert answer %s: attachments need a submission", a.ID)
	}
	inserted, err := t.ex.InsertAnswer(ctx, a)
	if err != nil {
		return outbox.Answer{}, false, fmt.Errorf("insert answer %s: %w", a.ID, err)
	}
	if !inserted {
		existing, err := t.ex.AnswerByMessageID(ctx, a.Tenant, a.MessageID)
		if err != nil {
			return outbox.Answer{}, false, fmt.Errorf("read answer by message id: %w", err)
		}
		return existing, false, nil
	}
	actor := outbox.ActorAnswers(a.Tenant, a.Source)
	if err := t.attach(ctx, a, actor, outbox.AnswerEventReceived, string(a.State)); err != nil {
		return outbox.Answer{}, false, err
	}
	return a, true, nil
}

// attach records the attachments of answer a, its answer event kind, and,
// with a submission, EventAnswer in the submission's trail.
func (t *tx) attach(ctx context.Context, a outbox.Answer, actor, kind, detail string) error {
	if len(a.Attachments) > 0 {
		if err := t.ex.InsertAnswerAttachments(ctx, a.ID, a.Attachments); err != nil {
			return fmt.Errorf("insert attachments of answer %s: %w", a.ID, err)
		}
	}
	now := t.s.now()
	if err := t.ex.InsertAnswerEvent(ctx, outbox.AnswerEvent{AnswerID: a.ID, Kind: kind, Actor: actor, Detail: detail, At: now}); err != nil {
		return fmt.Errorf("record answer event: %w", err)
	}
	if a.SubmissionID == "" {
		return nil
	}
	topics, err := t.s.record(ctx, t.ex, []outbox.Event{{SubmissionID: a.SubmissionID, MessageID: a.ID,
		Kind: outbox.EventAnswer, Actor: actor, Detail: a.Status, At: now}})
	if err != nil {
		return err
	}
	t.topics = append(t.topics, topics...)
	return nil
}

// RecordAnswerEvent appends an event to an answer's trail.
func (t *tx) RecordAnswerEvent(ctx context.Context, e outbox.AnswerEvent) error {
	if e.At.IsZero() {
		e.At = t.s.now()
	}
	if err := t.ex.InsertAnswerEvent(ctx, e); err != nil {
		return fmt.Errorf("record answer event: %w", err)
	}
	return nil
}

// AssignAnswer assigns an unmatched answer to a submission.
func (t *tx) AssignAnswer(ctx context.Context, a outbox.Answer) error {
	stored, err := t.ex.AnswerByID(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("assign answer %s: %w", a.ID, err)
	}
	if stored.State != outbox.AnswerUnmatched {
		return fmt.Errorf("assign answer %s: %w", a.ID, outbox.ErrAnswerResolved)
	}
	if a.SubmissionID == "" {
		return fmt.Errorf("assign answer %s: no submission", a.ID)
	}
	changed, err := t.ex.AssignAnswer(ctx, a, t.s.now())
	if err != nil {
		return fmt.Errorf("assign answer %s: %w", a.ID, err)
	}
	if !changed {
		return fmt.Errorf("assign answer %s: %w", a.ID, outbox.ErrAnswerResolved)
	}
	stored.SubmissionID, stored.RefMessage, stored.Attachments = a.SubmissionID, a.RefMessage, a.Attachments
	return t.attach(ctx, stored, a.ResolvedBy, outbox.AnswerEventAssigned, a.Reason)
}

// AnswerTarget returns the submission a message id belongs to.
func (s *Store) AnswerTarget(ctx context.Context, messageID string) (outbox.AnswerTarget, error) {
	ts, err := s.d.MessageTarget(ctx, messageID)
	switch {
	case err != nil:
		return outbox.AnswerTarget{}, fmt.Errorf("read message %s: %w", messageID, err)
	case len(ts) == 0:
		return outbox.AnswerTarget{}, outbox.ErrNotFound
	case len(ts) > 1:
		return outbox.AnswerTarget{}, outbox.ErrAmbiguous
	}
	return ts[0], nil
}

// SubmissionTarget returns a submission as the target of an answer.
func (s *Store) SubmissionTarget(ctx context.Context, submissionID string) (outbox.AnswerTarget, error) {
	portal, tenant, _, err := s.d.SubmissionInfo(ctx, submissionID)
	if errors.Is(err, outbox.ErrNotFound) {
		return outbox.AnswerTarget{}, outbox.ErrNotFound
	}
	if err != nil {
		return outbox.AnswerTarget{}, fmt.Errorf("read submission %s: %w", submissionID, err)
	}
	return outbox.AnswerTarget{SubmissionID: submissionID, Tenant: tenant, PortalID: portal}, nil
}

// Answer returns an answer with its payload and attachments.
func (s *Store) Answer(ctx context.Context, id string) (outbox.Answer, error) {
	a, err := s.d.AnswerByID(ctx, id)
	if errors.Is(err, outbox.ErrNotFound) {
		return outbox.Answer{}, outbox.ErrNotFound
	}
	if err != nil {
		return outbox.Answer{}, fmt.Errorf("read answer %s: %w", id, err)
	}
	out := []outbox.Answer{a}
	if err := s.withAttachments(ctx, out); err != nil {
		return outbox.Answer{}, err
	}
	return out[0], nil
}

// withAttachments fills the attachments of answers.
func (s *Store) withAttachments(ctx context.Context, answers []outbox.Answer) error {
	if len(answers) == 0 {
		return nil
	}
	ids := make([]string, len(answers))
	idx := make(map[string]int, len(answers))
	for i, a := range answers {
		ids[i], idx[a.ID] = a.ID, i
	}
	rows, err := s.d.AnswerAttachments(ctx, ids)
	if err != nil {
		return fmt.Errorf("read answer attachments: %w", err)
	}
	for _, r := range rows {
		if i, ok := idx[r.AnswerID]; ok {
			answers[i].Attachments = append(answers[i].Attachments, r.AnswerAttachment)
		}
	}
	return nil
}

// SubmissionAnswers returns a submission's answers with their attachments.
func (s *Store) SubmissionAnswers(ctx context.Context, submissionID string) ([]outbox.Answer, error) {
	out, err := s.d.AnswersBySubmission(ctx, submissionID)
	if err != nil {
		return nil, fmt.Errorf("read answers of %s: %w", submissionID, err)
	}
	return out, s.withAttachments(ctx, out)
}

// ListAnswers returns a page of answers.
func (s *Store) ListAnswers(ctx context.Context, f outbox.AnswerFilter) ([]outbox.Answer, string, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, "", fmt.Errorf("list answers: unknown state %q", f.State)
	}
	after, err := outbox.ParseAnswerCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	limit := f.PageLimit()
	out, err := s.d.ListAnswers(ctx, f.State, f.Tenant, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list answers: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = outbox.AnswerCursor{ReceivedAt: last.ReceivedAt, ID: last.ID}.String()
	}
	return out, next, s.withAttachments(ctx, out)
}

// AnswerEvents returns an answer's audit trail.
func (s *Store) AnswerEvents(ctx context.Context, answerID string) ([]outbox.AnswerEvent, error) {
	out, err := s.d.AnswerEvents(ctx, answerID)
	if err != nil {
		return nil, fmt.Errorf("read events of answer %s: %w", answerID, err)
	}
	return out, nil
}

// UnmatchedAnswers counts unmatched answers per tenant.
func (s *Store) UnmatchedAnswers(ctx context.Context) (map[string]int, error) {
	out, err := s.d.UnmatchedAnswers(ctx)
	if err != nil {
		return nil, fmt.Errorf("count unmatched answers: %w", err)
	}
	return out, nil
}

// DiscardAnswer discards an unmatched answer.
func (s *Store) DiscardAnswer(ctx context.Context, id, by, reason string) error {
	if by == "" {
		return errors.New("discard answer: by is required")
	}
	return s.inTx(ctx, func(ex Executor) error {
		now := s.now()
		changed, err := ex.DiscardAnswer(ctx, id, by, reason, now)
		if err != nil {
			return fmt.Errorf("discard answer %s: %w", id, err)
		}
		if !changed {
			if _, err := ex.AnswerState(ctx, id); err != nil {
				return fmt.Errorf("discard answer %s: %w", id, err)
			}
			return fmt.Errorf("discard answer %s: %w", id, outbox.ErrAnswerResolved)
		}
		if err := ex.InsertAnswerEvent(ctx, outbox.AnswerEvent{AnswerID: id, Kind: outbox.AnswerEventDiscarded,
			Actor: by, Detail: reason, At: now}); err != nil {
			return fmt.Errorf("record discard of answer %s: %w", id, err)
		}
		return nil
	})
}
