package metrics

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Database is what readiness asks of the outbox store.
type Database interface {
	Ping(ctx context.Context) error
	MigrationsApplied(ctx context.Context) (bool, error)
}

// Runner tells whether the relay delivers.
type Runner interface {
	IsRunning() bool
}

// HealthConfig configures Health.
type HealthConfig struct {
	// Database is pinged and asked for its migrations. Required.
	Database Database
	// Relay must be running. Required.
	Relay Runner
	// Timeout bounds the database checks of one probe. Default 2s.
	Timeout time.Duration
	// CacheFor reuses a probe's result for later requests within this time,
	// so that frequent probes stay cheap. Default 1s.
	CacheFor time.Duration
	// Logger receives changes of readiness. Default: discard.
	Logger *slog.Logger
}

// Health answers the liveness (/healthz) and readiness (/readyz) probes.
type Health struct {
	cfg      HealthConfig
	stopping atomic.Bool
	migrated atomic.Bool // once applied, migrations stay applied for this process

	mu      sync.Mutex
	at      time.Time
	last    Readiness
	reports int
}

// Readiness is the body of a /readyz answer.
type Readiness struct {
	Status string            `json:"status"` // "ready" or "not ready"
	Checks map[string]string `json:"checks"` // check name: "ok" or what is wrong
}

// Ready reports whether every check passed.
func (r Readiness) Ready() bool { return r.Status == "ready" }

// NewHealth returns the probes.
func NewHealth(cfg HealthConfig) *Health {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheFor <= 0 {
		cfg.CacheFor = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Health{cfg: cfg}
}

// SetStopping marks the process as shutting down: from then on it is not
// ready, so load balancers take it out of rotation. Call it when intake stops.
func (h *Health) SetStopping(stopping bool) { h.stopping.Store(stopping) }

// Check runs the readiness checks, or returns the result of one run within
// CacheFor.
func (h *Health) Check(ctx context.Context) Readiness {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if h.reports > 0 && now.Sub(h.at) < h.cfg.CacheFor && !h.stopping.Load() {
		return h.last
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	checks := map[string]string{"database": "ok", "migrations": "ok", "relay": "ok"}
	var errDB error
	if err := h.cfg.Database.Ping(ctx); err != nil {
		checks["database"], errDB = "unreachable", err
		checks["migrations"] = "unknown"
	} else if !h.migrated.Load() {
		switch ok, err := h.cfg.Database.MigrationsApplied(ctx); {
		case err != nil:
			checks["migrations"], errDB = "unknown", err
		case !ok:
			checks["migrations"] = "not applied"
		default:
			h.migrated.Store(true)
		}
	}
	if h.cfg.Relay == nil || !h.cfg.Relay.IsRunning() {
		checks["relay"] = "not running"
	}
	if h.stopping.Load() {
		checks["shutdown"] = "stopping"
	}
	r := Readiness{Status: "ready", Checks: checks}
	for _, v := range checks {
		if v != "ok" {
			r.Status = "not ready"
		}
	}
	if h.reports == 0 || r.Status != h.last.Status {
		attrs := []any{slog.String("status", r.Status), slog.Any("checks", checks)}
		if errDB != nil {
			attrs = append(attrs, slog.Any("error", errDB))
		}
		level := slog.LevelInfo
		if !r.Ready() {
			level = slog.LevelWarn
		}
		h.cfg.Logger.Log(ctx, level, "readiness changed", attrs...)
	}
	h.at, h.last = now, r
	h.reports++
	return r
}

// Live answers GET /healthz: 200 while the process serves HTTP at all.
func (h *Health) Live(w http.ResponseWriter, _ *http.Request) {
	writeHealth(w, http.StatusOK, map[string]string{"status": "alive"})
}

// Ready answers GET /readyz: 200 when the database answers, its migrations
// are applied and the relay runs, else 503; the body names each check.
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) {
	res := h.Check(r.Context())
	status := http.StatusOK
	if !res.Ready() {
		status = http.StatusServiceUnavailable
	}
	writeHealth(w, status, res)
}

func writeHealth(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v) // maps of strings and Readiness always encode
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// NewHandler serves GET /metrics from m, GET /healthz and GET /readyz from h;
// anything else is 404.
func NewHandler(m *Metrics, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", h.Live)
	mux.HandleFunc("GET /readyz", h.Ready)
	return mux
}
