package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/console"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

const (
	adminKey = "admin-key-for-console-tests"
	opKey    = "operator-key-musterstadt"
	secret   = "Erika Mustermann"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	handler *console.Handler
	store   *sqlite.Store
	srv     *httptest.Server
	clock   *clock
}

func newFixture(t *testing.T, mutate ...func(*console.Config)) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Now()}
	cfg := console.Config{
		Admin: config.Admin{KeyHash: config.NewSecret(config.HashKey(adminKey)), FailedKeyLimit: 3,
			FailedKeyWindow: config.Duration{Duration: time.Minute},
			Console:         config.Console{IdleTimeout: config.Duration{Duration: 15 * time.Minute}},
			Operators: []config.Operator{{ID: "it-muster", Name: "IT Musterstadt",
				KeyHash: config.NewSecret(config.HashKey(opKey)), Tenants: []string{"musterstadt"}}}},
		Tenants: []config.Tenant{
			{ID: "musterstadt", Name: "Stadt Musterstadt", Procedures: []config.Route{{Procedure: "p.q", Destinations: []config.Destination{{ID: "fv"}}}}},
			{ID: "anderstadt", Name: "Stadt Anderstadt", Procedures: []config.Route{{Procedure: "p.q", Destinations: []config.Destination{{ID: "fv"}}}}},
		},
		Store: st,
		Readiness: func(context.Context) (bool, map[string]string) {
			return true, map[string]string{"database": "ok", "relay": "ok"}
		},
		Circuit: func(string) string { return "closed" },
		Now:     clk.now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{handler: h, store: st, srv: srv, clock: clk}
}

