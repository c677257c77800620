package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/console"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// answerFixture is the console over a real store and answer service, with
// one unmatched answer of each tenant.
type answerFixture struct {
	*fixture
	svc          *intake.AnswerService
	own, other   string // answer ids of musterstadt and anderstadt
	ownReference string
}

func newAnswerFixture(t *testing.T) *answerFixture {
	t.Helper()
	af := &answerFixture{}
	af.fixture = newFixture(t, func(c *console.Config) {
		svc, err := intake.NewAnswerService(intake.AnswerServiceConfig{
			Config: &config.Config{Tenants: c.Tenants}, Store: c.Store.(intake.AnswerStore)})
		if err != nil {
			t.Fatal(err)
		}
		af.svc = svc
		c.Answers = console.StoreAnswers{Store: c.Store.(interface {
			console.Store
			ListAnswers(context.Context, outbox.AnswerFilter) ([]outbox.Answer, string, error)
			Answer(context.Context, string) (outbox.Answer, error)
			AnswerEvents(context.Context, string) ([]outbox.AnswerEvent, error)
		}), Resolver: svc}
	})
	receive := func(tenant, ref string) string {
		src := intake.AnswerSource{Tenant: tenant, Procedure: "p.q", Destination: "fv", Channel: intake.AnswerChannelHTTP}
		rc, err := af.svc.Receive(context.Background(), src,
			answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: ref}), "")
		if err != nil || rc.Matched {
			t.Fatalf("receive: %+v %v", rc, err)
		}
		return rc.ID
	}
	af.ownReference = uuid.NewString()
	af.own = receive("musterstadt", af.ownReference)
	af.other = receive("anderstadt", uuid.NewString())
	return af
}

func (f *answerFixture) state(t *testing.T, id string) outbox.Answer {
	t.Helper()
	a, err := f.store.Answer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAnswerDiscardConfirmedAndScoped: an operator lists and shows its
// tenant's unmatched answer (never the body), discards it with a reason on
// a second step, recorded with the operator; another tenant's answer is 404
// for every route.
func TestAnswerDiscardConfirmedAndScoped(t *testing.T) {
	t.Parallel()
	f := newAnswerFixture(t)
	c := f.client(t)
	csrf := c.login(opKey)

	list := c.get(console.Prefix + "answers")
	if !strings.Contains(list.body, `href="/console/answers/`+f.own+`"`) || strings.Contains(list.body, f.other) {
		t.Fatalf("list: %s", list.body)
	}
	show := c.get(console.Prefix + "answers/" + f.own)
	if show.status != http.StatusOK || !strings.Contains(show.body, `data-state="unmatched"`) ||
		!strings.Contains(show.body, f.ownReference) || !strings.Contains(show.body, `id="answer-discard"`) {
		t.Fatalf("show: %d %s", show.status, show.body)
	}
	if strings.Contains(show.body, "<?xml") || strings.Contains(show.body, "Nachrichtenkopf") {
		t.Fatal("the answer page shows the body")
	}

	// Another tenant's answer: 404 on every route, nothing changes.
	if a := c.get(console.Prefix + "answers/" + f.other); a.status != http.StatusNotFound || strings.Contains(a.body, f.other) {
		t.Fatalf("other tenant's answer: %d", a.status)
	}
	for _, action := range []string{"assign", "discard"} {
		a := c.do(http.MethodPost, console.Prefix+"answers/"+f.other+"/"+action,
			url.Values{"csrf": {csrf}, "reason": {"x"}, "submission_id": {uuid.NewString()}, "confirm": {"yes"}})
		if a.status != http.StatusNotFound {
			t.Fatalf("%s of another tenant's answer: %d", action, a.status)
		}
	}
	if a := c.get(console.Prefix + "answers/" + uuid.NewString()); a.status != http.StatusNotFound {
		t.Fatalf("unknown answer: %d", a.status)
	}

	path := console.Prefix + "answers/" + f.own + "/discard"
	if a := c.do(http.MethodPost, path, url.Values{"reason": {"x"}, "confirm": {"yes"}}); a.status != http.StatusForbidden {
		t.Fatalf("discard without CSRF token: %d", a.status)
	}
	if a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {" "}, "confirm": {"yes"}}); a.status != http.StatusBadRequest ||
		!strings.Contains(a.body, `id="problem"`) {
		t.Fatalf("discard without reason: %d", a.status)
	}
	confirm := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Irrläufer des Fachverfahrens"}})
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `name="confirm" value="yes"`) ||
		f.state(t, f.own).State != outbox.AnswerUnmatched {
		t.Fatalf("first step: %d %s", confirm.status, confirm.body)
	}
	done := c.do(http.MethodPost, path, url.Values{"csrf": {csrfOf(t, confirm.body)}, "reason": {"Irrläufer des Fachverfahrens"}, "confirm": {"yes"}})
	if done.status != http.StatusSeeOther {
		t.Fatalf("second step: %d %s", done.status, done.body)
	}
	got := f.state(t, f.own)
	if got.State != outbox.AnswerDiscarded || !strings.HasPrefix(got.ResolvedBy, "console:it-muster (") || got.Reason != "Irrläufer des Fachverfahrens" {
		t.Fatalf("after discard: %+v", got)
	}
	page := c.get(done.header.Get("Location"))
	if !strings.Contains(page.body, `id="done"`) || !strings.Contains(page.body, `data-state="discarded"`) ||
		strings.Contains(page.body, `id="answer-discard"`) {
		t.Fatalf("after discard: %s", page.body)
	}
	evs, err := f.store.AnswerEvents(context.Background(), f.own)
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, e := range evs {
		audited = audited || e.Kind == outbox.AnswerEventDiscarded && strings.HasPrefix(e.Actor, "console:it-muster (") && e.Detail == "Irrläufer des Fachverfahrens"
	}
	if !audited {
		t.Fatalf("answer trail: %+v", evs)
	}
	// Resolved: a second discard is refused, the list no longer shows it.
	if a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"again"}, "confirm": {"yes"}}); a.status != http.StatusConflict {
		t.Fatalf("second discard: %d", a.status)
	}
	if a := c.get(console.Prefix + "answers"); strings.Contains(a.body, f.own) {
		t.Fatal("a discarded answer is still listed")
	}
	if a := f.state(t, f.other); a.State != outbox.AnswerUnmatched {
		t.Fatalf("other tenant's answer is %s", a.State)
	}
}

