package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// Route patterns of the admin API (net/http ServeMux patterns).
const (
	RouteList      = "GET /admin/v1/messages"
	RouteShow      = "GET /admin/v1/messages/{id}"
	RouteReplay    = "POST /admin/v1/messages/{id}/replay"
	RouteReplayAll = "POST /admin/v1/replay"
	RouteDiscard   = "POST /admin/v1/messages/{id}/discard"
	RouteEvents    = "GET /admin/v1/submissions/{id}/events"
)

// MaxBodyBytes bounds the JSON body of replay requests.
const MaxBodyBytes = 64 << 10

// ByPrefix starts the By of every replay made through the admin API; the
// remote address follows in parentheses.
const ByPrefix = "admin-api"

// Store is the part of the outbox store the admin API uses.
type Store interface {
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
	Message(ctx context.Context, id string) (outbox.Message, error)
	Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error)
	Replays(ctx context.Context, messageID string) ([]outbox.Replay, error)
	Replay(ctx context.Context, r outbox.ReplayRequest) error
	ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error)
	Discard(ctx context.Context, r outbox.ReplayRequest) error
	Events(ctx context.Context, submissionID string) ([]outbox.Event, error)
}

// Config configures a Handler.
type Config struct {
	// Admin holds the admin key hash; the admin API must be enabled (Admin.Enabled).
	Admin config.Admin
	// Store is the outbox store. Required.
	Store Store
	// Logger receives one Info record per request and the errors behind 500
	// answers, with ids, never keys or payloads. Default: discard.
	Logger *slog.Logger
	// Throttle counts failed keys per client address. Default: one from
	// Admin.FailedKeyLimit and FailedKeyWindow. Share it with the console.
	Throttle *Throttle
	// Remapper, optional, replays with "remap": true (see reload.go).
	Remapper Remapper
	// Reloader, optional, serves POST /admin/v1/reload.
	Reloader Reloader
	// Answers, when set, assigns and discards unmatched answers
	// (intake.AnswerService); the answer routes read the store.
	Answers AnswerResolver
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if !c.Admin.Enabled() {
		errs = append(errs, errors.New("neither an admin key hash nor an operator is set: the admin API is disabled"))
	}
	if errs != nil {
		return fmt.Errorf("admin api config: %w", errors.Join(errs...))
	}
	return nil
}

// Handler is the admin API, an http.Handler safe for concurrent use.
type Handler struct {
	admin    config.Admin
	store    Store
	log      *slog.Logger
	throttle *Throttle
	mux      *http.ServeMux
	remapper Remapper
	reloader Reloader
}

var _ http.Handler = (*Handler)(nil)

// New validates cfg and returns the Handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{admin: cfg.Admin, store: cfg.Store, log: cfg.Logger, throttle: cfg.Throttle, mux: http.NewServeMux(),
		remapper: cfg.Remapper, reloader: cfg.Reloader}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.throttle == nil {
		h.throttle = NewThrottle(cfg.Admin.FailedKeyLimit, cfg.Admin.FailedKeyWindow.Duration)
	}
	h.handle(RouteList, h.list)
	h.handle(RouteShow, h.show)
	h.handle(RouteReplay, h.replay)
	h.handle(RouteReplayAll, h.replayAll)
	h.handle(RouteDiscard, h.discard)
	h.handle(RouteEvents, h.events)
	h.handle(RouteReload, h.reload)
	h.handle("/admin/v1/reload", methodNotAllowed(http.MethodPost))
	h.registerAnswers(cfg.Answers)
	h.handle("/admin/v1/messages", methodNotAllowed("GET, HEAD"))
	h.handle("/admin/v1/messages/{id}", methodNotAllowed("GET, HEAD"))
	h.handle("/admin/v1/messages/{id}/replay", methodNotAllowed(http.MethodPost))
	h.handle("/admin/v1/replay", methodNotAllowed(http.MethodPost))
	h.handle("/admin/v1/messages/{id}/discard", methodNotAllowed(http.MethodPost))
	h.handle("/admin/v1/submissions/{id}/events", methodNotAllowed("GET, HEAD"))
	h.handle("/", func(http.ResponseWriter, *http.Request) error {
		return problem(ProblemNotFound, http.StatusNotFound, "no such resource")
	})
	return h, nil
}

