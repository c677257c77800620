package portalapi_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
	"github.com/amtsbote/amtsbote/transform"
)

func TestStatusNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := accepted(t, e.submit(t, demoKey, readDemo(t)))
	statusOf(t, e.status(t, demoKey, id))

	const unknownID = "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"
	// Another portal's submission and an unknown one look the same.
	foreign := e.status(t, otherKey, id)
	unknown := e.status(t, otherKey, unknownID)
	pf := problemOf(t, foreign, http.StatusNotFound, portalapi.ProblemNotFound)
	pu := problemOf(t, unknown, http.StatusNotFound, portalapi.ProblemNotFound)
	if pf.Instance != "/v1/submissions/"+id || pu.Instance != "/v1/submissions/"+unknownID {
		t.Errorf("instances = %q, %q; want the request paths", pf.Instance, pu.Instance)
	}
	if got, want := strings.ReplaceAll(string(foreign.body), id, unknownID), string(unknown.body); got != want {
		t.Errorf("foreign submission:\n%s\nunknown submission:\n%s\nwant the same but for the id", foreign.body, unknown.body)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control"} {
		if foreign.header.Get(h) != unknown.header.Get(h) {
			t.Errorf("%s differs: %q and %q", h, foreign.header.Get(h), unknown.header.Get(h))
		}
	}

	for _, malformed := range []string{"4711", strings.ToUpper(unknownID) + "0", "urn:uuid:" + unknownID, "{" + unknownID + "}", "%00"} {
		problemOf(t, e.status(t, demoKey, malformed), http.StatusNotFound, portalapi.ProblemNotFound)
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	const id = "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"
	tests := []struct {
		method, path string
		status       int
		typ          string
		allow        string
	}{
		{http.MethodGet, "/", http.StatusNotFound, portalapi.ProblemNotFound, ""},
		{http.MethodPost, "/v1/submission", http.StatusNotFound, portalapi.ProblemNotFound, ""},
		{http.MethodPost, "/v2/submissions", http.StatusNotFound, portalapi.ProblemNotFound, ""},
		{http.MethodGet, "/v1/submissions/" + id + "/messages", http.StatusNotFound, portalapi.ProblemNotFound, ""},
		{http.MethodPut, "/v1/submissions", http.StatusMethodNotAllowed, portalapi.ProblemMethodNotAllowed, "GET, HEAD, POST"},
		{http.MethodPost, "/v1/submissions/" + id + "/events", http.StatusMethodNotAllowed, portalapi.ProblemMethodNotAllowed, "GET, HEAD"},
		{http.MethodPost, "/v1/submissions/" + id, http.StatusMethodNotAllowed, portalapi.ProblemMethodNotAllowed, "GET, HEAD"},
		{http.MethodDelete, "/v1/submissions/" + id, http.StatusMethodNotAllowed, portalapi.ProblemMethodNotAllowed, "GET, HEAD"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, demoKey, nil)
			p := problemOf(t, r, tt.status, tt.typ)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if p.Instance != tt.path {
				t.Errorf("instance = %q, want %q", p.Instance, tt.path)
			}
		})
	}
	e.assertNothingStored(t)
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := accepted(t, e.submit(t, demoKey, readDemo(t), "Idempotency-Key", "log-1"))
	accepted(t, e.submit(t, demoKey, readDemo(t), "Idempotency-Key", "log-1"))
	statusOf(t, e.status(t, demoKey, id))
	problemOf(t, e.submit(t, "wrong-key", readDemo(t)), http.StatusUnauthorized, portalapi.ProblemUnauthorized)
	problemOf(t, e.submit(t, demoKey, demoBody(t, func(m map[string]any) { member(m, "applicant")["familienname"] = "Иванов" })),
		http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
	problemOf(t, e.do(t, http.MethodGet, "/geheim/Größmann", "", nil), http.StatusNotFound, portalapi.ProblemNotFound)

	lines := e.logLines(t)
	type want struct {
		method, route string
		status        float64
		portal        string
		submission    string
	}
	wants := []want{
		{"POST", portalapi.RouteSubmit, 202, demoPortal, id},
		{"POST", portalapi.RouteSubmit, 202, demoPortal, id},
		{"GET", portalapi.RouteStatus, 200, demoPortal, id},
		{"POST", portalapi.RouteSubmit, 401, "", ""},
		{"POST", portalapi.RouteSubmit, 422, demoPortal, ""},
		{"GET", "/", 404, "", ""},
	}
	reqs := requestLogs(lines)
	if len(reqs) != len(wants) {
		t.Fatalf("%d request records, want %d:\n%v", len(reqs), len(wants), lines)
	}
	for i, w := range wants {
		rec := reqs[i]
		str := func(k string) string { s, _ := rec[k].(string); return s }
		if rec["level"] != "INFO" || str("method") != w.method || str("route") != w.route || rec["status"] != w.status ||
			str("portal_id") != w.portal || str("submission_id") != w.submission {
			t.Errorf("record %d = %v, want %+v", i, rec, w)
		}
		if _, ok := rec["duration"].(float64); !ok {
			t.Errorf("record %d has no duration: %v", i, rec)
		}
	}
	if reqs[1]["idempotent_replayed"] != true {
		t.Errorf("replay record = %v, want idempotent_replayed", reqs[1])
	}
	for _, rec := range lines {
		s := fmtRecord(rec)
		for _, secret := range []string{demoKey, "wrong-key", "Größmann", "Jürgen", "Иванов", "geheim"} {
			if strings.Contains(s, secret) {
				t.Errorf("log record contains %q: %s", secret, s)
			}
		}
	}
}

func TestResponsesAreNotCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := accepted(t, e.submit(t, demoKey, readDemo(t)))
	for _, r := range []response{e.status(t, demoKey, id), e.submit(t, "", nil)} {
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", got)
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := portalapi.New(portalapi.Config{MaxBodyBytes: -1})
	if err == nil {
		t.Fatal("New(Config{}) succeeded")
	}
	for _, want := range []string{"config is nil", "store is nil", "intake is nil", "max body bytes is negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}

	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := testConfig(t)
	in, err := intake.New(intake.Config{Config: cfg, Store: store, Registry: transform.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := portalapi.New(portalapi.Config{Config: cfg, Store: store, Intake: in})
	if err != nil || h == nil {
		t.Fatalf("New with the required fields = %v, %v", h, err)
	}
}

func TestDefaultMaxBodyBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := bytes.Repeat([]byte(" "), portalapi.DefaultMaxBodyBytes) // JSON whitespace, then the object
	r := e.submit(t, demoKey, append(big, readDemo(t)...))
	problemOf(t, r, http.StatusRequestEntityTooLarge, portalapi.ProblemPayloadTooLarge)
	accepted(t, e.submit(t, demoKey, append(big[:portalapi.DefaultMaxBodyBytes-len(readDemo(t))], readDemo(t)...)))
}

func TestNewServer(t *testing.T) {
	t.Parallel()
	h := http.NotFoundHandler()
	s := portalapi.NewServer("127.0.0.1:8080", h, portalapi.Timeouts{
		ReadHeader: 1 * time.Second, Read: 2 * time.Second, Write: 3 * time.Second, Idle: 4 * time.Second,
	})
	if s.Addr != "127.0.0.1:8080" || s.Handler == nil || s.ReadHeaderTimeout != time.Second || s.ReadTimeout != 2*time.Second ||
		s.WriteTimeout != 3*time.Second || s.IdleTimeout != 4*time.Second || s.MaxHeaderBytes != 64<<10 {
		t.Errorf("server = %+v", s)
	}
}