// deadMessage commits a submission of tenant whose message the receiver rejected.
func (f *fixture) deadMessage(t *testing.T, tenant string) (outbox.Submission, outbox.Message) {
	t.Helper()
	ctx := context.Background()
	topic := tenant + "/p.q/fv"
	sub := outbox.Submission{ID: uuid.NewString(), PortalID: "portal", TenantID: tenant, ProcedureID: "p.q",
		RequestHash: []byte{1}, Payload: []byte(`{"name":"` + secret + `"}`)}
	m := outbox.Message{ID: uuid.NewString(), Topic: topic, SubmissionID: sub.ID, Payload: []byte("<name>" + secret + "</name>")}
	if err := f.store.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{m})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Claim(ctx, outbox.ClaimParams{Topic: topic, Owner: "o", Limit: 10, Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Complete(ctx, outbox.Completion{Topic: topic, ID: m.ID, Owner: "o", Outcome: outbox.OutcomeDead,
		Error: "receiver answered 400", StartedAt: time.Now(), FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return sub, m
}

// client is a browser without JavaScript: a cookie jar, no redirects followed.
type client struct {
	t    *testing.T
	f    *fixture
	http *http.Client
	lang string
}

func (f *fixture) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, f: f, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, form url.Values, hdr ...string) answer {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.f.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (c *client) get(path string) answer { c.t.Helper(); return c.do(http.MethodGet, path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

// login signs in with key and returns the CSRF token of the session.
func (c *client) login(key string) string {
	c.t.Helper()
	page := c.get(console.Prefix + "login")
	a := c.do(http.MethodPost, console.Prefix+"login", url.Values{"csrf": {csrfOf(c.t, page.body)}, "key": {key}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != console.Prefix {
		c.t.Fatalf("login: %d %s", a.status, a.body)
	}
	return csrfOf(c.t, c.get(console.Prefix).body)
}

func TestSecurityHeadersAndLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	if a := c.get(console.Prefix); a.status != http.StatusSeeOther || a.header.Get("Location") != console.Prefix+"login" {
		t.Fatalf("overview without session: %d %v", a.status, a.header)
	}
	a := c.get(console.Prefix + "login")
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'", "X-Frame-Options": "DENY",
		"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "same-origin",
	} {
		if !strings.Contains(a.header.Get(k), want) {
			t.Errorf("%s = %q, want %q", k, a.header.Get(k), want)
		}
	}
	if strings.Contains(a.header.Get("Content-Security-Policy"), "script-src") || strings.Contains(a.body, "<script") ||
		strings.Contains(a.body, " style=") || strings.Contains(a.body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(a.body) {
		t.Fatal("script or inline style in the console")
	}
	if !strings.Contains(a.body, `<label for="key">`) || !strings.Contains(a.body, `lang="de"`) {
		t.Fatalf("login page: %s", a.body)
	}
	// The login form's token is required.
	if a := c.do(http.MethodPost, console.Prefix+"login", url.Values{"key": {adminKey}}); a.status != http.StatusForbidden {
		t.Fatalf("login without token: %d", a.status)
	}
	csrf := c.login(adminKey)
	var sess *http.Cookie
	for _, ck := range c.http.Jar.Cookies(mustURL(t, f.srv.URL+console.Prefix)) {
		if ck.Name == console.SessionCookie {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	// The jar hides the attributes: read them from a fresh login's Set-Cookie.
	c2 := f.client(t)
	page := c2.get(console.Prefix + "login")
	set := c2.do(http.MethodPost, console.Prefix+"login", url.Values{"csrf": {csrfOf(t, page.body)}, "key": {adminKey}}).header.Values("Set-Cookie")
	joined := strings.Join(set, "\n")
	if !strings.Contains(joined, console.SessionCookie+"=") || !strings.Contains(joined, "HttpOnly") ||
		!strings.Contains(joined, "SameSite=Strict") || strings.Contains(joined, "Secure") {
		t.Fatalf("Set-Cookie: %s", joined)
	}
	// Logout ends the session; it needs the token.
	if a := c.do(http.MethodPost, console.Prefix+"logout", url.Values{}); a.status != http.StatusForbidden {
		t.Fatalf("logout without token: %d", a.status)
	}
	if a := c.do(http.MethodPost, console.Prefix+"logout", url.Values{"csrf": {csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
	c.http.Jar.SetCookies(mustURL(t, f.srv.URL+console.Prefix), []*http.Cookie{sess}) // a stolen cookie after logout
	if a := c.get(console.Prefix); a.status != http.StatusSeeOther {
		t.Fatalf("session alive after logout: %d", a.status)
	}
}

func TestSecureCookieAndEnglish(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *console.Config) { c.Admin.Console.SecureCookie = true })
	c := f.client(t)
	c.lang = "en-GB,en;q=0.9,de;q=0.5"
	page := c.get(console.Prefix + "login")
	if !strings.Contains(page.body, `lang="en"`) || !strings.Contains(page.body, "Admin or operator key") {
		t.Fatalf("English login page: %s", page.body)
	}
	set := c.do(http.MethodPost, console.Prefix+"login", url.Values{"csrf": {csrfOf(t, page.body)}, "key": {adminKey}}).header.Values("Set-Cookie")
	if !strings.Contains(strings.Join(set, "\n"), "Secure") {
		t.Fatalf("Set-Cookie without Secure: %v", set)
	}
	c.lang = "de-DE,de;q=0.9,en;q=0.8"
	if p := c.get(console.Prefix + "login"); !strings.Contains(p.body, `lang="de"`) {
		t.Fatal("German not chosen")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	for i := 0; i < 3; i++ {
		page := c.get(console.Prefix + "login")
		a := c.do(http.MethodPost, console.Prefix+"login", url.Values{"csrf": {csrfOf(t, page.body)}, "key": {"wrong"}})
		if a.status != http.StatusUnauthorized || !strings.Contains(a.body, `id="login-error"`) {
			t.Fatalf("wrong key %d: %d", i, a.status)
		}
	}
	page := c.get(console.Prefix + "login")
	a := c.do(http.MethodPost, console.Prefix+"login", url.Values{"csrf": {csrfOf(t, page.body)}, "key": {adminKey}})
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("after the limit: %d %v", a.status, a.header)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	c.login(adminKey)
	f.clock.add(14 * time.Minute)
	if a := c.get(console.Prefix); a.status != http.StatusOK {
		t.Fatalf("within the idle timeout: %d", a.status)
	}
	f.clock.add(14 * time.Minute) // touched 14 minutes ago: still alive
	if a := c.get(console.Prefix); a.status != http.StatusOK {
		t.Fatalf("activity does not extend the session: %d", a.status)
	}
	f.clock.add(16 * time.Minute)
	if a := c.get(console.Prefix); a.status != http.StatusSeeOther {
		t.Fatalf("after the idle timeout: %d", a.status)
	}
}

// TestOperatorScope: an operator sees its tenant on every page and another
// tenant's message nowhere: not on the overview, not in the dead letters,
// not by id, not by search, and cannot act on it.
func TestOperatorScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, own := f.deadMessage(t, "musterstadt")
	otherSub, other := f.deadMessage(t, "anderstadt")
	c := f.client(t)
	csrf := c.login(opKey)

	ov := c.get(console.Prefix)
	if !strings.Contains(ov.body, "Stadt Musterstadt") || strings.Contains(ov.body, "anderstadt") ||
		!strings.Contains(ov.body, "IT Musterstadt") {
		t.Fatalf("overview: %s", ov.body)
	}
	for _, path := range []string{"dead", "dead?tenant=anderstadt", "dead?tenant=musterstadt&procedure=p.q&destination=fv"} {
		a := c.get(console.Prefix + path)
		if a.status != http.StatusOK || strings.Contains(a.body, other.ID) {
			t.Fatalf("%s: %d, shows the other tenant's message", path, a.status)
		}
		if path != "dead?tenant=anderstadt" && !strings.Contains(a.body, own.ID) {
			t.Fatalf("%s misses the own message", path)
		}
	}
	for _, path := range []string{"messages/" + other.ID, "messages/" + other.ID + "?topic=" + url.QueryEscape(other.Topic)} {
		if a := c.get(console.Prefix + path); a.status != http.StatusNotFound || strings.Contains(a.body, other.ID) {
			t.Fatalf("%s: %d", path, a.status)
		}
	}
	for _, id := range []string{otherSub.ID, other.ID} {
		if a := c.get(console.Prefix + "search?id=" + id); a.status != http.StatusOK || !strings.Contains(a.body, `id="search-none"`) {
			t.Fatalf("search %s: %d %s", id, a.status, a.body)
		}
	}
	for _, action := range []string{"replay", "discard", "payload"} {
		a := c.do(http.MethodPost, console.Prefix+"messages/"+other.ID+"/"+action,
			url.Values{"csrf": {csrf}, "reason": {"x"}, "confirm": {"yes"}})
		if a.status != http.StatusNotFound || strings.Contains(a.body, secret) {
			t.Fatalf("%s of another tenant's message: %d", action, a.status)
		}
	}
	if m, _ := f.store.Message(context.Background(), other.ID); m.State != outbox.StateDead {
		t.Fatalf("other tenant's message is %s", m.State)
	}
	// The full admin key sees both tenants.
	a := f.client(t)
	a.login(adminKey)
	if ov := a.get(console.Prefix); !strings.Contains(ov.body, "Stadt Anderstadt") || !strings.Contains(ov.body, "Stadt Musterstadt") {
		t.Fatal("the admin's overview misses a tenant")
	}
}

// TestReplayConfirmedAndAudited: a replay needs a reason, a second step and
// the CSRF token, and is recorded with the operator; the payload appears
// only after the audited action.
func TestReplayConfirmedAndAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sub, m := f.deadMessage(t, "musterstadt")
	c := f.client(t)
	csrf := c.login(opKey)
	detail := c.get(console.Prefix + "messages/" + m.ID)
	if detail.status != http.StatusOK || !strings.Contains(detail.body, "receiver answered 400") || strings.Contains(detail.body, secret) {
		t.Fatalf("detail: %d, payload shown before the action: %v", detail.status, strings.Contains(detail.body, secret))
	}
	path := console.Prefix + "messages/" + m.ID + "/replay"
	state := func() outbox.State {
		got, err := f.store.Message(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.State
	}
	for name, form := range map[string]url.Values{
		"without token":      {"reason": {"fixed"}, "confirm": {"yes"}},
		"with a wrong token": {"csrf": {csrf + "x"}, "reason": {"fixed"}, "confirm": {"yes"}},
	} {
		if a := c.do(http.MethodPost, path, form); a.status != http.StatusForbidden {
			t.Fatalf("replay %s: %d", name, a.status)
		}
	}
	if a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"x"}, "confirm": {"yes"}},
		"Origin", "https://evil.example"); a.status != http.StatusForbidden {
		t.Fatalf("cross-origin replay: %d", a.status)
	}
	if a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"  "}}); a.status != http.StatusBadRequest {
		t.Fatalf("replay without reason: %d", a.status)
	}
	confirm := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Empfänger repariert"}})
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `name="confirm" value="yes"`) || state() != outbox.StateDead {
		t.Fatalf("first step: %d, state %s", confirm.status, state())
	}
	done := c.do(http.MethodPost, path, url.Values{"csrf": {csrfOf(t, confirm.body)}, "reason": {"Empfänger repariert"}, "confirm": {"yes"}})
	if done.status != http.StatusSeeOther || state() != outbox.StatePending {
		t.Fatalf("second step: %d, state %s", done.status, state())
	}
	if a := c.get(done.header.Get("Location")); !strings.Contains(a.body, `id="done"`) {
		t.Fatalf("no confirmation after replay: %s", a.body)
	}

	// Payload: reason required, then shown and recorded.
	ppath := console.Prefix + "messages/" + m.ID + "/payload"
	if a := c.do(http.MethodPost, ppath, url.Values{"csrf": {csrf}}); a.status != http.StatusBadRequest || strings.Contains(a.body, secret) {
		t.Fatalf("payload without reason: %d", a.status)
	}
	shown := c.do(http.MethodPost, ppath, url.Values{"csrf": {csrf}, "reason": {"Rückfrage der Bürgerin"}})
	if shown.status != http.StatusOK || !strings.Contains(shown.body, secret) || !strings.Contains(shown.body, `id="request"`) {
		t.Fatalf("payload: %d", shown.status)
	}
	evs, err := f.store.Events(context.Background(), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	var replayed, viewed bool
	for _, e := range evs {
		replayed = replayed || e.Kind == outbox.EventReplayed && strings.HasPrefix(e.Actor, "console:it-muster (") && e.Detail == "Empfänger repariert"
		viewed = viewed || e.Kind == outbox.EventPayloadViewed && strings.HasPrefix(e.Actor, "console:it-muster (") && e.Detail == "Rückfrage der Bürgerin"
	}
	if !replayed || !viewed {
		t.Fatalf("audit trail: replayed %v viewed %v: %+v", replayed, viewed, evs)
	}
}

func TestPagesRender(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.deadMessage(t, "musterstadt")
	c := f.client(t)
	c.login(adminKey)
	for path, want := range map[string]string{
		"":                              `id="tenant-musterstadt"`,
		"dead?from=2000-01-01":          `id="dead-letters"`,
		"dead?from=gestern":             "JJJJ-MM-TT",
		"dead?to=2000-01-01":            `id="dead-none"`,
		"health":                        `id="checks"`,
		"answers":                       `id="answers-unavailable"`,
		"search":                        `id="search-id"`,
		"search?id=" + uuid.NewString(): `id="search-none"`,
		"static/console.css":            "--accent",
	} {
		a := c.get(console.Prefix + path)
		if a.status >= 500 || !strings.Contains(a.body, want) {
			t.Errorf("%s: %d, missing %q", path, a.status, want)
		}
	}
	// Every control has a label.
	for _, path := range []string{"", "dead", "search", "login"} {
		body := c.get(console.Prefix + path).body
		for _, m := range regexp.MustCompile(`<(?:input|select|textarea)[^>]*\bid="([^"]+)"`).FindAllStringSubmatch(body, -1) {
			if !strings.Contains(body, `<label for="`+m[1]+`"`) {
				t.Errorf("%s: control %s has no label", path, m[1])
			}
		}
	}
}

// answersByTenant is an UnmatchedAnswers source of fixed answers.
type answersByTenant map[string][]console.UnmatchedAnswer

func (a answersByTenant) Unmatched(_ context.Context, tenant string, _ int) ([]console.UnmatchedAnswer, error) {
	return a[tenant], nil
}

func TestUnmatchedAnswersInScope(t *testing.T) {
	t.Parallel()
	src := answersByTenant{
		"musterstadt": {{ID: "ans-muster", Tenant: "musterstadt", Source: "p.q/fv", Reference: "ref-muster", ReceivedAt: time.Now()}},
		"anderstadt":  {{ID: "ans-ander", Tenant: "anderstadt", Source: "p.q/fv", Reference: "ref-ander", ReceivedAt: time.Now()}},
	}
	f := newFixture(t, func(c *console.Config) { c.Answers = src })
	op := f.client(t)
	op.login(opKey)
	if a := op.get(console.Prefix + "answers"); !strings.Contains(a.body, "ans-muster") || strings.Contains(a.body, "ans-ander") {
		t.Fatalf("operator's unmatched answers: %s", a.body)
	}
	admin := f.client(t)
	admin.login(adminKey)
	if a := admin.get(console.Prefix + "answers"); !strings.Contains(a.body, "ans-muster") || !strings.Contains(a.body, "ans-ander") {
		t.Fatalf("admin's unmatched answers: %s", a.body)
	}
}

// TestReplayAllInScope: replaying every dead message of a filter needs a
// reason and a second step, and an operator's stays within its tenants.
func TestReplayAllInScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, own := f.deadMessage(t, "musterstadt")
	_, other := f.deadMessage(t, "anderstadt")
	c := f.client(t)
	csrf := c.login(opKey)
	state := func(id string) outbox.State {
		m, err := f.store.Message(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return m.State
	}
	page := c.get(console.Prefix + "dead")
	if !strings.Contains(page.body, `id="replayall"`) {
		t.Fatal("no replay-all form on the dead letters")
	}
	path := console.Prefix + "dead/replay"
	if a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "tenant": {"anderstadt"}, "reason": {"x"}, "confirm": {"yes"}}); a.status != http.StatusNotFound {
		t.Fatalf("replay all of another tenant: %d", a.status)
	}
	if a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "confirm": {"yes"}}); a.status != http.StatusBadRequest {
		t.Fatalf("replay all without reason: %d", a.status)
	}
	confirm := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Zertifikat erneuert"}})
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `name="confirm" value="yes"`) || state(own.ID) != outbox.StateDead {
		t.Fatalf("first step: %d", confirm.status)
	}
	done := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Zertifikat erneuert"}, "confirm": {"yes"}})
	if done.status != http.StatusSeeOther || state(own.ID) != outbox.StatePending || state(other.ID) != outbox.StateDead {
		t.Fatalf("second step: %d, own %s, other %s", done.status, state(own.ID), state(other.ID))
	}
	if a := c.get(done.header.Get("Location")); !strings.Contains(a.body, `id="replayed"`) {
		t.Fatalf("no count after replay all: %s", a.body)
	}
}