// TestAnswerAssign: assignment needs a submission of the answer's tenant;
// another tenant's submission is refused, the own one assigned and audited
// in the submission's trail.
func TestAnswerAssign(t *testing.T) {
	t.Parallel()
	f := newAnswerFixture(t)
	own, _ := f.deadMessage(t, "musterstadt")
	foreign, _ := f.deadMessage(t, "anderstadt")
	c := f.client(t)
	csrf := c.login(opKey)
	path := console.Prefix + "answers/" + f.own + "/assign"
	if a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Bezug falsch"}}); a.status != http.StatusBadRequest ||
		!strings.Contains(a.body, `id="problem"`) {
		t.Fatalf("assign without submission: %d", a.status)
	}
	a := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Bezug falsch"}, "submission_id": {foreign.ID}, "confirm": {"yes"}})
	if a.status != http.StatusUnprocessableEntity || f.state(t, f.own).State != outbox.AnswerUnmatched {
		t.Fatalf("assign to another tenant's submission: %d", a.status)
	}
	confirm := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Bezug falsch"}, "submission_id": {own.ID}})
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `id="confirm-submission"`) {
		t.Fatalf("first step: %d", confirm.status)
	}
	done := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Bezug falsch"}, "submission_id": {own.ID}, "confirm": {"yes"}})
	if done.status != http.StatusSeeOther {
		t.Fatalf("second step: %d %s", done.status, done.body)
	}
	if got := f.state(t, f.own); got.State != outbox.AnswerAssigned || got.SubmissionID != own.ID {
		t.Fatalf("after assign: %+v", got)
	}
	evs, err := f.store.Events(context.Background(), own.ID)
	if err != nil {
		t.Fatal(err)
	}
	var audited bool
	for _, e := range evs {
		audited = audited || e.Kind == "answer" && strings.HasPrefix(e.Actor, "console:it-muster (")
	}
	if !audited {
		t.Fatalf("submission trail: %+v", evs)
	}
	aevs, err := f.store.AnswerEvents(context.Background(), f.own)
	if err != nil {
		t.Fatal(err)
	}
	audited = false
	for _, e := range aevs {
		audited = audited || e.Kind == outbox.AnswerEventAssigned && strings.HasPrefix(e.Actor, "console:it-muster (") && e.Detail == "Bezug falsch"
	}
	if !audited {
		t.Fatalf("answer trail: %+v", aevs)
	}
}

// remapRecorder is a Remapper that records its requests and answers with
// err, or else replays the message as it is (the mapping is intake's, tested there).
type remapRecorder struct {
	mu   sync.Mutex
	reqs []outbox.ReplayRequest
	err  error
	st   outbox.Store
}

func (r *remapRecorder) RemapMessage(ctx context.Context, req outbox.ReplayRequest) (intake.Remapped, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return intake.Remapped{}, err
	}
	if err := r.st.Replay(ctx, req); err != nil {
		return intake.Remapped{}, err
	}
	return intake.Remapped{OldVersion: "1", NewVersion: "2"}, nil
}