// ServeHTTP authenticates the request, answers it within the operator's
// scope and logs it. Unauthenticated requests are logged by the route they
// would match, never by their path; a client address with too many failed
// keys gets 429 with Retry-After.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	var attrs []slog.Attr
	defer func() {
		attrs = append(attrs, slog.String("remote", r.RemoteAddr), slog.Int("status", rec.code()),
			slog.Duration("duration", time.Since(start)))
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "admin request", attrs...)
	}()
	if d, blocked := h.throttle.Blocked(r.RemoteAddr); blocked {
		attrs = []slog.Attr{slog.String("route", h.route(r))}
		p := tooManyFailures(d)
		p.anonymous = true
		writeProblem(rec, r, p)
		return
	}
	op, err := h.authenticate(r)
	if err != nil {
		if r.Header.Get("Authorization") != "" { // a wrong key; a browser's favicon request is none
			h.throttle.Fail(r.RemoteAddr)
		}
		attrs = []slog.Attr{slog.String("route", h.route(r))}
		writeProblem(rec, r, err)
		return
	}
	attrs = []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("operator", operatorName(op))}
	h.mux.ServeHTTP(rec, r.WithContext(WithOperator(r.Context(), op)))
}

// route is the pattern r would match, for logging an unauthenticated request
// without its path.
func (h *Handler) route(r *http.Request) string {
	if _, pattern := h.mux.Handler(r); pattern != "" && pattern != "/" {
		return pattern
	}
	return "unknown"
}

// operatorName is o in logs: its id, or "admin" for the full admin key.
func operatorName(o Operator) string {
	if o.Full() {
		return "admin"
	}
	return o.ID
}

// authenticate finds the operator of the bearer key, comparing it with every
// admin and operator key hash in constant time.
func (h *Handler) authenticate(r *http.Request) (Operator, *problemError) {
	values := r.Header.Values("Authorization")
	var key string
	ok := len(values) == 1
	if ok {
		var scheme string
		scheme, key, ok = strings.Cut(values[0], " ")
		key = strings.TrimLeft(key, " ")
		ok = ok && strings.EqualFold(scheme, "Bearer") && key != ""
	}
	if ok {
		if op, found := Authenticate(h.admin, key); found {
			return op, nil
		}
	}
	p := problem(ProblemUnauthorized, http.StatusUnauthorized, "an admin or operator key is required: Authorization: Bearer <key>")
	p.header = http.Header{"Www-Authenticate": {`Bearer realm="amtsbote-admin"`}}
	p.anonymous = true
	return Operator{}, p
}

func (h *Handler) handle(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			var p *problemError
			if !errors.As(err, &p) {
				p = &problemError{typ: ProblemInternal, status: http.StatusInternalServerError,
					detail: "the request could not be processed; the error has been logged", cause: err}
			}
			if p.cause != nil {
				h.log.LogAttrs(r.Context(), slog.LevelError, "admin request failed",
					slog.String("route", pattern), slog.String("problem", p.typ), slog.String("error", p.cause.Error()))
			}
			writeProblem(w, r, p)
		}
	})
}

func methodNotAllowed(allow string) func(http.ResponseWriter, *http.Request) error {
	return func(http.ResponseWriter, *http.Request) error {
		p := problem(ProblemMethodNotAllowed, http.StatusMethodNotAllowed, "allowed: "+allow)
		p.header = http.Header{"Allow": {allow}}
		return p
	}
}

// storeError maps the store's sentinel errors to problems.
func storeError(err error) error {
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		return problem(ProblemNotFound, http.StatusNotFound, "no such message")
	case errors.Is(err, outbox.ErrAmbiguous):
		return problem(ProblemAmbiguous, http.StatusConflict, "the message id exists on several topics; name the topic")
	case errors.Is(err, outbox.ErrNotReplayable):
		return problem(ProblemNotReplayable, http.StatusConflict, "only a dead message can be replayed or discarded")
	case errors.Is(err, errBadCursor):
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "after must be the next cursor of a previous page")
	}
	return err
}