// TestAbsoluteTimeout: activity keeps a session alive only up to its
// absolute lifetime (default 12 hours); then the operator logs in again.
func TestAbsoluteTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	c.login(adminKey)
	for i := 0; i < 71; i++ { // 11h50m of activity every ten minutes
		f.clock.add(10 * time.Minute)
		if a := c.get(console.Prefix); a.status != http.StatusOK {
			t.Fatalf("after %v of activity: %d", time.Duration(i+1)*10*time.Minute, a.status)
		}
	}
	f.clock.add(11 * time.Minute) // 12h01m after login, 11 minutes idle
	if a := c.get(console.Prefix); a.status != http.StatusSeeOther || a.header.Get("Location") != console.Prefix+"login" {
		t.Fatalf("session alive beyond its absolute lifetime: %d", a.status)
	}
}

// TestLoginEndsPreviousSession: logging in again ends the session the
// browser had, so that an earlier (perhaps leaked) session id stops working.
func TestLoginEndsPreviousSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(t)
	c.login(opKey)
	u := mustURL(t, f.srv.URL+console.Prefix)
	var old *http.Cookie
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == console.SessionCookie {
			old = ck
		}
	}
	if old == nil {
		t.Fatal("no session cookie")
	}
	c.login(adminKey)
	other := f.client(t)
	other.http.Jar.SetCookies(u, []*http.Cookie{{Name: console.SessionCookie, Value: old.Value, Path: console.Prefix}})
	if a := other.get(console.Prefix); a.status != http.StatusSeeOther {
		t.Fatalf("the session before the new login still works: %d", a.status)
	}
}

