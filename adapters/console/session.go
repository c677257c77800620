package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
)

// Cookie names of the console.
const (
	SessionCookie = "amtsbote_console"
	loginCookie   = "amtsbote_console_login" // the login form's double-submit token
)

// maxSessions bounds the sessions kept; beyond it the least recently used goes.
const maxSessions = 10000

// maxSessionsPerOperator bounds the sessions of one operator (the full admin
// key counts as one); beyond it that operator's least recently used goes, so
// that logging in over and over never ends another operator's sessions.
const maxSessionsPerOperator = 100

type session struct {
	op      adminapi.Operator
	csrf    string
	created time.Time
	last    time.Time
}

// sessions are the console's logins, in memory: a restart logs everyone out.
type sessions struct {
	idle     time.Duration
	lifetime time.Duration // absolute, from the login
	now      func() time.Time
	mu       sync.Mutex
	m        map[string]*session
}

func newSessions(idle, lifetime time.Duration, now func() time.Time) *sessions {
	return &sessions{idle: idle, lifetime: lifetime, now: now, m: map[string]*session{}}
}

// expired tells whether x has been idle too long or has outlived its lifetime.
func (s *sessions) expired(x *session, now time.Time) bool {
	return now.Sub(x.last) >= s.idle || now.Sub(x.created) >= s.lifetime
}

// token is 32 random bytes, base64url.
func token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for op and returns its id. Expired sessions go
// first; then op's least recently used beyond maxSessionsPerOperator, and
// the least recently used of all beyond maxSessions.
func (s *sessions) create(op adminapi.Operator) string {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var mine int
	var oldestMine, oldest string
	var atMine, at time.Time
	if len(s.m) >= maxSessions || len(s.m) >= maxSessionsPerOperator {
		for id, x := range s.m {
			switch {
			case s.expired(x, now):
				delete(s.m, id)
				continue
			case x.op.ID == op.ID && x.op.Full() == op.Full():
				mine++
				if atMine.IsZero() || x.last.Before(atMine) {
					oldestMine, atMine = id, x.last
				}
			}
			if at.IsZero() || x.last.Before(at) {
				oldest, at = id, x.last
			}
		}
	}
	switch {
	case mine >= maxSessionsPerOperator:
		delete(s.m, oldestMine)
	case len(s.m) >= maxSessions:
		delete(s.m, oldest)
	}
	id := token()
	s.m[id] = &session{op: op, csrf: token(), created: now, last: now}
	return id
}

// get returns the live session id and touches it; an idle or outlived one is ended.
func (s *sessions) get(id string) (session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.m[id]
	if !ok {
		return session{}, false
	}
	if s.expired(x, now) {
		delete(s.m, id)
		return session{}, false
	}
	x.last = now
	return *x, true
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// request is what a signed-in handler gets.
type request struct {
	op   adminapi.Operator
	csrf string
	id   string // session id
}

// authed wraps fn: without a live session a GET is sent to the login page
// and a POST refused; every POST must carry the session's CSRF token.
func (h *Handler) authed(fn func(w http.ResponseWriter, r *http.Request, s request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		var sess session
		ok := err == nil
		if ok {
			sess, ok = h.sessions.get(c.Value)
		}
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
				return
			}
			h.fail(w, r, nil, http.StatusForbidden, "err.session")
			return
		}
		s := request{op: sess.op, csrf: sess.csrf, id: c.Value}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, &s, http.StatusBadRequest, "err.form")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(sess.csrf)) != 1 {
				h.log.LogAttrs(r.Context(), slog.LevelWarn, "console request without a valid CSRF token refused",
					logAttrs(sess.op, r, slog.String("route", r.Pattern))...)
				h.fail(w, r, &s, http.StatusForbidden, "err.csrf")
				return
			}
		}
		fn(w, r, s)
	}
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
}

// loginForm shows the login page with a fresh double-submit token.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.renderLogin(w, r, http.StatusOK, "")
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, errKey string) {
	t := token()
	h.setCookie(w, r, loginCookie, t, 600)
	h.render(w, r, nil, status, "login", "login.title", loginData{Error: errKey}, t)
}

type loginData struct{ Error string }

// login checks the key; a wrong one counts towards the address's throttle.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if d, blocked := h.throttle.Blocked(r.RemoteAddr); blocked {
		w.Header().Set("Retry-After", adminapi.RetryAfter(d))
		h.renderLogin(w, r, http.StatusTooManyRequests, "login.throttled")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.renderLogin(w, r, http.StatusBadRequest, "err.form")
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		h.renderLogin(w, r, http.StatusForbidden, "err.csrf")
		return
	}
	op, ok := adminapi.Authenticate(h.cfg.Admin, r.PostForm.Get("key"))
	if !ok {
		h.throttle.Fail(r.RemoteAddr)
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "console login failed", slog.String("remote", r.RemoteAddr))
		h.renderLogin(w, r, http.StatusUnauthorized, "login.failed")
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil { // a new login replaces the browser's session
		h.sessions.end(c.Value)
	}
	id := h.sessions.create(op)
	h.setCookie(w, r, loginCookie, "", -1)
	h.setCookie(w, r, SessionCookie, id, 0)
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "console login", logAttrs(op, r)...)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s request) {
	h.sessions.end(s.id)
	h.setCookie(w, r, SessionCookie, "", -1)
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "console logout", logAttrs(s.op, r)...)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}
