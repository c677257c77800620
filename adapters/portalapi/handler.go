package portalapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/outbox"
)

// DefaultMaxBodyBytes is the default of Config.MaxBodyBytes.
const DefaultMaxBodyBytes = 10 << 20 // 10 MiB

// Route patterns of the API (net/http ServeMux patterns).
const (
	RouteSubmit = "POST /v1/submissions"
	RouteStatus = "GET /v1/submissions/{id}"
)

// Config configures a Handler.
type Config struct {
	// Config holds the tenants, portals and routes. Required. It must not be
	// changed while the Handler is in use; Reconfigure replaces it.
	Config *config.Config
	// Intake accepts the submissions (intake.Service). Required.
	Intake Intake
	// Store is the outbox that the status, list and events endpoints read.
	// Required.
	Store Store
	// MaxBodyBytes is the largest request body accepted. Default
	// DefaultMaxBodyBytes; it may not be negative.
	MaxBodyBytes int64
	// Logger receives one Info record per request and the errors behind 500
	// and 503 answers, with ids, never bodies or keys. Default: discard.
	Logger *slog.Logger
	// Now returns the current time, for the rate limits and the key
	// rotation. Default time.Now.
	Now func() time.Time
	// Observer, when set, is told the outcome of every request (metrics).
	Observer RequestObserver
	// AuthFailureRate and AuthFailureBurst limit failed authentications
	// per client IP address (a token bucket): an address that has used up
	// its failures gets 429 before its key is looked at. Defaults
	// DefaultAuthFailureRate and DefaultAuthFailureBurst.
	AuthFailureRate  float64
	AuthFailureBurst int
	// AuthFailureClients bounds the client addresses tracked for that.
	// Default DefaultAuthFailureClients.
	AuthFailureClients int
	// MaxInflightBodyBytes bounds the request bodies held in memory by all
	// requests together, reserved in steps of 64 KiB as they arrive (not as
	// announced); a request waits for room, and gets 503 when there is none
	// within InflightWait. A multipart request holds its submission part
	// and one chunk of its upload (outbox.BlobChunkSize). Default four
	// times MaxBodyBytes; at least MaxBodyBytes plus 576 KiB.
	MaxInflightBodyBytes int64
	// PortalInflightBodyBytes bounds the part of MaxInflightBodyBytes the
	// requests of one portal may hold together; beyond it they wait, and
	// get 429 when no room frees up within InflightWait. Default half of
	// MaxInflightBodyBytes, at least MaxBodyBytes plus 576 KiB.
	PortalInflightBodyBytes int64
	// InflightWait bounds that wait. Default DefaultInflightWait.
	InflightWait time.Duration
	// MaxUploads bounds the submissions in progress (from authentication to
	// the answer) of all portals (503 beyond it), PortalMaxUploads those of
	// one portal (429 beyond it). Defaults DefaultMaxUploads and
	// DefaultPortalMaxUploads.
	MaxUploads       int
	PortalMaxUploads int
	// BodyBufferBytes is the part of a JSON body kept in memory while it
	// arrives; the rest goes to an encrypted, unlinked temporary file in
	// SpoolDir (the system's temporary directory when empty) until the body
	// is complete. Default DefaultBodyBufferBytes; at least 64 KiB.
	BodyBufferBytes int64
	SpoolDir        string
	// MinBodyRate (bytes per second) and BodyRateGrace cut a body that
	// arrives too slowly: it may take BodyRateGrace plus one second per
	// MinBodyRate bytes received, else its connection is closed after a
	// 408. Zero MinBodyRate: no minimum.
	MinBodyRate   int64
	BodyRateGrace time.Duration
	// UploadIdleTimeout bounds how long a multipart upload may make no
	// progress: every 64 KiB received extend the connection's read
	// deadline by it (and its write deadline by it plus WriteTimeout), so
	// that large attachments are not cut off by the server's total read
	// timeout. A JSON body may take it in all (the server's read timeout).
	// Zero leaves the server's timeouts in force.
	UploadIdleTimeout time.Duration
	// WriteTimeout is the server's write timeout, for the extended write
	// deadline of an upload.
	WriteTimeout time.Duration
	// IdentityTokens verifies the identity tokens of portals with
	// config.Portal.IdentityToken and caches the providers' key sets.
	// Default: a new idtoken.Registry with Logger and Now.
	IdentityTokens *idtoken.Registry
	// Answers, when set, receives the answers of POST /v1/answers
	// (intake.AnswerService); without it the route does not exist.
	Answers AnswerReceiver
	// DatabaseTimeout bounds the database work of a request: the reads of
	// the status endpoints, and for a JSON submission everything after its
	// body arrived (Intake bounds each database call of an upload itself).
	// After it the request gets 503 with Retry-After. Default
	// DefaultDatabaseTimeout.
	DatabaseTimeout time.Duration
}