// TestHostileTextsEscaped: a receiver's error text, a tenant's name and a
// filter value carrying markup appear as text on every page, never as markup.
func TestHostileTextsEscaped(t *testing.T) {
	t.Parallel()
	const xss = `<img src=x onerror=alert(1)><script>alert(2)</script>"'`
	f := newFixture(t, func(c *console.Config) { c.Tenants[0].Name = "Stadt " + xss })
	ctx := context.Background()
	_, m := f.deadMessage(t, "musterstadt")
	// A replay and a second rejection whose answer carries markup.
	if err := f.store.Replay(ctx, outbox.ReplayRequest{ID: m.ID, By: "test", Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Claim(ctx, outbox.ClaimParams{Topic: m.Topic, Owner: "o", Limit: 10, Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Complete(ctx, outbox.Completion{Topic: m.Topic, ID: m.ID, Owner: "o", Outcome: outbox.OutcomeDead,
		Error: "receiver answered 400: " + xss, StartedAt: time.Now(), FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	c.login(adminKey)
	for _, path := range []string{console.Prefix, console.Prefix + "dead", console.Prefix + "dead?destination=" + url.QueryEscape(xss),
		console.Prefix + "messages/" + m.ID, console.Prefix + "search?id=" + url.QueryEscape(xss)} {
		a := c.get(path)
		if a.status != http.StatusOK {
			t.Fatalf("%s: %d", path, a.status)
		}
		if strings.Contains(a.body, "<img") || strings.Contains(a.body, "<script") {
			t.Errorf("%s: markup not escaped", path)
		}
	}
	if a := c.get(console.Prefix + "dead"); !strings.Contains(a.body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("dead letters: the receiver's text is missing")
	}
}