var states = map[string]outbox.State{
	"": "", "pending": outbox.StatePending, "retrying": outbox.StateRetrying,
	"delivered": outbox.StateDelivered, "dead": outbox.StateDead, "discarded": outbox.StateDiscarded,
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k, vs := range q {
		switch k {
		case "status", "tenant", "procedure", "destination", "limit", "after":
			if len(vs) != 1 {
				return problem(ProblemMalformedRequest, http.StatusBadRequest, "query parameter "+k+" given more than once")
			}
		default:
			return problem(ProblemMalformedRequest, http.StatusBadRequest,
				"unknown query parameter; known are status, tenant, procedure, destination, limit and after")
		}
	}
	state, ok := states[q.Get("status")]
	if !ok {
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "status must be pending, retrying, delivered, dead or discarded")
	}
	f := outbox.ListFilter{State: state, Tenant: q.Get("tenant"), Procedure: q.Get("procedure"),
		Destination: q.Get("destination"), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > outbox.MaxListLimit {
			return problem(ProblemMalformedRequest, http.StatusBadRequest,
				fmt.Sprintf("limit must be a number from 1 to %d", outbox.MaxListLimit))
		}
		f.Limit = n
	}
	op, err := RequireOperator(r)
	if err != nil {
		return err
	}
	if v := f.After; v != "" && (op.Full() || f.Tenant != "") {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			return problem(ProblemMalformedRequest, http.StatusBadRequest, "after must be the next cursor of a previous page")
		}
	}
	msgs, next, err := ScopedList(r.Context(), h.store, op, f)
	if errors.Is(err, outbox.ErrNotFound) {
		return problem(ProblemNotFound, http.StatusNotFound, "no such tenant")
	}
	if err != nil {
		return storeError(err)
	}
	resp := ListResponse{Messages: make([]MessageView, 0, len(msgs)), Next: next}
	for _, m := range msgs {
		resp.Messages = append(resp.Messages, NewMessageView(m))
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
	return nil
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) error {
	op, err := RequireOperator(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	m, err := ScopedMessage(r.Context(), h.store, op, id, "")
	if err != nil {
		return storeError(err)
	}
	atts, err := h.store.Attempts(r.Context(), id)
	if err != nil {
		return err
	}
	reps, err := h.store.Replays(r.Context(), id)
	if err != nil {
		return err
	}
	if HasPersonalMetadata(m) {
		// Who saw a citizen's postbox reference, and when.
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "admin: personal data shown",
			slog.String("message_id", m.ID), slog.String("topic", m.Topic), slog.String("field", outbox.MetaIdentityPostboxReference),
			slog.String("operator", operatorName(op)), slog.String("remote", r.RemoteAddr))
	}
	writeJSON(w, http.StatusOK, "application/json", NewMessageDetail(m, atts, reps))
	return nil
}

// ReplayRequest is the body of POST /admin/v1/messages/{id}/replay.
type ReplayRequest struct {
	Reason string `json:"reason"`
	// Topic names the message's topic when its id exists on several.
	Topic string `json:"topic,omitempty"`
	// Remap maps the message again from its submission's stored request
	// with the current mapping before replaying it (replay only).
	Remap bool `json:"remap,omitempty"`
}

// ReplayAllRequest is the body of POST /admin/v1/replay. An empty filter
// replays every dead message.
type ReplayAllRequest struct {
	Tenant      string `json:"tenant"`
	Procedure   string `json:"procedure"`
	Destination string `json:"destination"`
	Reason      string `json:"reason"`
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request) error {
	var body ReplayRequest
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	if err := h.inScope(r, body.Topic); err != nil {
		return err
	}
	if body.Remap {
		return h.remap(w, r, body)
	}
	err := h.store.Replay(r.Context(), outbox.ReplayRequest{ID: r.PathValue("id"), Topic: body.Topic, By: by(r), Reason: body.Reason})
	if err != nil {
		return storeError(err)
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "message replayed",
		slog.String("message_id", r.PathValue("id")), slog.String("by", by(r)))
	writeJSON(w, http.StatusOK, "application/json", ReplayResponse{Replayed: 1})
	return nil
}

func (h *Handler) replayAll(w http.ResponseWriter, r *http.Request) error {
	var body ReplayAllRequest
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	op, err := RequireOperator(r)
	if err != nil {
		return err
	}
	f := outbox.ListFilter{Tenant: body.Tenant, Procedure: body.Procedure, Destination: body.Destination}
	n, err := ScopedReplayAll(r.Context(), h.store, op, f, by(r), body.Reason)
	if errors.Is(err, outbox.ErrNotFound) {
		return problem(ProblemNotFound, http.StatusNotFound, "no such tenant")
	}
	if err != nil {
		return err
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "dead messages replayed",
		slog.String("tenant", body.Tenant), slog.String("procedure", body.Procedure),
		slog.String("destination", body.Destination), slog.Int("count", n), slog.String("by", by(r)))
	writeJSON(w, http.StatusOK, "application/json", ReplayResponse{Replayed: n})
	return nil
}

// DiscardRequest is the body of POST /admin/v1/messages/{id}/discard.
type DiscardRequest = ReplayRequest

