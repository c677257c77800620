package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// Prefix is the path under which the console is served.
const Prefix = "/console/"

// maxFormBytes bounds a form's body.
const maxFormBytes = 64 << 10

// Store is the part of the outbox store the console uses.
type Store interface {
	adminapi.Store
	Stats(ctx context.Context) ([]outbox.TopicStats, error)
	Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error)
	RecordAccess(ctx context.Context, e outbox.Event) error
}

// UnmatchedAnswer is an answer from an authority that could not be matched
// to a submission, as the unmatched-answers page lists it.
type UnmatchedAnswer struct {
	ID          string
	Tenant      string
	Source      string // <procedure>/<destination> that sent it
	MessageType string // e.g. the XÖV message type
	Reference   string // what it refers to, which matched no submission
	ReceivedAt  time.Time
}

// UnmatchedAnswers lists the unmatched answers of a tenant, newest first. It
// is the hook for the answers channel: without it the page says that the
// feature is not available.
type UnmatchedAnswers interface {
	Unmatched(ctx context.Context, tenant string, limit int) ([]UnmatchedAnswer, error)
}

// Config configures a Handler.
type Config struct {
	// Admin holds the keys, operators and console settings. Required (enabled).
	Admin config.Admin
	// Tenants are the configured tenants: names and routes for the overview;
	// Handler.Reconfigure replaces them after a reload.
	Tenants []config.Tenant
	// StalledAfter is when a destination with waiting messages counts as
	// stalled (config.Alarms.EffectiveStalledAfter).
	StalledAfter time.Duration
	// Store is the outbox store. Required.
	Store Store
	// Readiness runs the readiness checks; nil shows them as unknown.
	Readiness func(ctx context.Context) (ready bool, checks map[string]string)
	// Circuit reports a topic's circuit state ("closed", "open",
	// "half-open"); nil shows "—".
	Circuit func(topic string) string
	// Generation reports the configuration generation; nil shows "—".
	Generation func() string
	// Answers lists unmatched answers; nil when the answers channel is not
	// wired. Where it is an AnswerDesk too (StoreAnswers), the console shows
	// an answer and assigns or discards it.
	Answers UnmatchedAnswers
	// Remapper, optional, replays a dead message mapped again with the
	// mapping in force (the admin API's replay with remap); nil hides the option.
	Remapper adminapi.Remapper
	// Throttle counts failed keys per client address, shared with the admin
	// API. Default: one from Admin.FailedKeyLimit and FailedKeyWindow.
	Throttle *adminapi.Throttle
	// TLS tells that the listener speaks HTTPS: cookies are Secure and HSTS is sent.
	TLS bool
	// Logger receives logins, logouts, replays, discards and payload views,
	// with operator and message ids, never keys or payloads. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if !c.Admin.Enabled() {
		errs = append(errs, errors.New("neither an admin key nor an operator is configured"))
	}
	if c.Admin.Console.IdleTimeout.Duration <= 0 {
		errs = append(errs, errors.New("idle timeout must be positive"))
	}
	if errs != nil {
		return fmt.Errorf("console config: %w", errors.Join(errs...))
	}
	return nil
}