// DefaultDatabaseTimeout is the default of Config.DatabaseTimeout.
const DefaultDatabaseTimeout = 5 * time.Second

// DefaultBodyBufferBytes is the default of Config.BodyBufferBytes.
const DefaultBodyBufferBytes = 256 << 10

// DefaultInflightWait is the default of Config.InflightWait.
const DefaultInflightWait = 10 * time.Second

// RequestObserver is told the outcome of every request, after its answer.
type RequestObserver interface {
	ObserveRequest(RequestOutcome)
}

// RequestOutcome describes one answered request. Its strings come from the
// configuration and the route table, never from the request, so metrics
// labelled with them stay bounded.
type RequestOutcome struct {
	Route  string // the route pattern (RouteSubmit, ...); empty for unknown paths and while draining
	Portal string // the authenticated portal's id; empty when authentication failed
	// PreviousKey: the portal authenticated with its previous API key
	// (config.PreviousKey), which it should stop using before it expires.
	PreviousKey bool
	Tenant      string // a configured tenant id, once the request named one the portal may use
	Procedure   string // a configured procedure id, likewise
	Status      int
	Replayed    bool // an idempotent replay of an earlier submission
	Duration    time.Duration
	// IdentityRefused is the reason (an idtoken.Reason constant) the
	// applicant's identity token was missing or refused; empty otherwise.
	IdentityRefused string
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Config == nil {
		errs = append(errs, errors.New("config is nil"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if c.Intake == nil {
		errs = append(errs, errors.New("intake is nil"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body bytes is negative (%d)", c.MaxBodyBytes))
	}
	if c.AuthFailureRate < 0 || c.AuthFailureBurst < 0 || c.AuthFailureClients < 0 {
		errs = append(errs, errors.New("auth failure limits must not be negative"))
	}
	if c.InflightWait < 0 {
		errs = append(errs, fmt.Errorf("inflight wait is negative (%s)", c.InflightWait))
	}
	if c.MaxInflightBodyBytes < 0 || c.PortalInflightBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("inflight body bytes are negative (%d, portal %d)", c.MaxInflightBodyBytes, c.PortalInflightBodyBytes))
	}
	if c.MaxUploads < 0 || c.PortalMaxUploads < 0 || c.BodyBufferBytes < 0 || c.MinBodyRate < 0 || c.BodyRateGrace < 0 || c.DatabaseTimeout < 0 {
		errs = append(errs, errors.New("uploads, body rate, grace and database timeout must not be negative"))
	}
	if errs != nil {
		return fmt.Errorf("portal api config: %w", errors.Join(errs...))
	}
	return nil
}

// Intake accepts a decoded submission; intake.Service implements it. The
// Handler authenticates the portal, decodes the request, checks the
// portal's permission and answers Accept's outcome.
type Intake interface {
	Accept(ctx context.Context, r intake.Request) (intake.Receipt, error)
}

// Store is the part of the outbox that the status, list and events
// endpoints read; outbox.Store has it.
type Store interface {
	Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error)
	Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error)
	Events(ctx context.Context, submissionID string) ([]outbox.Event, error)
	ListSubmissions(ctx context.Context, f outbox.SubmissionFilter) ([]outbox.SubmissionStatus, string, error)
}

var _ Store = outbox.Store(nil)

// Handler is the portal API, an http.Handler. It is safe for concurrent use.
type Handler struct {
	// portals are the configured portals and their rate limiters, read
	// once per request; Reconfigure replaces them (a reload).
	portals      atomic.Pointer[portalSetup]
	intake       Intake
	store        Store
	maxBody      int64
	log          *slog.Logger
	now          func() time.Time
	mux          *http.ServeMux
	observer     RequestObserver
	draining     atomic.Bool
	failures     *failureLimiter
	shares       *intakeShares
	uploadIdle   time.Duration
	writeTimeout time.Duration
	idtokens     *idtoken.Registry
	answers      AnswerReceiver
	answerStore  AnswerStore // nil: the store keeps no answers
	minRate      int64
	rateGrace    time.Duration
	bodyBuffer   int64
	spoolDir     string
	dbTimeout    time.Duration
}

var _ http.Handler = (*Handler)(nil)

// New validates cfg and returns the Handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{
		intake:   cfg.Intake,
		store:    cfg.Store,
		maxBody:  cfg.MaxBodyBytes,
		log:      cfg.Logger,
		now:      cfg.Now,
		mux:      http.NewServeMux(),
		observer: cfg.Observer,
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.portals.Store(&portalSetup{cfg: cfg.Config, limits: newPortalLimiters(cfg.Config.Portals, nil)})
	h.failures = newFailureLimiter(cmp.Or(cfg.AuthFailureRate, DefaultAuthFailureRate),
		cmp.Or(cfg.AuthFailureBurst, DefaultAuthFailureBurst), cmp.Or(cfg.AuthFailureClients, DefaultAuthFailureClients))
	h.answers = cfg.Answers
	h.answerStore, _ = cfg.Store.(AnswerStore)
	// Room for one request at least: a body, or a multipart request's
	// submission part and the chunk of its upload, or the largest answer.
	oneRequest := max(h.maxBody+budgetStep+outbox.BlobChunkSize, roundUp(maxAnswerBytes(cfg.Config), budgetStep))
	total := max(oneRequest, cmp.Or(cfg.MaxInflightBodyBytes, 4*h.maxBody))
	h.shares = newIntakeShares(total, max(oneRequest, cmp.Or(cfg.PortalInflightBodyBytes, total/2)),
		cmp.Or(cfg.InflightWait, DefaultInflightWait),
		cmp.Or(cfg.MaxUploads, DefaultMaxUploads), cmp.Or(cfg.PortalMaxUploads, DefaultPortalMaxUploads))
	h.uploadIdle, h.writeTimeout = cfg.UploadIdleTimeout, cfg.WriteTimeout
	h.idtokens = cfg.IdentityTokens
	if h.idtokens == nil {
		h.idtokens = idtoken.NewRegistry(idtoken.Options{Logger: h.log, Now: h.now})
	}
	h.minRate, h.rateGrace = cfg.MinBodyRate, cfg.BodyRateGrace
	h.bodyBuffer, h.spoolDir = max(budgetStep, cmp.Or(cfg.BodyBufferBytes, DefaultBodyBufferBytes)), cfg.SpoolDir
	h.dbTimeout = cmp.Or(cfg.DatabaseTimeout, DefaultDatabaseTimeout)

	h.handle(RouteSubmit, h.submit)
	h.handle(RouteStatus, h.status)
	h.handle(RouteList, h.list)
	h.handle(RouteEvents, h.events)
	h.handle(RouteAnswerDocument, h.answerDocument)
	if h.answers != nil {
		h.handle(RouteAnswers, h.receiveAnswer)
		h.handle("/v1/answers", methodNotAllowed(http.MethodPost))
	}
	// The same paths with any other method, and everything else, answer
	// with problems instead of the ServeMux's plain-text errors.
	h.handle("/v1/submissions", methodNotAllowed(http.MethodGet+", "+http.MethodHead+", "+http.MethodPost))
	h.handle("/v1/submissions/{id}", methodNotAllowed(http.MethodGet+", "+http.MethodHead))
	h.handle("/v1/submissions/{id}/events", methodNotAllowed(http.MethodGet+", "+http.MethodHead))
	h.handle("/", func(http.ResponseWriter, *http.Request) error {
		return errNotFound(text("no such resource", "keine solche Ressource"))
	})
	return h, nil
}

