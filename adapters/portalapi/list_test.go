package portalapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/outbox"
)

func listOf(t *testing.T, r response) portalapi.ListResponse {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", r.status, r.body)
	}
	var got portalapi.ListResponse
	decodeStrict(t, r.body, &got)
	return got
}

func TestListOwnSubmissionsInPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mine []string
	for range 3 {
		mine = append(mine, accepted(t, e.submit(t, demoKey, readDemo(t))))
	}
	accepted(t, e.submit(t, otherKey, readDemo(t))) // another portal's
	slices.Sort(mine)                               // one receipt time: the id orders

	var got []string
	path := "/v1/submissions?limit=2"
	pages := 0
	for {
		l := listOf(t, e.do(t, http.MethodGet, path, demoKey, nil))
		pages++
		for _, s := range l.Submissions {
			got = append(got, s.ID)
			if s.Tenant != demoTenant || s.Procedure != demoProcedure || s.Status != portalapi.StatusAccepted ||
				!s.ReceivedAt.Equal(testNow) || len(s.Destinations) != 1 {
				t.Errorf("summary %+v", s)
			}
			for _, d := range s.Destinations {
				if d.Destination != "fachverfahren" || d.State != portalapi.StateQueued || d.MessageID == "" {
					t.Errorf("destination %+v", d)
				}
			}
		}
		if l.NextCursor == "" {
			break
		}
		path = "/v1/submissions?limit=2&cursor=" + url.QueryEscape(l.NextCursor)
	}
	if !slices.Equal(got, mine) || pages != 2 {
		t.Fatalf("listed %v in %d pages, want %v in 2", got, pages, mine)
	}

	since := func(ts time.Time) int {
		return len(listOf(t, e.do(t, http.MethodGet, "/v1/submissions?since="+url.QueryEscape(ts.Format(time.RFC3339Nano)), demoKey, nil)).Submissions)
	}
	if n := since(testNow); n != 3 {
		t.Errorf("since the receipt time: %d, want 3", n)
	}
	if n := since(testNow.Add(time.Second)); n != 0 {
		t.Errorf("since after the receipt time: %d, want 0", n)
	}
}

func TestListRejectsBadParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{"since=yesterday", "since=2026-11-30", "limit=0", "limit=1001", "limit=ten",
		"cursor=not-a-cursor", "cursor=" + url.QueryEscape("MTIz"), "tenant=musterstadt", "limit=1&limit=2"} {
		t.Run(q, func(t *testing.T) {
			p := problemOf(t, e.do(t, http.MethodGet, "/v1/submissions?"+q, demoKey, nil), http.StatusBadRequest, portalapi.ProblemMalformedRequest)
			if p.Detail == "" {
				t.Error("no detail names the parameter")
			}
		})
	}
	problemOf(t, e.do(t, http.MethodGet, "/v1/submissions", "", nil), http.StatusUnauthorized, portalapi.ProblemUnauthorized)
}

func TestStatusVocabularyAndEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	callbacks := "~portal/" + demoPortal + "/callback"
	// A reactor adds a follow-up to the submission, as status callbacks do;
	// the portal sees neither it nor its events among the destinations.
	e.store.SetReactor(outbox.ReactorFunc(func(_ context.Context, evs []outbox.Event) ([]outbox.Message, error) {
		var out []outbox.Message
		for _, ev := range evs {
			if ev.Kind == outbox.EventAccepted {
				out = append(out, outbox.Message{ID: uuid.NewString(), Topic: callbacks, SubmissionID: ev.SubmissionID,
					Payload: []byte(`{}`), Metadata: map[string]string{outbox.MetaDestination: "callback"}})
			}
		}
		return out, nil
	}))
	id := accepted(t, e.submit(t, demoKey, readDemo(t)))
	ctx := context.Background()
	for _, m := range e.claim(t, callbacks) {
		if err := e.store.Complete(ctx, outbox.Completion{Topic: callbacks, ID: m.ID, Owner: "test-" + t.Name(),
			Outcome: outbox.OutcomeDelivered, StartedAt: testNow, FinishedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := e.claim(t, demoTopic)
	if len(msgs) != 1 {
		t.Fatalf("claimed %d", len(msgs))
	}
	complete := func(o outbox.Outcome) {
		t.Helper()
		c := outbox.Completion{Topic: demoTopic, ID: msgs[0].ID, Owner: "test-" + t.Name(), Outcome: o,
			StartedAt: testNow, FinishedAt: testNow.Add(time.Second)}
		if o != outbox.OutcomeDelivered {
			c.Error, c.NextAttemptAt = "503 Service Unavailable", time.Now().Add(-time.Second)
		}
		if err := e.store.Complete(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	state := func() (string, string) {
		st := statusOf(t, e.status(t, demoKey, id))
		if len(st.Destinations) != 1 {
			t.Fatalf("destinations %+v, want only fachverfahren", st.Destinations)
		}
		return st.Status, st.Destinations[0].State
	}
	if s, d := state(); s != "accepted" || d != "queued" {
		t.Fatalf("after accept: %s/%s", s, d)
	}
	complete(outbox.OutcomeRetry)
	if s, d := state(); s != "accepted" || d != "retrying" {
		t.Fatalf("after a failed attempt: %s/%s", s, d)
	}
	e.claim(t, demoTopic)
	complete(outbox.OutcomeDead)
	if s, d := state(); s != "failed" || d != "failed" {
		t.Fatalf("after dead: %s/%s", s, d)
	}
	if err := e.store.Replay(ctx, outbox.ReplayRequest{ID: msgs[0].ID, By: "operator jane", Reason: "fixed"}); err != nil {
		t.Fatal(err)
	}
	e.claim(t, demoTopic)
	complete(outbox.OutcomeDelivered)
	if s, d := state(); s != "delivered" || d != "delivered" {
		t.Fatalf("after replay and delivery: %s/%s", s, d)
	}

	r := e.do(t, http.MethodGet, "/v1/submissions/"+id+"/events", demoKey, nil)
	if r.status != http.StatusOK {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	var evs portalapi.EventsResponse
	decodeStrict(t, r.body, &evs)
	type step struct{ kind, dest, actor string }
	var got []step
	for _, ev := range evs.Events {
		got = append(got, step{ev.Kind, ev.Destination, ev.Actor})
	}
	want := []step{{"accepted", "", "portal"}, {"transformed", "fachverfahren", "portal"},
		{"attempt", "fachverfahren", "relay"}, {"attempt", "fachverfahren", "relay"}, {"dead", "fachverfahren", "relay"},
		{"replayed", "fachverfahren", "operator"}, {"attempt", "fachverfahren", "relay"}, {"delivered", "fachverfahren", "relay"}}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	if ev := evs.Events[5]; ev.Detail != "fixed" {
		t.Errorf("replay event %+v: want the reason", ev)
	}

	// Another portal learns nothing: the same 404 as for an unknown id.
	problemOf(t, e.do(t, http.MethodGet, "/v1/submissions/"+id+"/events", otherKey, nil), http.StatusNotFound, portalapi.ProblemNotFound)
	problemOf(t, e.do(t, http.MethodGet, "/v1/submissions/"+uuid.NewString()+"/events", demoKey, nil), http.StatusNotFound, portalapi.ProblemNotFound)
}

// A portal that lost its permission for a tenant no longer sees the
// submissions it made for it.
func TestRevokedPermissionHidesSubmissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := accepted(t, e.submit(t, otherKey, readDemo(t)))
	if n := len(listOf(t, e.do(t, http.MethodGet, "/v1/submissions", otherKey, nil)).Submissions); n != 1 {
		t.Fatalf("listed %d before the revocation, want 1", n)
	}
	for i := range e.cfg.Portals {
		if e.cfg.Portals[i].ID == "other-portal" {
			e.cfg.Portals[i].Tenants = []string{otherTenant} // as after a configuration change and restart
		}
	}
	problemOf(t, e.status(t, otherKey, id), http.StatusNotFound, portalapi.ProblemNotFound)
	problemOf(t, e.do(t, http.MethodGet, "/v1/submissions/"+id+"/events", otherKey, nil), http.StatusNotFound, portalapi.ProblemNotFound)
	if n := len(listOf(t, e.do(t, http.MethodGet, "/v1/submissions", otherKey, nil)).Submissions); n != 0 {
		t.Fatalf("listed %d after the revocation, want 0", n)
	}
}