// Handler is the console, an http.Handler for the paths under Prefix, safe
// for concurrent use.
type Handler struct {
	cfg      Config
	store    Store
	log      *slog.Logger
	now      func() time.Time
	throttle *adminapi.Throttle
	sessions *sessions
	pages    map[string]*template.Template
	static   http.Handler
	mux      *http.ServeMux
	tenants  atomic.Pointer[[]config.Tenant] // in force: Config.Tenants or the last Reconfigure's
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New validates cfg and returns the Handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, store: cfg.Store, log: cfg.Logger, now: cfg.Now, throttle: cfg.Throttle,
		mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.throttle == nil {
		h.throttle = adminapi.NewThrottle(cfg.Admin.FailedKeyLimit, cfg.Admin.FailedKeyWindow.Duration)
	}
	h.Reconfigure(cfg.Tenants)
	lifetime := cfg.Admin.Console.SessionLifetime.Duration
	if lifetime <= 0 {
		lifetime = config.DefaultConsoleSessionLifetime
	}
	h.sessions = newSessions(cfg.Admin.Console.IdleTimeout.Duration, lifetime, h.now)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h.static = http.StripPrefix(Prefix+"static/", http.FileServerFS(sub))

	h.mux.HandleFunc("GET "+Prefix+"static/", h.serveStatic)
	h.mux.HandleFunc("GET "+Prefix+"login", h.loginForm)
	h.mux.HandleFunc("POST "+Prefix+"login", h.login)
	h.mux.HandleFunc("POST "+Prefix+"logout", h.authed(h.logout))
	h.mux.HandleFunc("GET "+Prefix+"{$}", h.authed(h.overview))
	h.mux.HandleFunc("GET "+Prefix+"dead", h.authed(h.dead))
	h.mux.HandleFunc("POST "+Prefix+"dead/replay", h.authed(h.replayAll))
	h.mux.HandleFunc("GET "+Prefix+"messages/{id}", h.authed(h.message))
	h.mux.HandleFunc("POST "+Prefix+"messages/{id}/replay", h.authed(h.action(actionReplay)))
	h.mux.HandleFunc("POST "+Prefix+"messages/{id}/discard", h.authed(h.action(actionDiscard)))
	h.mux.HandleFunc("POST "+Prefix+"messages/{id}/payload", h.authed(h.payload))
	h.mux.HandleFunc("GET "+Prefix+"search", h.authed(h.search))
	h.mux.HandleFunc("GET "+Prefix+"health", h.authed(h.health))
	h.mux.HandleFunc("GET "+Prefix+"answers", h.authed(h.answers))
	h.mux.HandleFunc("GET "+Prefix+"answers/{id}", h.authed(h.answer))
	h.mux.HandleFunc("POST "+Prefix+"answers/{id}/assign", h.authed(h.answerAction(answerAssign)))
	h.mux.HandleFunc("POST "+Prefix+"answers/{id}/discard", h.authed(h.answerAction(answerDiscard)))
	h.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, nil, http.StatusNotFound, "err.notfound")
	})
	return h, nil
}

// Reconfigure makes tenants the tenants the console shows, from the next
// request on (after a configuration reload). Sessions stay valid: an
// operator's scope comes from the admin keys, which a reload does not
// change; the pages list the tenants in force within that scope.
func (h *Handler) Reconfigure(tenants []config.Tenant) {
	ts := slices.Clone(tenants)
	h.tenants.Store(&ts)
}

// csp allows the console's own stylesheet and nothing else: no script at all.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP sets the security headers and answers the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin") // not no-referrer: browsers then send "Origin: null" with forms
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	hdr.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	hdr.Set("Cache-Control", "no-store")
	if h.cfg.TLS {
		hdr.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if r.Method == http.MethodPost && !h.sameOrigin(r) {
		h.fail(w, r, nil, http.StatusForbidden, "err.csrf")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// sameOrigin refuses a POST whose Origin (when sent) is another site's.
func (h *Handler) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	h.static.ServeHTTP(w, r)
}

// secure tells whether cookies are marked Secure.
func (h *Handler) secure(r *http.Request) bool {
	return h.cfg.TLS || r.TLS != nil || h.cfg.Admin.Console.SecureCookie
}

// by names op as the author of an action in the audit trail.
func by(op adminapi.Operator, r *http.Request) string { return op.By("console", r.RemoteAddr) }

// logAttrs are the attributes of every action's log record.
func logAttrs(op adminapi.Operator, r *http.Request, more ...slog.Attr) []slog.Attr {
	id := op.ID
	if op.Full() {
		id = "admin"
	}
	return append([]slog.Attr{slog.String("operator", id), slog.String("remote", r.RemoteAddr)}, more...)
}