// portalSetup is one generation of the portals' configuration.
type portalSetup struct {
	cfg    *config.Config
	limits portalLimiters
}

// Reconfigure replaces the portals (keys, permissions, rate limits) for
// the requests that start from now on; those in flight finish with the ones
// they started with. A portal whose rate limit is unchanged keeps its
// bucket. cfg must be validated and must not change afterwards.
func (h *Handler) Reconfigure(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("portal api: reconfigure: config is nil")
	}
	old := h.portals.Load()
	h.portals.Store(&portalSetup{cfg: cfg, limits: newPortalLimiters(cfg.Portals, old)})
	return nil
}

// SetDraining switches draining on or off. While draining, as during
// shutdown, every request is answered with 503, Retry-After and
// "Connection: close", so that portals retry elsewhere or later and
// keep-alive connections end. Call it before http.Server.Shutdown.
func (h *Handler) SetDraining(draining bool) { h.draining.Store(draining) }

// ServeHTTP answers one request and logs it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	rec := &statusRecorder{ResponseWriter: w}
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")

	defer func() {
		h.logRequest(r, rec, info, start)
		if h.observer != nil {
			h.observer.ObserveRequest(RequestOutcome{
				Route: info.route, Portal: info.portal, PreviousKey: info.previousKey, Tenant: info.tenant,
				Procedure: info.procedure, Status: rec.code(), Replayed: info.replayed, Duration: time.Since(start),
				IdentityRefused: info.identityRefused,
			})
		}
	}()
	defer h.recoverPanic(rec, r, info)

	if h.draining.Load() {
		hdr.Set("Connection", "close")
		writeProblem(rec, r, errUnavailable(text("the server is shutting down", "der Server wird heruntergefahren"), nil))
		return
	}
	h.mux.ServeHTTP(rec, r)
}