// discard gives up a dead message and answers with the message as it is now.
func (h *Handler) discard(w http.ResponseWriter, r *http.Request) error {
	var body DiscardRequest
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.inScope(r, body.Topic); err != nil {
		return err
	}
	if err := h.store.Discard(r.Context(), outbox.ReplayRequest{ID: id, Topic: body.Topic, By: by(r), Reason: body.Reason}); err != nil {
		return storeError(err)
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "message discarded", slog.String("message_id", id), slog.String("by", by(r)))
	m, err := h.store.Message(r.Context(), id)
	if err != nil && body.Topic == "" {
		return storeError(err)
	}
	if err != nil { // the id exists on several topics: find the one discarded
		msgs, _, lerr := h.store.List(r.Context(), outbox.ListFilter{State: outbox.StateDiscarded, Limit: outbox.MaxListLimit})
		if lerr != nil {
			return lerr
		}
		for _, c := range msgs {
			if c.ID == id && c.Topic == body.Topic {
				m, err = c, nil
			}
		}
		if err != nil {
			return storeError(err)
		}
	}
	writeJSON(w, http.StatusOK, "application/json", NewMessageView(m))
	return nil
}

// EventsResponse is a submission's audit trail, oldest first.
type EventsResponse struct {
	Events []EventView `json:"events"`
}

// EventView is one audit event as operators see it: with the full topic and
// the recorded actor (operator names, relay process ids).
type EventView struct {
	Seq         int64          `json:"seq"`
	Kind        string         `json:"kind"`
	Destination string         `json:"destination,omitempty"`
	Topic       string         `json:"topic,omitempty"`
	MessageID   string         `json:"message_id,omitempty"`
	Attempt     int            `json:"attempt,omitempty"`
	Outcome     outbox.Outcome `json:"outcome,omitempty"`
	Actor       string         `json:"actor"`
	Detail      string         `json:"detail,omitempty"`
	At          time.Time      `json:"at"`
}

// NewEventView is the view of e.
func NewEventView(e outbox.Event) EventView {
	v := EventView{Seq: e.Seq, Kind: string(e.Kind), Topic: e.Topic, MessageID: e.MessageID, Attempt: e.Attempt,
		Outcome: e.Outcome, Actor: e.Actor, Detail: e.Detail, At: e.At.UTC()}
	if i := strings.LastIndexByte(e.Topic, '/'); i >= 0 {
		v.Destination = e.Topic[i+1:]
	}
	return v
}

func (h *Handler) events(w http.ResponseWriter, r *http.Request) error {
	op, err := RequireOperator(r)
	if err != nil {
		return err
	}
	evs, err := ScopedEvents(r.Context(), h.store, op, r.PathValue("id"))
	if errors.Is(err, outbox.ErrNotFound) {
		return problem(ProblemNotFound, http.StatusNotFound, "no such submission")
	}
	if err != nil {
		return err
	}
	resp := EventsResponse{Events: make([]EventView, 0, len(evs))}
	for _, e := range evs {
		resp.Events = append(resp.Events, NewEventView(e))
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
	return nil
}

// inScope answers 404, as for a message that does not exist, when message
// {id} (on topic, if given) is outside the operator's scope. The full admin
// key skips the lookup, keeping the store's own answers.
func (h *Handler) inScope(r *http.Request, topic string) error {
	op, err := RequireOperator(r)
	if err != nil || op.Full() {
		return err
	}
	if _, err := ScopedMessage(r.Context(), h.store, op, r.PathValue("id"), topic); err != nil {
		return storeError(err)
	}
	return nil
}

// by names the author of a replay or discard through the admin API:
// "admin-api (address)" for the full admin key, "admin-api:<operator id>
// (address)" for an operator.
func by(r *http.Request) string {
	op, _ := OperatorFrom(r.Context())
	return op.By(ByPrefix, r.RemoteAddr)
}

// decodeBody reads a JSON object strictly into v: application/json, at most
// MaxBodyBytes, no unknown members, nothing after it.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return problem(ProblemUnsupportedMediaType, http.StatusUnsupportedMediaType, "the body must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "the body is not a valid JSON object of this request: "+jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem(ProblemMalformedRequest, http.StatusBadRequest, "the body has data after the JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error without quoting the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fmt.Sprintf("larger than %d bytes", MaxBodyBytes)
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return "wrong type of " + typ.Field
	case errors.Is(err, io.EOF):
		return "empty"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "a member that this request does not know" // never echo the name
	}
	return "invalid"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