// TestReplayWithRemap: the replay form offers remap where a Remapper is
// wired; the confirmation keeps it, the remapper gets the operator and the
// reason, and a refusal (request purged) is shown with its reason.
func TestReplayWithRemap(t *testing.T) {
	t.Parallel()
	rec := &remapRecorder{err: fmt.Errorf("submission x: %w", intake.ErrRequestPurged)}
	f := newFixture(t, func(c *console.Config) { rec.st = c.Store.(outbox.Store); c.Remapper = rec })
	_, m := f.deadMessage(t, "musterstadt")
	_, other := f.deadMessage(t, "anderstadt")
	c := f.client(t)
	csrf := c.login(opKey)
	if a := c.get(console.Prefix + "messages/" + m.ID); !strings.Contains(a.body, `id="replay-remap"`) {
		t.Fatalf("no remap option: %s", a.body)
	}
	path := console.Prefix + "messages/" + m.ID + "/replay"
	confirm := c.do(http.MethodPost, path, url.Values{"csrf": {csrf}, "reason": {"Zuordnung korrigiert"}, "remap": {"yes"}})
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `name="remap" value="yes"`) || len(rec.reqs) != 0 {
		t.Fatalf("first step: %d, %d remaps", confirm.status, len(rec.reqs))
	}
	form := url.Values{"csrf": {csrf}, "reason": {"Zuordnung korrigiert"}, "remap": {"yes"}, "confirm": {"yes"}}
	refused := c.do(http.MethodPost, path, form)
	if refused.status != http.StatusConflict || !strings.Contains(refused.body, `id="refusal"`) ||
		!strings.Contains(refused.body, "purged") {
		t.Fatalf("refused remap: %d %s", refused.status, refused.body)
	}
	if got, _ := f.store.Message(context.Background(), m.ID); got.State != outbox.StateDead {
		t.Fatalf("after a refused remap the message is %s", got.State)
	}
	rec.mu.Lock()
	rec.err = nil
	rec.mu.Unlock()
	done := c.do(http.MethodPost, path, form)
	if done.status != http.StatusSeeOther || !strings.Contains(done.header.Get("Location"), "done=remapped") {
		t.Fatalf("remap: %d %s", done.status, done.body)
	}
	if got, _ := f.store.Message(context.Background(), m.ID); got.State != outbox.StatePending {
		t.Fatalf("after remap the message is %s", got.State)
	}
	if len(rec.reqs) != 2 || rec.reqs[1].ID != m.ID || rec.reqs[1].Topic != m.Topic ||
		rec.reqs[1].Reason != "Zuordnung korrigiert" || !strings.HasPrefix(rec.reqs[1].By, "console:it-muster (") {
		t.Fatalf("remap requests: %+v", rec.reqs)
	}
	// Another tenant's message is not remapped.
	if a := c.do(http.MethodPost, console.Prefix+"messages/"+other.ID+"/replay", form); a.status != http.StatusNotFound || len(rec.reqs) != 2 {
		t.Fatalf("remap of another tenant's message: %d", a.status)
	}
}

// TestReplayWithoutRemapper: without a Remapper the option is hidden and a
// forged remap is refused, not silently replayed as it was.
func TestReplayWithoutRemapper(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, m := f.deadMessage(t, "musterstadt")
	c := f.client(t)
	csrf := c.login(opKey)
	if a := c.get(console.Prefix + "messages/" + m.ID); strings.Contains(a.body, `id="replay-remap"`) {
		t.Fatal("remap offered without a remapper")
	}
	a := c.do(http.MethodPost, console.Prefix+"messages/"+m.ID+"/replay",
		url.Values{"csrf": {csrf}, "reason": {"x"}, "remap": {"yes"}, "confirm": {"yes"}})
	if got, _ := f.store.Message(context.Background(), m.ID); a.status != http.StatusConflict || got.State != outbox.StateDead {
		t.Fatalf("forged remap: %d, message %s", a.status, got.State)
	}
}

// TestReconfigureTenants: after a reload the overview lists the tenants in
// force (a new one appears for the admin, not for an operator of another
// tenant; a removed one disappears) and shows the generation.
func TestReconfigureTenants(t *testing.T) {
	t.Parallel()
	var gen atomic.Int64
	gen.Store(1)
	f := newFixture(t, func(c *console.Config) {
		c.Generation = func() string { return strconv.FormatInt(gen.Load(), 10) }
	})
	h := f.handler
	admin, op := f.client(t), f.client(t)
	admin.login(adminKey)
	op.login(opKey)
	if a := admin.get(console.Prefix); !strings.Contains(a.body, `<span id="generation">1</span>`) || strings.Contains(a.body, "Neustadt") {
		t.Fatalf("overview before: %s", a.body)
	}
	h.Reconfigure([]config.Tenant{
		{ID: "anderstadt", Name: "Stadt Anderstadt"},
		{ID: "neustadt", Name: "Gemeinde Neustadt", Procedures: []config.Route{{Procedure: "p.q", Destinations: []config.Destination{{ID: "fv"}}}}},
	})
	gen.Store(2)
	a := admin.get(console.Prefix)
	if !strings.Contains(a.body, `<span id="generation">2</span>`) || !strings.Contains(a.body, `id="tenant-neustadt"`) ||
		strings.Contains(a.body, `id="tenant-musterstadt"`) {
		t.Fatalf("admin's overview after the reload: %s", a.body)
	}
	if a := op.get(console.Prefix); strings.Contains(a.body, `id="tenant-neustadt"`) || strings.Contains(a.body, `id="tenant-musterstadt"`) {
		t.Fatalf("operator's overview after the reload: %s", a.body)
	}
	if a := admin.get(console.Prefix + "dead"); !strings.Contains(a.body, `value="neustadt"`) {
		t.Fatalf("dead-letter filter misses the new tenant: %s", a.body)
	}
}
