package adminapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/internal/testlog"
	"github.com/amtsbote/amtsbote/outbox"
)

const (
	opKey     = "operator-key-musterstadt"
	opBothKey = "operator-key-both"
)

func scopedAdmin() config.Admin {
	return config.Admin{Listen: "127.0.0.1:0", KeyHash: config.NewSecret(config.HashKey(adminKey)),
		FailedKeyLimit: 1000, FailedKeyWindow: config.Duration{Duration: time.Minute},
		Operators: []config.Operator{
			{ID: "it-muster", Name: "IT Musterstadt", KeyHash: config.NewSecret(config.HashKey(opKey)), Tenants: []string{"musterstadt"}},
			{ID: "it-both", KeyHash: config.NewSecret(config.HashKey(opBothKey)), Tenants: []string{"musterstadt", "beispielhausen"}},
		}}
}

// deadSubmission commits a submission of tenant with one message on topic
// and makes the message dead, as the relay does after a rejection.
func (f *fixture) deadSubmission(t *testing.T, tenant, topic string) (outbox.Submission, outbox.Message) {
	t.Helper()
	ctx := context.Background()
	sub := outbox.Submission{ID: uuid.NewString(), PortalID: "p", TenantID: tenant, ProcedureID: "p.q",
		RequestHash: []byte{1}, Payload: []byte(`{}`)}
	m := outbox.Message{ID: uuid.NewString(), Topic: topic, SubmissionID: sub.ID, Payload: []byte("<x/>")}
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
		Error: "400 Bad Request", StartedAt: time.Now(), FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return sub, m
}

func (f *fixture) state(t *testing.T, id string) outbox.State {
	t.Helper()
	m, err := f.store.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m.State
}

