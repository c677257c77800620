package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

const adminKey = "admin-key-for-tests"

type fixture struct {
	store *sqlite.Store
	srv   *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, adminapi.Config{
		Admin: config.Admin{Listen: "127.0.0.1:0", KeyHash: config.NewSecret(config.HashKey(adminKey))},
	})
}

// newFixtureWith serves the admin API of cfg (its Store set here) on a new SQLite store.
func newFixtureWith(t *testing.T, cfg adminapi.Config) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	h, err := adminapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{store: st, srv: srv}
}

// publish stores a message on topic; dead makes it dead after one failed attempt.
func (f *fixture) publish(t *testing.T, topic string, dead bool) outbox.Message {
	t.Helper()
	ctx := context.Background()
	m := outbox.Message{ID: uuid.NewString(), Topic: topic, Payload: []byte("<geheim>Erika Mustermann</geheim>"),
		Metadata: map[string]string{"k": "v"}}
	if err := f.store.InTx(ctx, func(tx outbox.Tx) error { return tx.InsertMessages(ctx, []outbox.Message{m}) }); err != nil {
		t.Fatal(err)
	}
	if dead {
		if _, err := f.store.Claim(ctx, outbox.ClaimParams{Topic: topic, Owner: "o", Limit: 100, Lease: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Complete(ctx, outbox.Completion{Topic: topic, ID: m.ID, Owner: "o", Outcome: outbox.OutcomeDead,
			Error: "400 Bad Request", StartedAt: time.Now(), FinishedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (f *fixture) do(t *testing.T, method, path, key, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, buf.Bytes()
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

func wantProblem(t *testing.T, status int, hdr http.Header, body []byte, wantStatus int, wantType string) {
	t.Helper()
	if status != wantStatus || hdr.Get("Content-Type") != adminapi.ProblemContentType {
		t.Fatalf("status %d (%s), want %d problem: %s", status, hdr.Get("Content-Type"), wantStatus, body)
	}
	p := decode[adminapi.Problem](t, body)
	if p.Type != wantType || p.Status != wantStatus || p.Title == "" {
		t.Fatalf("problem = %+v, want type %s", p, wantType)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, c := range []struct{ name, header string }{
		{"none", ""},
		{"wrong key", "Bearer wrong"},
		{"portal scheme basic", "Basic " + adminKey},
		{"empty bearer", "Bearer "},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/admin/v1/messages", nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			wantProblem(t, resp.StatusCode, resp.Header, buf.Bytes(), http.StatusUnauthorized, adminapi.ProblemUnauthorized)
			if resp.Header.Get("Www-Authenticate") == "" {
				t.Error("no WWW-Authenticate")
			}
		})
	}
	// Unknown paths also need the key, so they reveal nothing.
	status, hdr, body := f.do(t, http.MethodGet, "/admin/v1/nothing", "", "")
	wantProblem(t, status, hdr, body, http.StatusUnauthorized, adminapi.ProblemUnauthorized)
}

func TestNewRequiresKeyHash(t *testing.T) {
	t.Parallel()
	if _, err := adminapi.New(adminapi.Config{Store: newFixture(t).store}); err == nil {
		t.Fatal("New accepted an empty key hash")
	}
}

func TestListShowReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	dead := f.publish(t, "musterstadt/p.q/fv", true)
	alive := f.publish(t, "musterstadt/p.q/fv", false)
	other := f.publish(t, "anderstadt/p.q/fv", true)

	status, _, body := f.do(t, http.MethodGet, "/admin/v1/messages?status=dead", adminKey, "")
	if status != http.StatusOK {
		t.Fatalf("list: %d %s", status, body)
	}
	if bytes.Contains(body, []byte("Mustermann")) {
		t.Fatal("list shows the payload")
	}
	list := decode[adminapi.ListResponse](t, body)
	if len(list.Messages) != 2 || list.Messages[0].ID != dead.ID || list.Messages[1].ID != other.ID || list.Next != "" {
		t.Fatalf("dead letters = %+v", list)
	}
	if m := list.Messages[0]; m.State != outbox.StateDead || m.Attempts != 1 || m.LastError != "400 Bad Request" ||
		m.PayloadBytes != len(dead.Payload) || m.NextAttemptAt != nil {
		t.Fatalf("dead letter view = %+v", m)
	}

	// Pages of one, filtered by tenant and destination.
	var ids []string
	path := "/admin/v1/messages?tenant=musterstadt&destination=fv&limit=1"
	for range 3 {
		status, _, body = f.do(t, http.MethodGet, path, adminKey, "")
		if status != http.StatusOK {
			t.Fatalf("page: %d %s", status, body)
		}
		page := decode[adminapi.ListResponse](t, body)
		for _, m := range page.Messages {
			ids = append(ids, m.ID)
		}
		if page.Next == "" {
			break
		}
		path = "/admin/v1/messages?tenant=musterstadt&destination=fv&limit=1&after=" + page.Next
	}
	if strings.Join(ids, ",") != dead.ID+","+alive.ID {
		t.Fatalf("pages = %v", ids)
	}

	for _, bad := range []string{"status=lost", "limit=0", "limit=x", "after=abc", "colour=red", "tenant=a&tenant=b"} {
		status, hdr, body := f.do(t, http.MethodGet, "/admin/v1/messages?"+bad, adminKey, "")
		wantProblem(t, status, hdr, body, http.StatusBadRequest, adminapi.ProblemMalformedRequest)
	}

	// Replay of a non-dead message is refused; of the dead one recorded.
	status, hdr, body := f.do(t, http.MethodPost, "/admin/v1/messages/"+alive.ID+"/replay", adminKey, `{"reason":"x"}`)
	wantProblem(t, status, hdr, body, http.StatusConflict, adminapi.ProblemNotReplayable)
	status, hdr, body = f.do(t, http.MethodPost, "/admin/v1/messages/"+uuid.NewString()+"/replay", adminKey, `{"reason":"x"}`)
	wantProblem(t, status, hdr, body, http.StatusNotFound, adminapi.ProblemNotFound)
	status, hdr, body = f.do(t, http.MethodPost, "/admin/v1/messages/"+dead.ID+"/replay", adminKey, `{"reason":"x","extra":1}`)
	wantProblem(t, status, hdr, body, http.StatusBadRequest, adminapi.ProblemMalformedRequest)
	status, _, body = f.do(t, http.MethodPost, "/admin/v1/messages/"+dead.ID+"/replay", adminKey, `{"reason":"Fachverfahren repariert"}`)
	if status != http.StatusOK || decode[adminapi.ReplayResponse](t, body).Replayed != 1 {
		t.Fatalf("replay: %d %s", status, body)
	}

	status, _, body = f.do(t, http.MethodGet, "/admin/v1/messages/"+dead.ID, adminKey, "")
	if status != http.StatusOK {
		t.Fatalf("show: %d %s", status, body)
	}
	if bytes.Contains(body, []byte("Mustermann")) {
		t.Fatal("show returns the payload")
	}
	d := decode[adminapi.MessageDetail](t, body)
	if d.State != outbox.StatePending || d.Attempts != 1 || len(d.AttemptList) != 1 || d.AttemptList[0].Outcome != outbox.OutcomeDead ||
		len(d.Replays) != 1 || d.Replays[0].Reason != "Fachverfahren repariert" || d.Replays[0].Attempts != 1 ||
		!strings.HasPrefix(d.Replays[0].By, adminapi.ByPrefix+" (127.0.0.1:") {
		t.Fatalf("detail after replay = %+v", d)
	}
	status, hdr, body = f.do(t, http.MethodGet, "/admin/v1/messages/"+uuid.NewString(), adminKey, "")
	wantProblem(t, status, hdr, body, http.StatusNotFound, adminapi.ProblemNotFound)
	status, hdr, body = f.do(t, http.MethodDelete, "/admin/v1/messages/"+dead.ID, adminKey, "")
	wantProblem(t, status, hdr, body, http.StatusMethodNotAllowed, adminapi.ProblemMethodNotAllowed)
}

func TestReplayAll(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.publish(t, "musterstadt/p.q/fv", true)
	f.publish(t, "musterstadt/p.q/dms", true)
	f.publish(t, "musterstadt/p.r/fv", true)
	foreign := f.publish(t, "anderstadt/p.q/fv", true)

	status, hdr, body := f.do(t, http.MethodPost, "/admin/v1/replay", adminKey, "")
	wantProblem(t, status, hdr, body, http.StatusUnsupportedMediaType, adminapi.ProblemUnsupportedMediaType)
	status, hdr, body = f.do(t, http.MethodPost, "/admin/v1/replay", adminKey, `{"tenant":"musterstadt"} {}`)
	wantProblem(t, status, hdr, body, http.StatusBadRequest, adminapi.ProblemMalformedRequest)

	status, _, body = f.do(t, http.MethodPost, "/admin/v1/replay", adminKey, `{"tenant":"musterstadt","destination":"fv","reason":"r"}`)
	if status != http.StatusOK || decode[adminapi.ReplayResponse](t, body).Replayed != 2 {
		t.Fatalf("replay fv: %d %s", status, body)
	}
	status, _, body = f.do(t, http.MethodPost, "/admin/v1/replay", adminKey, `{"tenant":"musterstadt","reason":"r"}`)
	if status != http.StatusOK || decode[adminapi.ReplayResponse](t, body).Replayed != 1 {
		t.Fatalf("replay tenant: %d %s", status, body)
	}
	m, err := f.store.Message(context.Background(), foreign.ID)
	if err != nil || m.State != outbox.StateDead {
		t.Fatalf("other tenant's message: %s %v", m.State, err)
	}
}

// TestPostboxReferenceOnlyInDetail: lists redact a citizen's postbox
// reference; the detail view shows it, and the admin log records that.
func TestPostboxReferenceOnlyInDetail(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var logs bytes.Buffer
	h, err := adminapi.New(adminapi.Config{
		Admin:  config.Admin{Listen: "127.0.0.1:0", KeyHash: config.NewSecret(config.HashKey(adminKey))},
		Store:  st,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f := &fixture{store: st, srv: srv}

	const ref = "postfach-4711-erika"
	ctx := context.Background()
	m := outbox.Message{ID: uuid.NewString(), Topic: "t/p.q/d", Payload: []byte("<x/>"),
		Metadata: map[string]string{outbox.MetaIdentityPostboxReference: ref, "k": "v"}}
	if err := st.InTx(ctx, func(tx outbox.Tx) error { return tx.InsertMessages(ctx, []outbox.Message{m}) }); err != nil {
		t.Fatal(err)
	}
	code, _, body := f.do(t, http.MethodGet, "/admin/v1/messages", adminKey, "")
	if code != http.StatusOK || bytes.Contains(body, []byte(ref)) || !bytes.Contains(body, []byte("redacted")) {
		t.Fatalf("list: %d %s; want the postbox reference redacted", code, body)
	}
	if strings.Contains(logs.String(), "personal data shown") {
		t.Fatalf("a list was logged as showing personal data:\n%s", logs.String())
	}
	code, _, body = f.do(t, http.MethodGet, "/admin/v1/messages/"+m.ID, adminKey, "")
	if code != http.StatusOK || !bytes.Contains(body, []byte(ref)) {
		t.Fatalf("detail: %d %s; want the postbox reference", code, body)
	}
	if !strings.Contains(logs.String(), `"msg":"admin: personal data shown"`) || !strings.Contains(logs.String(), m.ID) ||
		strings.Contains(logs.String(), ref) {
		t.Fatalf("detail not audited by id (or the reference logged):\n%s", logs.String())
	}
}
