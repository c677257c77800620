package portalapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/internal/testlog"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
)

const (
	demoKey    = "test-key"  // API key of demo-portal: musterstadt, demoProcedure only
	otherKey   = "other-key" // API key of other-portal: every tenant and procedure
	demoPortal = "demo-portal"

	demoTenant  = "musterstadt"
	otherTenant = "beispielhausen"

	demoProcedure = "meldewesen.wohnungsgeberbestaetigung"
	// bauProcedure is routed by otherTenant but has no mapper.
	bauProcedure = "bau.baugenehmigung"
	// Routed by otherTenant to stub mappers that misbehave.
	panicProcedure      = "test.panik"
	mapErrorProcedure   = "test.kaputt"
	mapInvalidProcedure = "test.streng"

	demoBodyPath = "../../testdata/submissions/demo.json"
)

var (
	demoTopic = config.Topic(demoTenant, demoProcedure, "fachverfahren")
	// testNow is the clock of the handler under test.
	testNow     = time.Date(2026, 11, 30, 9, 15, 42, 0, time.UTC)
	testProduct = transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "0.0.0-test"}
)

// testConfig is config.Demo plus otherTenant, which routes demoProcedure to
// two destinations and the test procedures to one, and other-portal, which
// may submit anything.
func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg := config.Demo(t.TempDir(), config.HashKey(demoKey))
	cfg.Portals[0].Procedures = []string{demoProcedure} // config.Demo allows every procedure
	drop := func(id string) config.Destination {
		return config.Destination{ID: id, Type: "filedrop", FileDrop: &config.FileDrop{Dir: t.TempDir()}}
	}
	routes := []config.Route{{Procedure: demoProcedure, Destinations: []config.Destination{drop("fachverfahren"), drop("archiv")}}}
	for _, p := range []string{bauProcedure, panicProcedure, mapErrorProcedure, mapInvalidProcedure} {
		if _, ok := cfg.Procedure(p); !ok { // config.Demo has bauProcedure already
			cfg.Procedures = append(cfg.Procedures, config.Procedure{ID: p, Name: p})
		}
		routes = append(routes, config.Route{Procedure: p, Destinations: []config.Destination{drop("fachverfahren")}})
	}
	cfg.Tenants = append(cfg.Tenants, config.Tenant{
		ID: otherTenant, Name: "Gemeinde Beispielhausen", AGS: "03241001", Behoerdenkennung: "psw:03241001", Procedures: routes,
	})
	cfg.Portals = append(cfg.Portals, config.Portal{
		ID: "other-portal", Name: "Anderes Portal", KeyHash: config.NewSecret(config.HashKey(otherKey)),
		Tenants: []string{"*"}, Procedures: []string{"*"},
	})
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	return cfg
}

// stubMapper accepts every submission and fails in Map as told.
type stubMapper struct {
	panics bool  // Validate panics
	err    error // Map returns it
}

func (m stubMapper) Validate(transform.Submission) []transform.FieldError {
	if m.panics {
		panic("stub mapper panics with Иван Петров") // a value that must not reach the log
	}
	return nil
}

func (m stubMapper) Map(transform.Input) (transform.Document, error) {
	return transform.Document{}, m.err
}