// TestOperatorIsolation is the tenant isolation matrix of the admin API:
// every endpoint, called by a scoped operator for another tenant's message,
// submission or filter, answers as for one that does not exist and changes
// nothing; for its own tenant it works, and the audit trail names it.
func TestOperatorIsolation(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, adminapi.Config{Admin: scopedAdmin()})
	const own, other = "musterstadt/p.q/fv", "anderstadt/p.q/fv"
	otherSub, otherMsg := f.deadSubmission(t, "anderstadt", other)
	notFoundDetail := func(path string) string {
		_, _, b := f.do(t, http.MethodGet, path, opKey, "")
		return decode[adminapi.Problem](t, b).Detail
	}
	unknownMessage := notFoundDetail("/admin/v1/messages/" + uuid.NewString())

	cases := []struct {
		name, method, path, body string
	}{
		{"show", http.MethodGet, "/admin/v1/messages/" + otherMsg.ID, ""},
		{"replay", http.MethodPost, "/admin/v1/messages/" + otherMsg.ID + "/replay", `{"reason":"x"}`},
		{"replay naming the topic", http.MethodPost, "/admin/v1/messages/" + otherMsg.ID + "/replay", `{"reason":"x","topic":"` + other + `"}`},
		{"replay naming an own topic", http.MethodPost, "/admin/v1/messages/" + otherMsg.ID + "/replay", `{"reason":"x","topic":"` + own + `"}`},
		{"discard", http.MethodPost, "/admin/v1/messages/" + otherMsg.ID + "/discard", `{"reason":"x"}`},
		{"discard naming the topic", http.MethodPost, "/admin/v1/messages/" + otherMsg.ID + "/discard", `{"reason":"x","topic":"` + other + `"}`},
		{"events", http.MethodGet, "/admin/v1/submissions/" + otherSub.ID + "/events", ""},
		{"list by tenant", http.MethodGet, "/admin/v1/messages?tenant=anderstadt", ""},
		{"list dead by tenant", http.MethodGet, "/admin/v1/messages?status=dead&tenant=anderstadt&procedure=p.q", ""},
		{"replay all of the tenant", http.MethodPost, "/admin/v1/replay", `{"tenant":"anderstadt","reason":"x"}`},
	}
	for _, key := range []string{opKey, opBothKey} {
		for _, c := range cases {
			t.Run(key+"/"+c.name, func(t *testing.T) {
				status, hdr, body := f.do(t, c.method, c.path, key, c.body)
				wantProblem(t, status, hdr, body, http.StatusNotFound, adminapi.ProblemNotFound)
				if strings.Contains(c.path, otherMsg.ID) && decode[adminapi.Problem](t, body).Detail != unknownMessage {
					t.Errorf("another tenant's message answers differently from an unknown one: %s", body)
				}
				if st := f.state(t, otherMsg.ID); st != outbox.StateDead {
					t.Fatalf("other tenant's message is %s", st)
				}
			})
		}
	}

	// Lists and replays without a tenant stay inside the scope.
	_, ownMsg := f.deadSubmission(t, "musterstadt", own)
	for _, key := range []string{opKey, opBothKey} {
		for _, path := range []string{"/admin/v1/messages", "/admin/v1/messages?status=dead", "/admin/v1/messages?limit=1"} {
			ids := listAll(t, f, path, key)
			if !contains(ids, ownMsg.ID) || contains(ids, otherMsg.ID) {
				t.Fatalf("%s as %s: %v (own %s, other %s)", path, key, ids, ownMsg.ID, otherMsg.ID)
			}
		}
	}
	if ids := listAll(t, f, "/admin/v1/messages", adminKey); !contains(ids, ownMsg.ID) || !contains(ids, otherMsg.ID) {
		t.Fatalf("the full admin key lists %v", ids)
	}
	status, _, body := f.do(t, http.MethodPost, "/admin/v1/replay", opKey, `{"reason":"receiver fixed"}`)
	if status != http.StatusOK || decode[adminapi.ReplayResponse](t, body).Replayed != 1 {
		t.Fatalf("replay all in scope: %d %s", status, body)
	}
	if f.state(t, otherMsg.ID) != outbox.StateDead || f.state(t, ownMsg.ID) != outbox.StatePending {
		t.Fatal("replay all crossed the scope or missed the own message")
	}

	// The own tenant's message: shown, replayed, with the operator in the audit trail.
	ownSub, ownMsg2 := f.deadSubmission(t, "musterstadt", own)
	if status, _, body := f.do(t, http.MethodGet, "/admin/v1/messages/"+ownMsg2.ID, opKey, ""); status != http.StatusOK {
		t.Fatalf("show own: %d %s", status, body)
	}
	if status, _, body := f.do(t, http.MethodPost, "/admin/v1/messages/"+ownMsg2.ID+"/replay", opKey, `{"reason":"fixed"}`); status != http.StatusOK {
		t.Fatalf("replay own: %d %s", status, body)
	}
	status, _, body = f.do(t, http.MethodGet, "/admin/v1/submissions/"+ownSub.ID+"/events", opKey, "")
	if status != http.StatusOK {
		t.Fatalf("events own: %d %s", status, body)
	}
	evs := decode[adminapi.EventsResponse](t, body).Events
	last := evs[len(evs)-1]
	if last.Kind != "replayed" || !strings.HasPrefix(last.Actor, "admin-api:it-muster (") {
		t.Fatalf("audit of the operator's replay: %+v", last)
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// listAll follows the next cursors of path and returns every message id.
func listAll(t *testing.T, f *fixture, path, key string) []string {
	t.Helper()
	var ids []string
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := ""
	for i := 0; i < 100; i++ {
		p := path
		if next != "" {
			p += sep + "after=" + next
		}
		status, _, body := f.do(t, http.MethodGet, p, key, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", p, status, body)
		}
		page := decode[adminapi.ListResponse](t, body)
		for _, m := range page.Messages {
			ids = append(ids, m.ID)
		}
		if next = page.Next; next == "" {
			return ids
		}
	}
	t.Fatal("list does not end")
	return nil
}

// TestFailedKeysThrottled: after the limit of failed keys an address gets
// 429 with Retry-After, even with a right key, and the log and the problems
// never show the unauthenticated path or an unknown member's name.
func TestFailedKeysThrottled(t *testing.T) {
	t.Parallel()
	logs := &testlog.Buffer{}
	a := scopedAdmin()
	a.FailedKeyLimit = 3
	f := newFixtureWith(t, adminapi.Config{Admin: a, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	secretPath := "/admin/v1/messages/erika-mustermann-geb-1970"
	for i := 0; i < 3; i++ {
		status, hdr, body := f.do(t, http.MethodGet, secretPath, "wrong-"+fmt.Sprint(i), "")
		wantProblem(t, status, hdr, body, http.StatusUnauthorized, adminapi.ProblemUnauthorized)
		if strings.Contains(string(body), "erika") {
			t.Fatalf("401 echoes the path: %s", body)
		}
	}
	for _, key := range []string{"wrong", adminKey} {
		status, hdr, body := f.do(t, http.MethodGet, "/admin/v1/messages", key, "")
		wantProblem(t, status, hdr, body, http.StatusTooManyRequests, adminapi.ProblemTooManyRequests)
		if ra := hdr.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
	}
	if strings.Contains(logs.String(), "erika") {
		t.Fatalf("the log shows an unauthenticated path: %s", logs.String())
	}
	if !strings.Contains(logs.String(), `"route":"GET /admin/v1/messages/{id}"`) {
		t.Fatalf("the log does not name the route: %s", logs.String())
	}

	g := newFixtureWith(t, adminapi.Config{Admin: scopedAdmin()})
	dead := g.publish(t, "musterstadt/p.q/fv", true)
	for _, c := range []struct{ path, body string }{
		{"/admin/v1/messages?vorname_erika=1", ""},
		{"/admin/v1/messages/" + dead.ID + "/replay", `{"reason":"x","vorname_erika":"1"}`},
	} {
		method := http.MethodGet
		if c.body != "" {
			method = http.MethodPost
		}
		status, hdr, body := g.do(t, method, c.path, opKey, c.body)
		wantProblem(t, status, hdr, body, http.StatusBadRequest, adminapi.ProblemMalformedRequest)
		if p := decode[adminapi.Problem](t, body); strings.Contains(p.Detail, "erika") {
			t.Fatalf("400 echoes an unknown name: %s", body)
		}
	}
}

func TestThrottleWindow(t *testing.T) {
	t.Parallel()
	th := adminapi.NewThrottle(2, time.Hour)
	th.Fail("192.0.2.1:1000")
	if _, b := th.Blocked("192.0.2.1:1001"); b {
		t.Fatal("blocked below the limit")
	}
	th.Fail("192.0.2.1:1002")
	if d, b := th.Blocked("192.0.2.1:1003"); !b || d <= 0 || d > time.Hour {
		t.Fatalf("not blocked at the limit: %v %v", d, b)
	}
	if _, b := th.Blocked("192.0.2.2:1000"); b {
		t.Fatal("another address blocked")
	}
	th.Fail("[2001:db8::1]:1")
	th.Fail("[2001:db8::2]:1")
	if _, b := th.Blocked("[2001:db8::ffff]:1"); !b {
		t.Fatal("an IPv6 /64 is not one client")
	}
	if got := adminapi.RetryAfter(1500 * time.Millisecond); got != "2" {
		t.Fatalf("RetryAfter = %s", got)
	}
}

// TestOperatorWithoutTenantsSeesNothing: an operator whose configuration
// lists no tenant (config validation refuses it; a caller building
// config.Admin in code may not) is in no tenant's scope, never the full admin.
func TestOperatorWithoutTenantsSeesNothing(t *testing.T) {
	t.Parallel()
	for _, tenants := range [][]string{nil, {}} {
		op := adminapi.ScopedOperator(config.Operator{ID: "it-none", Tenants: tenants})
		if op.Full() || op.Allows("musterstadt") || op.AllowsTopic("musterstadt/p.q/fv") {
			t.Errorf("operator with tenants %#v: full=%v, allows musterstadt=%v", tenants, op.Full(), op.Allows("musterstadt"))
		}
		a := config.Admin{Operators: []config.Operator{{ID: "it-none", KeyHash: config.NewSecret(config.HashKey(opKey)), Tenants: tenants}}}
		if got, ok := adminapi.Authenticate(a, opKey); !ok || got.Full() {
			t.Errorf("authenticated operator with tenants %#v: ok=%v full=%v", tenants, ok, got.Full())
		}
	}
}
