package adminapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
)

// The answers of the authority for operators: above all the unmatched ones,
// which refer to no submission of their tenant, to assign to a submission
// or discard, each with a reason (audited in the answer's trail, and for an
// assignment in the submission's).

// Routes of answers.
const (
	RouteAnswers       = "GET /admin/v1/answers"
	RouteAnswer        = "GET /admin/v1/answers/{id}"
	RouteAnswerAssign  = "POST /admin/v1/answers/{id}/assign"
	RouteAnswerDiscard = "POST /admin/v1/answers/{id}/discard"
)

// Problem types of the answer routes.
const (
	ProblemAnswerResolved = "urn:amtsbote:problem:answer-not-unmatched" // 409: only an unmatched answer can be assigned or discarded
	ProblemAssignTarget   = "urn:amtsbote:problem:assign-target"        // 422: no submission of the answer's tenant with that id
)

// AnswerReader is the part of the store the answer routes read; an
// optional capability of Config.Store (outbox.Store has it).
type AnswerReader interface {
	ListAnswers(ctx context.Context, f outbox.AnswerFilter) ([]outbox.Answer, string, error)
	Answer(ctx context.Context, id string) (outbox.Answer, error)
	AnswerEvents(ctx context.Context, answerID string) ([]outbox.AnswerEvent, error)
}

// AnswerResolver assigns and discards unmatched answers;
// intake.AnswerService implements it.
type AnswerResolver interface {
	Assign(ctx context.Context, id, submissionID, by, reason string) error
	Discard(ctx context.Context, id, by, reason string) error
}

// AnswerView is an answer as listed, without its body.
type AnswerView struct {
	ID           string    `json:"id"`
	State        string    `json:"state"` // matched, unmatched, assigned or discarded
	Tenant       string    `json:"tenant"`
	Source       string    `json:"source"` // <procedure>/<destination> that sent it
	Channel      string    `json:"channel"`
	MessageID    string    `json:"message_id"` // the answer's own message id
	MessageType  string    `json:"message_type"`
	Status       string    `json:"status"`    // what it reports: received, case_number, incomplete, decided, filed, ...
	Reference    string    `json:"reference"` // what it refers to: a message id or submission id
	SubmissionID string    `json:"submission_id,omitempty"`
	ReceivedAt   time.Time `json:"received_at"`
	ResolvedAt   time.Time `json:"resolved_at,omitzero"`
	ResolvedBy   string    `json:"resolved_by,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Documents    int       `json:"documents"`
}

// NewAnswerView returns the view of a.
func NewAnswerView(a outbox.Answer) AnswerView {
	return AnswerView{ID: a.ID, State: string(a.State), Tenant: a.Tenant, Source: a.Source, Channel: a.Channel,
		MessageID: a.MessageID, MessageType: a.MessageType, Status: a.Status, Reference: a.Reference,
		SubmissionID: a.SubmissionID, ReceivedAt: a.ReceivedAt.UTC(), ResolvedAt: utcOrZero(a.ResolvedAt),
		ResolvedBy: a.ResolvedBy, Reason: a.Reason, Documents: len(a.Attachments)}
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// AnswersResponse is the body of GET /admin/v1/answers.
type AnswersResponse struct {
	Answers []AnswerView `json:"answers"`
	Next    string       `json:"next,omitempty"` // the cursor of the next page
}

// AnswerEventView is an entry of an answer's audit trail.
type AnswerEventView struct {
	Seq    int64     `json:"seq"`
	Kind   string    `json:"kind"`
	Actor  string    `json:"actor"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// AnswerDetail is the body of GET /admin/v1/answers/{id}: the answer, what
// it says (the facts the portal sees) and its audit trail. The body as
// received is not shown (it may carry personal data); PayloadBytes is its
// size (0 once removed).
type AnswerDetail struct {
	AnswerView
	Detail       intake.AnswerDetail `json:"detail"`
	PayloadBytes int                 `json:"payload_bytes"`
	Events       []AnswerEventView   `json:"events"`
}

// AssignRequest is the body of POST /admin/v1/answers/{id}/assign.
type AssignRequest struct {
	SubmissionID string `json:"submission_id"`
	Reason       string `json:"reason"`
}

// AnswerDiscardRequest is the body of POST /admin/v1/answers/{id}/discard.
type AnswerDiscardRequest struct {
	Reason string `json:"reason"`
}

// registerAnswers registers the answer routes when the store reads answers
// and a resolver is configured.
func (h *Handler) registerAnswers(resolver AnswerResolver) {
	reader, ok := h.store.(AnswerReader)
	if !ok {
		return
	}
	a := &answerRoutes{h: h, store: reader, resolver: resolver}
	h.handle(RouteAnswers, a.list)
	h.handle(RouteAnswer, a.show)
	h.handle("/admin/v1/answers", methodNotAllowed("GET, HEAD"))
	h.handle("/admin/v1/answers/{id}", methodNotAllowed("GET, HEAD"))
	if resolver != nil {
		h.handle(RouteAnswerAssign, a.assign)
		h.handle(RouteAnswerDiscard, a.discard)
		h.handle("/admin/v1/answers/{id}/assign", methodNotAllowed(http.MethodPost))
		h.handle("/admin/v1/answers/{id}/discard", methodNotAllowed(http.MethodPost))
	}
}

type answerRoutes struct {
	h        *Handler
	store    AnswerReader
	resolver AnswerResolver
}

var answerStates = map[string]outbox.AnswerState{
	"": "", "matched": outbox.AnswerMatched, "unmatched": outbox.AnswerUnmatched,
	"assigned": outbox.AnswerAssigned, "discarded": outbox.AnswerDiscarded,
}

// list handles RouteAnswers: ?state=&tenant=&limit=&after=.
func (a *answerRoutes) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k, vs := range q {
		switch k {
		case "state", "tenant", "limit", "after":
			if len(vs) != 1 {
				return problem(ProblemMalformedRequest, http.StatusBadRequest, "query parameter "+k+" given more than once")
			}
		default:
			return problem(ProblemMalformedRequest, http.StatusBadRequest, "unknown query parameter "+strconv.Quote(k))
		}
	}
	state, ok := answerStates[q.Get("state")]
	if !ok {
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "state must be matched, unmatched, assigned or discarded")
	}
	f := outbox.AnswerFilter{State: state, Tenant: q.Get("tenant"), After: q.Get("after")}
	op, err := RequireOperator(r)
	if err != nil {
		return err
	}
	switch {
	case f.Tenant != "" && !op.Allows(f.Tenant):
		return problem(ProblemNotFound, http.StatusNotFound, "no such tenant in the operator's scope")
	case f.Tenant == "" && !op.Full():
		// A scoped operator lists one tenant at a time.
		if ts := op.Tenants(); len(ts) == 1 {
			f.Tenant = ts[0]
		} else {
			return problem(ProblemMalformedRequest, http.StatusBadRequest, "tenant is required for an operator of several tenants")
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > outbox.MaxListLimit {
			return problem(ProblemMalformedRequest, http.StatusBadRequest,
				fmt.Sprintf("limit must be a number from 1 to %d", outbox.MaxListLimit))
		}
		f.Limit = n
	}
	list, next, err := a.store.ListAnswers(r.Context(), f)
	if errors.Is(err, outbox.ErrInvalidCursor) {
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "after must be the next cursor of a previous page")
	}
	if err != nil {
		return err
	}
	resp := AnswersResponse{Answers: make([]AnswerView, 0, len(list)), Next: next}
	for _, x := range list {
		resp.Answers = append(resp.Answers, NewAnswerView(x))
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
	return nil
}

