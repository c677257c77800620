// Package intaketest holds test doubles of the intake's contracts for the
// tests of the adapters that call them.
package intaketest

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/transform/answers"
)

// AnswerReceiver is an intake.AnswerReceiver for tests: it parses with the
// real parser and keeps answers by message id in memory, as the answer
// service stores them (a duplicate is acknowledged, the same id with another
// body is a conflict). Fail, when set before use, decides an error before
// anything else.
type AnswerReceiver struct {
	Fail func(body []byte) error

	mu      sync.Mutex
	stored  map[string][]byte
	sources []intake.AnswerSource
	types   []string
}

var _ intake.AnswerReceiver = (*AnswerReceiver)(nil)

// NewAnswerReceiver returns an empty receiver.
func NewAnswerReceiver() *AnswerReceiver {
	return &AnswerReceiver{stored: map[string][]byte{}}
}

// Receive records the call and stores or refuses body.
func (r *AnswerReceiver) Receive(_ context.Context, src intake.AnswerSource, body []byte, contentType string) (intake.AnswerReceipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources = append(r.sources, src)
	r.types = append(r.types, contentType)
	if r.Fail != nil {
		if err := r.Fail(body); err != nil {
			return intake.AnswerReceipt{}, err
		}
	}
	a, err := answers.Parse(body, contentType, answers.Limits{})
	if err != nil {
		var pe *answers.Error
		errors.As(err, &pe)
		return intake.AnswerReceipt{}, &intake.AnswerError{Path: pe.Path, Reason: pe.Reason, Err: err}
	}
	if prev, ok := r.stored[a.MessageID]; ok {
		if !bytes.Equal(prev, body) {
			return intake.AnswerReceipt{}, intake.ErrAnswerConflict
		}
		return intake.AnswerReceipt{ID: a.MessageID, Duplicate: true}, nil
	}
	r.stored[a.MessageID] = body
	return intake.AnswerReceipt{ID: a.MessageID, Matched: true, SubmissionID: a.SubmissionReference}, nil
}

// Counts reports the calls of Receive and the answers stored.
func (r *AnswerReceiver) Counts() (calls, stored int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sources), len(r.stored)
}

// Calls returns the source and content type of each call, in order.
func (r *AnswerReceiver) Calls() (sources []intake.AnswerSource, contentTypes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]intake.AnswerSource(nil), r.sources...), append([]string(nil), r.types...)
}

// Stored reports whether an answer with messageID was stored.
func (r *AnswerReceiver) Stored(messageID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.stored[messageID]
	return ok
}