// logRequest writes the record of an answered request at level Info. The
// record carries no caller (pc 0): it would always name this function, and
// finding it (runtime.Callers) was a third of the record's cost.
func (h *Handler) logRequest(r *http.Request, rec *statusRecorder, info *requestInfo, start time.Time) {
	ctx := r.Context()
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	record := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	record.AddAttrs(
		slog.String("method", r.Method),
		slog.String("route", info.route),
		slog.Int("status", rec.code()),
		slog.Duration("duration", time.Since(start)),
	)
	if info.portal != "" {
		record.AddAttrs(slog.String("portal_id", info.portal))
	}
	if info.submission != "" {
		record.AddAttrs(slog.String("submission_id", info.submission))
	}
	if info.previousKey {
		record.AddAttrs(slog.String("api_key", "previous"))
	}
	if info.replayed {
		record.AddAttrs(slog.Bool("idempotent_replayed", true))
	}
	_ = h.log.Handler().Handle(ctx, record) // as slog.Logger, which ignores the handler's error
}

// recoverPanic turns a panic of a handler into a logged 500 problem.
func (h *Handler) recoverPanic(w *statusRecorder, r *http.Request, info *requestInfo) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler { // net/http's way to abort a response; it handles it
		panic(p)
	}
	// A panic value may carry request data; only runtime errors, which
	// carry none, are logged with their message.
	what := fmt.Sprintf("%T", p)
	if re, ok := p.(runtime.Error); ok {
		what = re.Error()
	}
	h.log.LogAttrs(r.Context(), slog.LevelError, "handler panicked",
		slog.String("route", info.route),
		slog.String("portal_id", info.portal),
		slog.String("submission_id", info.submission),
		slog.String("panic", what),
		slog.String("stack", string(debug.Stack())))
	if w.wrote {
		return // too late for a problem; the client sees a truncated response
	}
	writeProblem(w, r, errInternal(nil))
}

// handle registers fn for pattern: it records the route for the request log
// and answers fn's error with a problem.
func (h *Handler) handle(pattern string, fn func(http.ResponseWriter, *http.Request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r.Context())
		info.route = pattern
		if pattern != RouteSubmit { // a submission bounds its database work after its body arrived
			ctx, cancel := context.WithTimeout(r.Context(), h.dbTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if err := fn(w, r); err != nil {
			h.fail(w, r, info, err)
		}
	})
}

// fail answers err: a *problemError as itself, anything else as 500. The
// cause behind a problem is logged with the ids of the request.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, info *requestInfo, err error) {
	var p *problemError
	if !errors.As(err, &p) {
		p = errInternal(err)
	}
	if p.cause != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("route", info.route),
			slog.String("portal_id", info.portal),
			slog.String("submission_id", info.submission),
			slog.String("problem", p.typ),
			slog.String("error", p.cause.Error()))
	}
	writeProblem(w, r, p)
}