// scopedAnswer reads the answer of the request's {id}; another tenant's
// answer than the operator's is 404, as one that does not exist.
func (a *answerRoutes) scopedAnswer(r *http.Request) (outbox.Answer, error) {
	op, err := RequireOperator(r)
	if err != nil {
		return outbox.Answer{}, err
	}
	ans, err := a.store.Answer(r.Context(), r.PathValue("id"))
	if errors.Is(err, outbox.ErrNotFound) || err == nil && !op.Allows(ans.Tenant) {
		return outbox.Answer{}, problem(ProblemNotFound, http.StatusNotFound, "no such answer")
	}
	return ans, err
}

// show handles RouteAnswer.
func (a *answerRoutes) show(w http.ResponseWriter, r *http.Request) error {
	ans, err := a.scopedAnswer(r)
	if err != nil {
		return err
	}
	evs, err := a.store.AnswerEvents(r.Context(), ans.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json", NewAnswerDetail(ans, evs))
	return nil
}

// NewAnswerDetail returns the detail of ans with its events.
func NewAnswerDetail(ans outbox.Answer, evs []outbox.AnswerEvent) AnswerDetail {
	d, _ := intake.ParseAnswerDetail(ans.Detail) // an unreadable detail shows empty
	out := AnswerDetail{AnswerView: NewAnswerView(ans), Detail: d, PayloadBytes: len(ans.Payload),
		Events: make([]AnswerEventView, 0, len(evs))}
	for _, e := range evs {
		out.Events = append(out.Events, AnswerEventView{Seq: e.Seq, Kind: e.Kind, Actor: e.Actor, Detail: e.Detail, At: e.At.UTC()})
	}
	return out
}

func resolveError(err error) error {
	switch {
	case errors.Is(err, intake.ErrAnswerNotFound):
		return problem(ProblemNotFound, http.StatusNotFound, "no such answer")
	case errors.Is(err, intake.ErrAnswerNotUnmatched):
		return problem(ProblemAnswerResolved, http.StatusConflict, "only an unmatched answer can be assigned or discarded")
	case errors.Is(err, intake.ErrAssignTarget):
		return problem(ProblemAssignTarget, http.StatusUnprocessableEntity, "no submission of the answer's tenant has this id")
	case errors.Is(err, intake.ErrReasonRequired):
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "reason is required")
	}
	return err
}

// assign handles RouteAnswerAssign.
func (a *answerRoutes) assign(w http.ResponseWriter, r *http.Request) error {
	var body AssignRequest
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.SubmissionID == "" {
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "submission_id is required")
	}
	if _, err := a.scopedAnswer(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := a.resolver.Assign(r.Context(), id, body.SubmissionID, by(r), body.Reason); err != nil {
		return resolveError(err)
	}
	a.h.log.LogAttrs(r.Context(), slog.LevelInfo, "answer assigned", slog.String("answer_id", id),
		slog.String("submission_id", body.SubmissionID), slog.String("by", by(r)))
	return a.show(w, r)
}

// discard handles RouteAnswerDiscard.
func (a *answerRoutes) discard(w http.ResponseWriter, r *http.Request) error {
	var body AnswerDiscardRequest
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if _, err := a.scopedAnswer(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := a.resolver.Discard(r.Context(), id, by(r), body.Reason); err != nil {
		return resolveError(err)
	}
	a.h.log.LogAttrs(r.Context(), slog.LevelInfo, "answer discarded", slog.String("answer_id", id), slog.String("by", by(r)))
	return a.show(w, r)
}
