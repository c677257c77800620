package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
)

// AnswerDesk is the optional capability of an UnmatchedAnswers source to
// show one answer (never its body) and to assign or discard an unmatched
// one; without it the unmatched-answers page only lists.
type AnswerDesk interface {
	// Answer returns the answer id with its facts and audit trail; an
	// unknown id is outbox.ErrNotFound.
	Answer(ctx context.Context, id string) (adminapi.AnswerDetail, error)
	// Assign assigns the unmatched answer id to a submission of its
	// tenant, with a reason, recorded in both trails (intake.AnswerService).
	Assign(ctx context.Context, id, submissionID, by, reason string) error
	// Discard discards the unmatched answer id with a reason.
	Discard(ctx context.Context, id, by, reason string) error
}

// StoreAnswers is the UnmatchedAnswers source and AnswerDesk over the
// store's answer methods and the answer service, as the admin API uses them.
type StoreAnswers struct {
	Store    adminapi.AnswerReader
	Resolver adminapi.AnswerResolver
}

var (
	_ UnmatchedAnswers = StoreAnswers{}
	_ AnswerDesk       = StoreAnswers{}
)

// Unmatched implements UnmatchedAnswers: the first limit unmatched answers
// of tenant, oldest first.
func (s StoreAnswers) Unmatched(ctx context.Context, tenant string, limit int) ([]UnmatchedAnswer, error) {
	list, _, err := s.Store.ListAnswers(ctx, outbox.AnswerFilter{State: outbox.AnswerUnmatched, Tenant: tenant, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]UnmatchedAnswer, 0, len(list))
	for _, a := range list {
		out = append(out, UnmatchedAnswer{ID: a.ID, Tenant: a.Tenant, Source: a.Source, MessageType: a.MessageType,
			Reference: a.Reference, ReceivedAt: a.ReceivedAt})
	}
	return out, nil
}

// Answer implements AnswerDesk.
func (s StoreAnswers) Answer(ctx context.Context, id string) (adminapi.AnswerDetail, error) {
	a, err := s.Store.Answer(ctx, id)
	if err != nil {
		return adminapi.AnswerDetail{}, err
	}
	evs, err := s.Store.AnswerEvents(ctx, id)
	if err != nil {
		return adminapi.AnswerDetail{}, err
	}
	return adminapi.NewAnswerDetail(a, evs), nil
}

// Assign implements AnswerDesk.
func (s StoreAnswers) Assign(ctx context.Context, id, submissionID, by, reason string) error {
	if s.Resolver == nil {
		return errors.ErrUnsupported
	}
	return s.Resolver.Assign(ctx, id, submissionID, by, reason)
}

// Discard implements AnswerDesk.
func (s StoreAnswers) Discard(ctx context.Context, id, by, reason string) error {
	if s.Resolver == nil {
		return errors.ErrUnsupported
	}
	return s.Resolver.Discard(ctx, id, by, reason)
}

const (
	answerAssign  = "assign"
	answerDiscard = "discard"
)

type answerData struct {
	Answer     adminapi.AnswerDetail
	Unmatched  bool
	Submission string // the assign form's value after a problem
	Done       string
	Problem    string
}

type confirmAnswerData struct {
	Action     string
	Answer     adminapi.AnswerView
	Submission string
	Reason     string
}

var answerDoneKeys = map[string]string{"assigned": "done.answer.assigned", "discarded": "done.answer.discarded"}

// desk is the configured AnswerDesk, or nil.
func (h *Handler) desk() AnswerDesk {
	d, _ := h.cfg.Answers.(AnswerDesk)
	return d
}

// loadAnswer reads answer {id} in s's scope: another tenant's answer is a
// 404 page, as one that does not exist.
func (h *Handler) loadAnswer(w http.ResponseWriter, r *http.Request, s request) (*answerData, bool) {
	desk := h.desk()
	if desk == nil {
		h.fail(w, r, &s, http.StatusNotFound, "err.notfound")
		return nil, false
	}
	a, err := desk.Answer(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, outbox.ErrNotFound) || err == nil && !s.op.Allows(a.Tenant):
		h.fail(w, r, &s, http.StatusNotFound, "err.notfound")
		return nil, false
	case err != nil:
		h.internal(w, r, &s, err)
		return nil, false
	}
	return &answerData{Answer: a, Unmatched: a.State == string(outbox.AnswerUnmatched)}, true
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request, s request) {
	d, ok := h.loadAnswer(w, r, s)
	if !ok {
		return
	}
	d.Done = answerDoneKeys[r.URL.Query().Get("done")]
	h.render(w, r, &s, http.StatusOK, "answer", "answer.title", d, "")
}

// answerAction assigns or discards an unmatched answer: the first POST
// (with a reason, and the submission id to assign to) shows the
// confirmation, the second (confirm=yes) acts; the answer service records
// it in the answer's trail (and the submission's) with the operator.
func (h *Handler) answerAction(kind string) func(http.ResponseWriter, *http.Request, request) {
	return func(w http.ResponseWriter, r *http.Request, s request) {
		d, ok := h.loadAnswer(w, r, s)
		if !ok {
			return
		}
		reason := strings.TrimSpace(r.PostForm.Get("reason"))
		sub := strings.TrimSpace(r.PostForm.Get("submission_id"))
		d.Submission = sub
		switch {
		case reason == "" || utf8.RuneCountInString(reason) > 500:
			d.Problem = "action.reason"
		case kind == answerAssign && (sub == "" || len(sub) > 200):
			d.Problem = "answer.submission.required"
		}
		if d.Problem != "" {
			h.render(w, r, &s, http.StatusBadRequest, "answer", "answer.title", d, "")
			return
		}
		if !d.Unmatched {
			h.fail(w, r, &s, http.StatusConflict, "err.answer.resolved")
			return
		}
		if r.PostForm.Get("confirm") != "yes" {
			h.render(w, r, &s, http.StatusOK, "confirmanswer", "confirm.answer."+kind,
				confirmAnswerData{Action: kind, Answer: d.Answer.AnswerView, Submission: sub, Reason: reason}, "")
			return
		}
		desk, id := h.desk(), d.Answer.ID
		var err error
		done := "assigned"
		if kind == answerAssign {
			err = desk.Assign(r.Context(), id, sub, by(s.op, r), reason)
		} else {
			err, done = desk.Discard(r.Context(), id, by(s.op, r), reason), "discarded"
		}
		switch {
		case errors.Is(err, intake.ErrAnswerNotFound):
			h.fail(w, r, &s, http.StatusNotFound, "err.notfound")
			return
		case errors.Is(err, intake.ErrAnswerNotUnmatched):
			h.fail(w, r, &s, http.StatusConflict, "err.answer.resolved")
			return
		case errors.Is(err, intake.ErrAssignTarget):
			d.Problem = "err.answer.target"
			h.render(w, r, &s, http.StatusUnprocessableEntity, "answer", "answer.title", d, "")
			return
		case err != nil:
			h.internal(w, r, &s, err)
			return
		}
		attrs := []slog.Attr{slog.String("answer_id", id), slog.String("tenant", d.Answer.Tenant)}
		if kind == answerAssign {
			attrs = append(attrs, slog.String("submission_id", sub))
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "console answer "+done, logAttrs(s.op, r, attrs...)...)
		http.Redirect(w, r, Prefix+"answers/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
	}
}