func methodNotAllowed(allow string) func(http.ResponseWriter, *http.Request) error {
	return func(http.ResponseWriter, *http.Request) error { return errMethodNotAllowed(allow) }
}

// errKeyRequired is the detail of a request without a bearer key.
var errKeyRequired = text("an API key is required: Authorization: Bearer <key>",
	"ein API-Schlüssel ist erforderlich: Authorization: Bearer <key>")

// authenticate returns the portal of the request's bearer key, after the
// checks in this order: the client address has failed authentication too
// often (429, the key is not looked at); no or an unknown key (401); the
// portal requires a client certificate and the request has no verified one
// matching it (401); the portal is over its rate limit (429). The key is
// compared in constant time (config.Config.PortalByKey) and never logged;
// a failure is logged at Warn with the client address and a hint. A
// portal's previous key is accepted until it expires; the request log and
// RequestOutcome say when it was used.
func (h *Handler) authenticate(r *http.Request) (*config.Portal, error) {
	now := h.now()
	client := clientAddr(r.RemoteAddr)
	if wait, blocked := h.failures.blocked(client, now); blocked {
		return nil, errTooManyRequests(wait)
	}
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return nil, h.authFailed(r, client, now, "missing_key", "", errUnauthorized(errKeyRequired))
	}
	scheme, key, ok := strings.Cut(values[0], " ")
	key = strings.TrimLeft(key, " ")
	if len(values) != 1 || !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return nil, h.authFailed(r, client, now, "malformed_authorization", "", errUnauthorized(errKeyRequired))
	}
	portals := h.portals.Load()
	portal, use := portals.cfg.PortalByKey(key, now)
	if use == config.KeyNone {
		return nil, h.authFailed(r, client, now, "unknown_key", "",
			errUnauthorized(text("the API key is not valid", "der API-Schlüssel ist ungültig")))
	}
	if portal.ClientCert != nil && !clientCertMatches(r, portal.ClientCert) {
		return nil, h.authFailed(r, client, now, "client_certificate", portal.ID,
			errUnauthorized(text("this API key requires the portal's TLS client certificate",
				"dieser API-Schlüssel erfordert das TLS-Client-Zertifikat des Portals")))
	}
	info := infoOf(r.Context())
	info.portal, info.previousKey = portal.ID, use == config.KeyPrevious
	if wait, ok := portals.limits.take(portal.ID, now); !ok {
		return nil, errTooManyRequests(wait)
	}
	return portal, nil
}

// maxHintLength bounds the client certificate name in the log.
const maxHintLength = 64

// authFailed records a failed authentication for the client's failure
// limit, logs it without the key, and returns p.
func (h *Handler) authFailed(r *http.Request, client string, now time.Time, reason, portal string, p *problemError) *problemError {
	h.failures.fail(client, now)
	attrs := []slog.Attr{
		slog.String("remote_addr", client),
		slog.String("reason", reason),
		slog.String("route", infoOf(r.Context()).route),
	}
	if portal != "" {
		attrs = append(attrs, slog.String("portal_id", portal))
	}
	if cn := peerCN(r); cn != "" {
		if len(cn) > maxHintLength {
			cn = cn[:maxHintLength]
		}
		attrs = append(attrs, slog.String("client_cert_cn", cn))
	}
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "authentication failed", attrs...)
	return p
}

// requestInfo collects what the request log reports beyond the request line.
type requestInfo struct {
	route      string // the ServeMux pattern; empty while draining
	portal     string // the authenticated portal's id
	submission string // the submission id, when known
	tenant     string // a configured tenant id the portal may use
	procedure  string // a configured procedure id of that tenant
	replayed   bool   // an idempotent replay
	// previousKey: the portal authenticated with its previous API key.
	previousKey bool
	// identityRefused: why the identity token was refused, if it was.
	identityRefused string
}

type requestInfoKey struct{}

// infoOf returns the requestInfo that ServeHTTP put into ctx.
func infoOf(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{} // the mux was reached without ServeHTTP; nothing to log
}

// statusRecorder remembers the status of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status for the log: 200 when nothing was written, as net/http
// answers then.
func (w *statusRecorder) code() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.status
}