func testRegistry(t testing.TB) *transform.Registry {
	t.Helper()
	r := transform.NewRegistry()
	for p, m := range map[string]transform.Mapper{
		demoProcedure:     envelope.New(),
		panicProcedure:    stubMapper{panics: true},
		mapErrorProcedure: stubMapper{err: errors.New("stub mapper is broken")},
		mapInvalidProcedure: stubMapper{err: &transform.ValidationError{Errors: []transform.FieldError{
			{Pointer: "/data/plz", Code: transform.CodeType, Message: "must be a postcode", MessageDE: "muss eine Postleitzahl sein"},
		}}},
	} {
		if err := r.Register(p, m); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// env is a portal API on a real SQLite store behind an httptest server.
type env struct {
	cfg     *config.Config
	store   *sqlite.Store
	handler *portalapi.Handler
	srv     *httptest.Server
	logs    *testlog.Buffer
}

// apiConfig names portalapi.Config for embedding in envConfig, where its
// own field Config (the configuration) stays reachable as c.Config.
type apiConfig = portalapi.Config

// envConfig is what the options of newEnv adjust: the handler's Config and
// the registry of the intake behind it.
type envConfig struct {
	apiConfig
	Registry *transform.Registry
}

// newEnv starts a server; opts adjust the handler's Config.
func newEnv(t testing.TB, opts ...func(*envConfig)) *env {
	t.Helper()
	return newEnvServer(t, nil, opts...)
}

// newEnvServer is newEnv with serverOpt adjusting the http.Server before it starts.
func newEnvServer(t testing.TB, serverOpt func(*http.Server), opts ...func(*envConfig)) *env {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logs := &testlog.Buffer{}
	ec := envConfig{
		apiConfig: portalapi.Config{
			Config: testConfig(t),
			Store:  store,
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Now:    func() time.Time { return testNow },
		},
		Registry: testRegistry(t),
	}
	for _, o := range opts {
		o(&ec)
	}
	pc := ec.apiConfig
	in, err := intake.New(intake.Config{Config: pc.Config, Store: store, Registry: ec.Registry, Product: testProduct,
		Logger: pc.Logger, Now: pc.Now})
	if err != nil {
		t.Fatalf("intake.New: %v", err)
	}
	pc.Intake = in
	h, err := portalapi.New(pc)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	if serverOpt != nil {
		serverOpt(srv.Config)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{cfg: pc.Config, store: store, handler: h, srv: srv, logs: logs}
}

// response is an answer of the server, read completely.
type response struct {
	status int
	header http.Header
	body   []byte
	close  bool // the server asked to close the connection ("Connection: close")
}

// do sends a request; key "" sends no Authorization header. header holds
// name, value pairs.
func (e *env) do(t *testing.T, method, path, key string, body io.Reader, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b, close: resp.Close}
}

// submit posts body as application/json.
func (e *env) submit(t *testing.T, key string, body []byte, header ...string) response {
	t.Helper()
	return e.do(t, http.MethodPost, "/v1/submissions", key, bytes.NewReader(body),
		append([]string{"Content-Type", "application/json"}, header...)...)
}

// assemble returns the content the relay delivers for m: its payload, or
// the ZIP container its bundle describes.
func (e *env) assemble(t *testing.T, m outbox.Message) []byte {
	t.Helper()
	var b bytes.Buffer
	d := outbox.Delivery{MessageID: m.ID, Payload: m.Payload, Metadata: m.Metadata}.WithBlobs(e.store)
	if err := d.WriteTo(context.Background(), &b); err != nil {
		t.Fatalf("assemble message %s: %v", m.ID, err)
	}
	return b.Bytes()
}

// status gets the status of submission id.
func (e *env) status(t *testing.T, key, id string) response {
	t.Helper()
	return e.do(t, http.MethodGet, "/v1/submissions/"+id, key, nil)
}

// accepted checks a 202 answer and returns the submission id.
func accepted(t *testing.T, r response) string {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got portalapi.AcceptedResponse
	decodeStrict(t, r.body, &got)
	if got.ID == "" || got.Status != "accepted" {
		t.Fatalf("body = %s, want an id and status accepted", r.body)
	}
	if loc := r.header.Get("Location"); loc != "/v1/submissions/"+got.ID {
		t.Errorf("Location = %q, want /v1/submissions/%s", loc, got.ID)
	}
	return got.ID
}

// statusOf checks a 200 answer to a status request and decodes it.
func statusOf(t *testing.T, r response) portalapi.StatusResponse {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", r.status, r.body)
	}
	var got portalapi.StatusResponse
	decodeStrict(t, r.body, &got)
	return got
}

// problemOf checks that r is a problem of type typ and status, in English
// (the language without Accept-Language), and decodes it.
func problemOf(t *testing.T, r response, status int, typ string) portalapi.Problem {
	t.Helper()
	return problemIn(t, r, status, typ, "en")
}

// problemIn is problemOf for a problem in lang.
func problemIn(t *testing.T, r response, status int, typ, lang string) portalapi.Problem {
	t.Helper()
	if got := r.header.Get("Content-Language"); got != lang {
		t.Errorf("Content-Language = %q, want %q", got, lang)
	}
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p portalapi.Problem
	decodeStrict(t, r.body, &p)
	if p.Type != typ || p.Status != status || p.Title == "" {
		t.Errorf("problem = %+v, want type %s, status %d and a title", p, typ, status)
	}
	return p
}

func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// topics returns every topic of the test configuration.
func (e *env) topics() []string {
	var topics []string
	for _, tn := range e.cfg.Tenants {
		for _, r := range tn.Procedures {
			for _, d := range r.Destinations {
				topics = append(topics, config.Topic(tn.ID, r.Procedure, d.ID))
			}
		}
	}
	return topics
}

// claim leases every due message of topic.
func (e *env) claim(t *testing.T, topic string) []outbox.Message {
	t.Helper()
	msgs, err := e.store.Claim(context.Background(), outbox.ClaimParams{
		Topic: topic, Owner: "test-" + t.Name(), Limit: 1000, Lease: time.Minute,
	})
	if err != nil {
		t.Fatalf("Claim(%s): %v", topic, err)
	}
	return msgs
}

// assertNothingStored checks that no topic has a claimable message.
func (e *env) assertNothingStored(t *testing.T) {
	t.Helper()
	for _, topic := range e.topics() {
		if msgs := e.claim(t, topic); len(msgs) != 0 {
			t.Errorf("topic %s has %d claimable message(s), want none", topic, len(msgs))
		}
	}
	// No attachment content is left staged either: a refused request
	// deletes what it uploaded.
	if n, err := e.store.PurgeStagedBlobs(context.Background(), time.Now().Add(24*time.Hour)); err != nil || n != 0 {
		t.Errorf("%d staged blobs left behind (%v), want none", n, err)
	}
}

// logLines stops the server, so that every request has been logged, and
// returns the log records.
func (e *env) logLines(t *testing.T) []map[string]any {
	t.Helper()
	e.srv.Close()
	var lines []map[string]any
	for line := range strings.Lines(e.logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, rec)
	}
	return lines
}

// requestLogs returns the records of message "request".
func requestLogs(lines []map[string]any) []map[string]any {
	return slices.DeleteFunc(slices.Clone(lines), func(rec map[string]any) bool { return rec["msg"] != "request" })
}

// readDemo returns testdata/submissions/demo.json.
func readDemo(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(demoBodyPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeJSON decodes b as the handler does, numbers as json.Number.
func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// demoBody returns demo.json changed by mutate, encoded compactly.
func demoBody(t testing.TB, mutate func(m map[string]any)) []byte {
	t.Helper()
	m := decodeJSON(t, readDemo(t))
	if mutate != nil {
		mutate(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// object returns m[key] as an object.
func object(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", key, m[key])
	}
	return o
}

// member returns m[key] as an object; it panics if it is none.
func member(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// fmtRecord returns a log record as one JSON line, to search it.
func fmtRecord(rec map[string]any) string {
	b, _ := json.Marshal(rec)
	return string(b)
}
