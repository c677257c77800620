package sealed

import (
	"context"
	"fmt"

	"github.com/amtsbote/amtsbote/outbox"
)

// KindAnswer and KindAnswerDetail name the records of answers from the
// authority, as RewritePayloads names them: their payload (the body as
// received) and their detail (the facts shown to portals).
const (
	KindAnswer       = "answer"
	KindAnswerDetail = "answer_detail"
)

func answerBinding(id, field string) []byte { return Binding(KindAnswer, id, field) }

func (s *Store) sealAnswer(a outbox.Answer) outbox.Answer {
	if len(a.Payload) > 0 && !IsSealed(a.Payload) {
		a.Payload = s.kr.Seal(a.Payload, answerBinding(a.ID, "payload"))
	}
	if len(a.Detail) > 0 && !IsSealed(a.Detail) {
		a.Detail = s.kr.Seal(a.Detail, answerBinding(a.ID, "detail"))
	}
	return a
}

func (s *Store) openAnswer(a *outbox.Answer) error {
	p, err := s.kr.Open(a.Payload, answerBinding(a.ID, "payload"))
	if err != nil {
		return fmt.Errorf("open payload of answer %s: %w", a.ID, err)
	}
	d, err := s.kr.Open(a.Detail, answerBinding(a.ID, "detail"))
	if err != nil {
		return fmt.Errorf("open detail of answer %s: %w", a.ID, err)
	}
	a.Payload, a.Detail = p, d
	return nil
}

func (s *Store) openAnswers(answers []outbox.Answer) error {
	for i := range answers {
		if err := s.openAnswer(&answers[i]); err != nil {
			return err
		}
	}
	return nil
}

// InsertAnswer seals the answer's payload and detail and stores it.
func (t *sealedTx) InsertAnswer(ctx context.Context, a outbox.Answer) (outbox.Answer, bool, error) {
	stored, created, err := t.tx.InsertAnswer(ctx, t.s.sealAnswer(a))
	if err != nil {
		return stored, created, err
	}
	if created {
		return a, true, nil
	}
	if err := t.s.openAnswer(&stored); err != nil {
		return outbox.Answer{}, false, err
	}
	return stored, false, nil
}

// RecordAnswerEvent forwards: events carry ids and reasons only.
func (t *sealedTx) RecordAnswerEvent(ctx context.Context, e outbox.AnswerEvent) error {
	return t.tx.RecordAnswerEvent(ctx, e)
}

// AssignAnswer forwards: an assignment writes no payload.
func (t *sealedTx) AssignAnswer(ctx context.Context, a outbox.Answer) error {
	a.Payload, a.Detail = nil, nil
	return t.tx.AssignAnswer(ctx, a)
}

// AnswerTarget forwards to the inner store.
func (s *Store) AnswerTarget(ctx context.Context, messageID string) (outbox.AnswerTarget, error) {
	return s.inner.AnswerTarget(ctx, messageID)
}

// SubmissionTarget forwards to the inner store.
func (s *Store) SubmissionTarget(ctx context.Context, submissionID string) (outbox.AnswerTarget, error) {
	return s.inner.SubmissionTarget(ctx, submissionID)
}

// Answer returns an answer, opened.
func (s *Store) Answer(ctx context.Context, id string) (outbox.Answer, error) {
	a, err := s.inner.Answer(ctx, id)
	if err != nil {
		return a, err
	}
	if err := s.openAnswer(&a); err != nil {
		return outbox.Answer{}, err
	}
	return a, nil
}

// SubmissionAnswers returns a submission's answers, opened.
func (s *Store) SubmissionAnswers(ctx context.Context, submissionID string) ([]outbox.Answer, error) {
	out, err := s.inner.SubmissionAnswers(ctx, submissionID)
	if err != nil {
		return nil, err
	}
	return out, s.openAnswers(out)
}

// ListAnswers returns a page of answers, opened.
func (s *Store) ListAnswers(ctx context.Context, f outbox.AnswerFilter) ([]outbox.Answer, string, error) {
	out, next, err := s.inner.ListAnswers(ctx, f)
	if err != nil {
		return nil, "", err
	}
	return out, next, s.openAnswers(out)
}

// AnswerEvents forwards to the inner store.
func (s *Store) AnswerEvents(ctx context.Context, answerID string) ([]outbox.AnswerEvent, error) {
	return s.inner.AnswerEvents(ctx, answerID)
}

// UnmatchedAnswers forwards to the inner store.
func (s *Store) UnmatchedAnswers(ctx context.Context) (map[string]int, error) {
	return s.inner.UnmatchedAnswers(ctx)
}

// DiscardAnswer forwards to the inner store.
func (s *Store) DiscardAnswer(ctx context.Context, id, by, reason string) error {
	return s.inner.DiscardAnswer(ctx, id, by, reason)
}
