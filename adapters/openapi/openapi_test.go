package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/adapters/openapi"
	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/intake/idtoken/idtokentest"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xmeld"
)

const (
	portalKey   = "portal-key"
	adminKey    = "admin-key"
	answersKey  = "answers-key"
	verifiedKey = "verified-portal-key"
	fvTopic     = "musterstadt/meldewesen.wohnungsgeberbestaetigung/fachverfahren"
)

// loadDocument loads and validates the document as OpenAPI 3.1 and returns
// a router over it that matches any host.
func loadDocument(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("document is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3.1: %v", err)
	}
	doc.Servers = nil // the tests' servers listen on random ports
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// validator sends real requests and validates each request and its response
// against the document.
type validator struct {
	t         *testing.T
	router    routers.Router
	exercised map[string]bool // operation ids with a validated exchange
}

// exchange is one request and what the test expects of it.
type exchange struct {
	method, path string // path with query
	header       http.Header
	body         string
	// requestValid says whether the request itself conforms to the
	// document; requests the API must refuse often do not.
	requestValid bool
	status       int // expected status
}

// result is a response, read completely.
type result struct {
	status int
	header http.Header
	body   []byte
}

// problemType returns the type member of a problem body.
func (r result) problemType() string {
	var p struct{ Type, Detail string }
	_ = json.Unmarshal(r.body, &p)
	return p.Type
}

// notImplemented reports whether r is the catch-all 404 of a mux that has no
// such route yet.
func (r result) notImplemented() bool {
	var p struct{ Detail string }
	_ = json.Unmarshal(r.body, &p)
	return r.status == http.StatusNotFound && p.Detail == "no such resource"
}

func (v *validator) do(t *testing.T, base string, e exchange) result {
	t.Helper()
	req, err := http.NewRequest(e.method, base+e.path, strings.NewReader(e.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range e.header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}
}

// check validates e's request and res against the document.
func (v *validator) check(t *testing.T, e exchange, res result) {
	t.Helper()
	if res.status != e.status {
		t.Fatalf("%s %s: status %d, want %d: %s", e.method, e.path, res.status, e.status, res.body)
	}
	req, err := http.NewRequest(e.method, "http://amtsbote.test"+e.path, strings.NewReader(e.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range e.header {
		req.Header[k] = vs
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: not in the document: %v", e.method, e.path, err)
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	err = openapi3filter.ValidateRequest(ctx, in)
	switch {
	case e.requestValid && err != nil:
		t.Errorf("%s %s: request does not validate: %v", e.method, e.path, err)
	case !e.requestValid && err == nil:
		t.Errorf("%s %s: request validates, but the document should reject it", e.method, e.path)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.status, Header: res.header,
		Body:    io.NopCloser(bytes.NewReader(res.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s -> %d: response does not validate: %v\n%s", e.method, e.path, res.status, err, res.body)
	}
	v.exercised[route.Operation.OperationID] = true
}

// run sends e to base and checks it.
func (v *validator) run(t *testing.T, base string, e exchange) result {
	t.Helper()
	res := v.do(t, base, e)
	v.check(t, e, res)
	return res
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// portalHeaders are those of a well-formed submission.
// The multipart form of a submission: demo.json with one attachment.
const (
	boundary     = "amtsbote-test-boundary"
	mpType       = "multipart/form-data; boundary=" + boundary
	attachmentID = "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d"
)

// multipartBody is demo with one attachment described, and content as its part.
func multipartBody(t *testing.T, demo []byte, boundary, content string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(demo, &m); err != nil {
		t.Fatal(err)
	}
	m["attachments"] = []any{map[string]any{"id": attachmentID, "filename": "Plan.pdf", "mime_type": "application/pdf"}}
	sub, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return "--" + boundary + "\r\n" +
		"Content-Disposition: form-data; name=\"submission\"\r\nContent-Type: application/json\r\n\r\n" + string(sub) + "\r\n" +
		"--" + boundary + "\r\n" +
		"Content-Disposition: form-data; name=\"" + attachmentID + "\"; filename=\"Plan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n" +
		content + "\r\n--" + boundary + "--\r\n"
}

func portalHeaders(kv ...string) http.Header {
	return hdr(append([]string{"Authorization", "Bearer " + portalKey, "Content-Type", "application/json"}, kv...)...)
}

func registry(t *testing.T, cfg *config.Config) *transform.Registry {
	t.Helper()
	r := transform.NewRegistry()
	for _, p := range cfg.Procedures {
		var m transform.Mapper = envelope.New()
		if p.ID == xmeld.Procedure {
			xm, err := xmeld.New()
			if err != nil {
				t.Fatal(err)
			}
			m = xm
		}
		if err := r.Register(p.ID, m); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// complete records one attempt of the due message id of fvTopic.
func complete(t *testing.T, st *sqlite.Store, id string, o outbox.Outcome) {
	t.Helper()
	ctx := context.Background()
	msgs, err := st.Claim(ctx, outbox.ClaimParams{Topic: fvTopic, Owner: "test", Limit: 100, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, m := range msgs {
		if m.ID != id {
			others = append(others, m.ID)
		}
	}
	if len(others) == len(msgs) {
		t.Fatalf("message %s is not due", id)
	}
	if err := st.Release(ctx, "test", fvTopic, others); err != nil {
		t.Fatal(err)
	}
	c := outbox.Completion{Topic: fvTopic, ID: id, Owner: "test", Outcome: o, StartedAt: time.Now(), FinishedAt: time.Now()}
	if o != outbox.OutcomeDelivered {
		c.Error = "503 Service Unavailable"
		c.NextAttemptAt = time.Now()
	}
	if err := st.Complete(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// TestRequestsAndResponsesValidate drives every handler of the portal and
// admin APIs with real HTTP requests against a real SQLite store and
// validates each request and response against the document.
func TestRequestsAndResponsesValidate(t *testing.T) {
	doc, router := loadDocument(t)
	v := &validator{t: t, router: router, exercised: map[string]bool{}}
	skipped := map[string]string{}

	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := config.Demo(dir, config.HashKey(portalKey))
	// A second portal must send identity tokens of a test provider.
	idp := idtokentest.New(t)
	verifiedPortal := cfg.Portals[0]
	verifiedPortal.ID, verifiedPortal.KeyHash = "verified-portal", config.NewSecret(config.HashKey(verifiedKey))
	verifiedPortal.IdentityToken = &config.IdentityToken{Required: true, Audience: []string{idtokentest.Audience},
		PseudonymKey: config.NewSecret("openapi-test-pseudonym-key-0123456789"),
		Providers: []config.IdentityProvider{{Issuer: idtokentest.Issuer, Name: "BundID", JWKSURL: idp.URL(),
			TrustLevels: idtokentest.TrustLevels()}}}
	cfg.Portals = append(cfg.Portals, verifiedPortal)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// The Wohnungsgeberbestätigung's Fachverfahren answers.
	cfg.Tenants[0].Procedures[0].Destinations[0].Answers = &config.Answers{KeyHash: config.NewSecret(config.HashKey(answersKey)),
		MaxBytes: config.DefaultAnswerMaxBytes}
	answerSvc, err := intake.NewAnswerService(intake.AnswerServiceConfig{Config: cfg, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	in, err := intake.New(intake.Config{Config: cfg, Store: st, Registry: registry(t, cfg),
		Product: transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := portalapi.Config{Config: cfg, Intake: in, Store: st, MaxBodyBytes: 256 << 10, Answers: answerSvc}
	portal, err := portalapi.New(pc)
	if err != nil {
		t.Fatal(err)
	}
	psrv := httptest.NewServer(portal)
	defer psrv.Close()
	admin, err := adminapi.New(adminapi.Config{
		Admin: config.Admin{Listen: "127.0.0.1:0", KeyHash: config.NewSecret(config.HashKey(adminKey))}, Store: st, Answers: answerSvc,
		Reloader: &fakeReloader{}})
	if err != nil {
		t.Fatal(err)
	}
	asrv := httptest.NewServer(admin)
	defer asrv.Close()

	demo, err := os.ReadFile("../../testdata/submissions/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	submit := func(t *testing.T, key string) string {
		t.Helper()
		res := v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/submissions", header: portalHeaders("Idempotency-Key", key),
			body: string(demo), requestValid: true, status: 202})
		var a struct{ ID string }
		if err := json.Unmarshal(res.body, &a); err != nil || a.ID == "" {
			t.Fatalf("202 without an id: %s", res.body)
		}
		return a.ID
	}

	msgOf := func(t *testing.T, submission string) string {
		t.Helper()
		_, msgs, err := st.Submission(context.Background(), submission)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages of %s: %v %d", submission, err, len(msgs))
		}
		return msgs[0].ID
	}

	// The submissions the later cases read: one delivered after a retry,
	// one dead, one still queued.
	var delivered, dead, queued string
	t.Run("POST /v1/submissions", func(t *testing.T) {
		delivered = submit(t, "sub-1")
		complete(t, st, msgOf(t, delivered), outbox.OutcomeRetry)
		complete(t, st, msgOf(t, delivered), outbox.OutcomeDelivered)
		dead = submit(t, "sub-2")
		complete(t, st, msgOf(t, dead), outbox.OutcomeDead)
		queued = submit(t, "sub-3")

		v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/submissions",
			header: hdr("Authorization", "Bearer "+portalKey, "Content-Type", mpType),
			body:   multipartBody(t, demo, boundary, "%PDF-1.7 plan"), requestValid: true, status: 202})

		res := v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/submissions", header: portalHeaders("Idempotency-Key", "sub-1"),
			body: string(demo), requestValid: true, status: 202})
		if res.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay without Idempotent-Replayed: %v", res.header)
		}
		var other map[string]any
		_ = json.Unmarshal(demo, &other)
		other["tenant"] = "anderswo"
		otherBody, _ := json.Marshal(other)
		var wrongData map[string]any
		_ = json.Unmarshal(demo, &wrongData)
		wrongData["data"] = map[string]any{}
		wrongBody, _ := json.Marshal(wrongData)
		var otherID map[string]any
		_ = json.Unmarshal(demo, &otherID)
		otherID["identity"] = map[string]any{"method": "none"}
		otherIDBody, _ := json.Marshal(otherID)
		big := strings.Replace(string(demo), `"data": {`, `"data": {"x": "`+strings.Repeat("a", 300<<10)+`",`, 1)
		if big == string(demo) {
			big = string(demo[:len(demo)-2]) + `, "x": "` + strings.Repeat("a", 300<<10) + `"}`
		}

		for _, c := range []struct {
			name string
			e    exchange
			typ  string
		}{
			{"conflicting reuse of a key", exchange{header: portalHeaders("Idempotency-Key", "sub-1"), body: string(otherIDBody), requestValid: true, status: 422}, portalapi.ProblemIdempotencyConflict},
			{"payload invalid", exchange{header: portalHeaders(), body: string(wrongBody), requestValid: true, status: 422}, portalapi.ProblemValidationFailed},
			{"unknown member", exchange{header: portalHeaders(), body: `{"tenant":"musterstadt","procedure":"x.y","applicant":{},"data":{},"extra":1}`, status: 422}, portalapi.ProblemValidationFailed},
			{"tenant not allowed", exchange{header: portalHeaders(), body: string(otherBody), requestValid: true, status: 403}, portalapi.ProblemForbidden},
			{"no key", exchange{header: hdr("Content-Type", "application/json"), body: string(demo), requestValid: true, status: 401}, portalapi.ProblemUnauthorized},
			{"unknown key", exchange{header: hdr("Authorization", "Bearer nope", "Content-Type", "application/json"), body: string(demo), requestValid: true, status: 401}, portalapi.ProblemUnauthorized},
			{"not JSON", exchange{header: portalHeaders(), body: `{"tenant":`, status: 400}, portalapi.ProblemMalformedRequest},
			{"key too long", exchange{header: portalHeaders("Idempotency-Key", strings.Repeat("k", 300)), body: string(demo), status: 400}, portalapi.ProblemMalformedRequest},
			{"text/plain", exchange{header: hdr("Authorization", "Bearer "+portalKey, "Content-Type", "text/plain"), body: string(demo), status: 415}, portalapi.ProblemUnsupportedMediaType},
			{"too large", exchange{header: portalHeaders(), body: big, requestValid: true, status: 413}, portalapi.ProblemPayloadTooLarge},
			{"German problem", exchange{header: portalHeaders("Accept-Language", "de"), body: string(wrongBody), requestValid: true, status: 422}, portalapi.ProblemValidationFailed},
			{"multipart, attachment not a PDF", exchange{header: hdr("Authorization", "Bearer "+portalKey, "Content-Type", mpType),
				body: multipartBody(t, demo, boundary, "not a PDF"), requestValid: true, status: 422}, portalapi.ProblemValidationFailed},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.e.method, c.e.path = "POST", "/v1/submissions"
				if got := v.run(t, psrv.URL, c.e).problemType(); got != c.typ {
					t.Errorf("problem type %q, want %q", got, c.typ)
				}
			})
		}
	})

	t.Run("identity token", func(t *testing.T) {
		valid := idtokentest.Claims(time.Now(), idtokentest.ACRSubstantial)
		vh := func(kv ...string) http.Header {
			return hdr(append([]string{"Authorization", "Bearer " + verifiedKey, "Content-Type", "application/json"}, kv...)...)
		}
		res := v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/submissions",
			header: vh(portalapi.HeaderIdentityToken, idp.RSA.Sign(t, valid)), body: string(demo), requestValid: true, status: 202})
		var a struct{ ID string }
		if err := json.Unmarshal(res.body, &a); err != nil || a.ID == "" {
			t.Fatalf("202 without an id: %s", res.body)
		}
		res = v.run(t, psrv.URL, exchange{method: "GET", path: "/v1/submissions/" + a.ID, header: hdr("Authorization", "Bearer "+verifiedKey),
			requestValid: true, status: 200})
		if !strings.Contains(string(res.body), `"verified":true`) {
			t.Errorf("status without the verified identity: %s", res.body)
		}
		for _, c := range []struct {
			name, token, reason string
		}{
			{"missing", "", "missing"},
			{"expired", idp.RSA.Sign(t, idtokentest.With(valid, "exp", time.Now().Add(-time.Hour).Unix())), "expired"},
		} {
			h := vh()
			if c.token != "" {
				h.Set(portalapi.HeaderIdentityToken, c.token)
			}
			res := v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/submissions", header: h, body: string(demo), requestValid: true, status: 401})
			var p portalapi.Problem
			if err := json.Unmarshal(res.body, &p); err != nil || p.Type != portalapi.ProblemIdentityToken || p.Reason != c.reason {
				t.Errorf("%s: problem %s, want %s with reason %s", c.name, res.body, portalapi.ProblemIdentityToken, c.reason)
			}
		}
	})

	t.Run("GET /v1/submissions/{id}", func(t *testing.T) {
		for _, c := range []struct {
			name, id string
			status   int
			want     string // the submission's status
		}{
			{"delivered after a retry", delivered, 200, "delivered"},
			{"dead", dead, 200, "failed"},
			{"queued", queued, 200, "accepted"},
			{"unknown", uuid.NewString(), 404, ""},
			{"not a UUID", "x", 404, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := exchange{method: "GET", path: "/v1/submissions/" + c.id, header: hdr("Authorization", "Bearer "+portalKey),
					requestValid: true, status: c.status}
				res := v.do(t, psrv.URL, e)
				if oldStateVocabulary(res.body) {
					v.exercised["getSubmission"] = true
					t.Skip("not implemented yet: destination states queued/failed in GET /v1/submissions/{id}")
				}
				v.check(t, e, res)
				var s struct{ Status string }
				_ = json.Unmarshal(res.body, &s)
				if c.want != "" && s.Status != c.want {
					t.Errorf("status %q, want %q", s.Status, c.want)
				}
			})
		}
	})

	t.Run("GET /v1/submissions", func(t *testing.T) {
		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		e := exchange{method: "GET", path: "/v1/submissions?since=" + since + "&limit=2", header: hdr("Authorization", "Bearer "+portalKey),
			requestValid: true, status: 200}
		res := v.do(t, psrv.URL, e)
		if res.status == http.StatusMethodNotAllowed || res.notImplemented() {
			skipped["listSubmissions"] = "GET /v1/submissions"
			t.Skip("not implemented yet: GET /v1/submissions")
		}
		if oldStateVocabulary(res.body) {
			skipped["listSubmissions"] = "states"
			t.Skip("not implemented yet: destination states queued/failed in GET /v1/submissions")
		}
		v.check(t, e, res)
		var page struct {
			Submissions []json.RawMessage
			NextCursor  string `json:"next_cursor"`
		}
		if err := json.Unmarshal(res.body, &page); err != nil || len(page.Submissions) != 2 || page.NextCursor == "" {
			t.Fatalf("first page: %v %s", err, res.body)
		}
		v.run(t, psrv.URL, exchange{method: "GET", path: "/v1/submissions?limit=2&cursor=" + page.NextCursor,
			header: hdr("Authorization", "Bearer "+portalKey), requestValid: true, status: 200})
		v.run(t, psrv.URL, exchange{method: "GET", path: "/v1/submissions?limit=0",
			header: hdr("Authorization", "Bearer "+portalKey), status: 400})
		v.run(t, psrv.URL, exchange{method: "GET", path: "/v1/submissions?since=gestern",
			header: hdr("Authorization", "Bearer "+portalKey), status: 400})
	})

	t.Run("GET /v1/submissions/{id}/events", func(t *testing.T) {
		e := exchange{method: "GET", path: "/v1/submissions/" + delivered + "/events", header: hdr("Authorization", "Bearer "+portalKey),
			requestValid: true, status: 200}
		res := v.do(t, psrv.URL, e)
		if res.notImplemented() || res.status == http.StatusMethodNotAllowed {
			skipped["getSubmissionEvents"] = "GET /v1/submissions/{id}/events"
			t.Skip("not implemented yet: GET /v1/submissions/{id}/events")
		}
		v.check(t, e, res)
		v.run(t, psrv.URL, exchange{method: "GET", path: "/v1/submissions/" + uuid.NewString() + "/events",
			header: hdr("Authorization", "Bearer "+portalKey), requestValid: true, status: 404})
	})

	t.Run("429 after failed authentications", func(t *testing.T) {
		e := exchange{method: "GET", path: "/v1/submissions/" + delivered, header: hdr("Authorization", "Bearer wrong"),
			requestValid: true, status: 429}
		for range 200 {
			res := v.do(t, psrv.URL, e)
			if res.status == http.StatusTooManyRequests {
				v.check(t, e, res)
				return
			}
		}
		t.Skip("not implemented yet: 429 after repeated failed authentications")
	})

	t.Run("503 while draining", func(t *testing.T) {
		draining, err := portalapi.New(pc)
		if err != nil {
			t.Fatal(err)
		}
		draining.SetDraining(true)
		srv := httptest.NewServer(draining)
		defer srv.Close()
		res := v.run(t, srv.URL, exchange{method: "POST", path: "/v1/submissions", header: portalHeaders(), body: string(demo),
			requestValid: true, status: 503})
		if res.problemType() != portalapi.ProblemUnavailable {
			t.Errorf("problem %s", res.body)
		}
	})

	// Admin API.
	auth := hdr("Authorization", "Bearer "+adminKey)
	authJSON := hdr("Authorization", "Bearer "+adminKey, "Content-Type", "application/json")
	deadMsg, deliveredMsg := msgOf(t, dead), msgOf(t, delivered)
	// The same id on two topics makes a message ambiguous.
	ambiguous := uuid.NewString()
	if err := st.InTx(context.Background(), func(tx outbox.Tx) error {
		return tx.InsertMessages(context.Background(), []outbox.Message{
			{ID: ambiguous, Topic: "a/b.c/d", Payload: []byte("<x/>")}, {ID: ambiguous, Topic: "a/b.c/e", Payload: []byte("<x/>")}})
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("admin", func(t *testing.T) {
		for _, c := range []struct {
			name string
			e    exchange
		}{
			{"list dead", exchange{method: "GET", path: "/admin/v1/messages?status=dead&tenant=musterstadt&limit=10", header: auth, requestValid: true, status: 200}},
			{"list all", exchange{method: "GET", path: "/admin/v1/messages", header: auth, requestValid: true, status: 200}},
			{"list bad status", exchange{method: "GET", path: "/admin/v1/messages?status=kaputt", header: auth, status: 400}},
			{"list bad limit", exchange{method: "GET", path: "/admin/v1/messages?limit=5000", header: auth, status: 400}},
			{"list without key", exchange{method: "GET", path: "/admin/v1/messages", requestValid: true, status: 401}},
			{"show dead", exchange{method: "GET", path: "/admin/v1/messages/" + deadMsg, header: auth, requestValid: true, status: 200}},
			{"show delivered", exchange{method: "GET", path: "/admin/v1/messages/" + deliveredMsg, header: auth, requestValid: true, status: 200}},
			{"show unknown", exchange{method: "GET", path: "/admin/v1/messages/" + uuid.NewString(), header: auth, requestValid: true, status: 404}},
			{"show ambiguous", exchange{method: "GET", path: "/admin/v1/messages/" + ambiguous, header: auth, requestValid: true, status: 409}},
			{"replay delivered", exchange{method: "POST", path: "/admin/v1/messages/" + deliveredMsg + "/replay", header: authJSON, body: `{"reason":"test"}`, requestValid: true, status: 409}},
			{"replay unknown", exchange{method: "POST", path: "/admin/v1/messages/" + uuid.NewString() + "/replay", header: authJSON, body: `{"reason":"test"}`, requestValid: true, status: 404}},
			{"replay text/plain", exchange{method: "POST", path: "/admin/v1/messages/" + deadMsg + "/replay", header: hdr("Authorization", "Bearer "+adminKey, "Content-Type", "text/plain"), body: `{}`, status: 415}},
			{"replay unknown member", exchange{method: "POST", path: "/admin/v1/messages/" + deadMsg + "/replay", header: authJSON, body: `{"grund":"x"}`, status: 400}},
			{"replay dead", exchange{method: "POST", path: "/admin/v1/messages/" + deadMsg + "/replay", header: authJSON, body: `{"reason":"Fachverfahren wieder da"}`, requestValid: true, status: 200}},
			{"replay all", exchange{method: "POST", path: "/admin/v1/replay", header: authJSON, body: `{"tenant":"musterstadt","reason":"test"}`, requestValid: true, status: 200}},
			{"replay all bad body", exchange{method: "POST", path: "/admin/v1/replay", header: authJSON, body: `[]`, status: 400}},
			{"replay remap unavailable", exchange{method: "POST", path: "/admin/v1/messages/" + deliveredMsg + "/replay", header: authJSON, body: `{"remap":true}`, requestValid: true, status: 409}},
			{"reload applied", exchange{method: "POST", path: "/admin/v1/reload", header: auth, requestValid: true, status: 200}},
			{"reload refused", exchange{method: "POST", path: "/admin/v1/reload", header: auth, requestValid: true, status: 409}},
		} {
			t.Run(c.name, func(t *testing.T) { v.run(t, asrv.URL, c.e) })
		}
	})

	t.Run("admin discard", func(t *testing.T) {
		// The replayed message is dead again after one more failed attempt.
		complete(t, st, deadMsg, outbox.OutcomeDead)
		e := exchange{method: "POST", path: "/admin/v1/messages/" + deadMsg + "/discard", header: authJSON,
			body: `{"reason":"Doppelt eingereicht"}`, requestValid: true, status: 200}
		res := v.do(t, asrv.URL, e)
		if res.notImplemented() || res.status == http.StatusMethodNotAllowed {
			skipped["adminDiscardMessage"] = "POST /admin/v1/messages/{id}/discard"
			t.Skip("not implemented yet: POST /admin/v1/messages/{id}/discard")
		}
		v.check(t, e, res)
		v.run(t, asrv.URL, exchange{method: "POST", path: "/admin/v1/messages/" + deliveredMsg + "/discard", header: authJSON,
			body: `{"reason":"x"}`, requestValid: true, status: 409})
	})

	t.Run("admin events", func(t *testing.T) {
		e := exchange{method: "GET", path: "/admin/v1/submissions/" + dead + "/events", header: auth, requestValid: true, status: 200}
		res := v.do(t, asrv.URL, e)
		if res.notImplemented() || res.status == http.StatusMethodNotAllowed {
			skipped["adminSubmissionEvents"] = "GET /admin/v1/submissions/{id}/events"
			t.Skip("not implemented yet: GET /admin/v1/submissions/{id}/events")
		}
		v.check(t, e, res)
		v.run(t, asrv.URL, exchange{method: "GET", path: "/admin/v1/submissions/" + uuid.NewString() + "/events", header: auth,
			requestValid: true, status: 404})
	})

	t.Run("answers", func(t *testing.T) {
		// A handler of its own: the one above has used up the client's failed authentications.
		portal, err := portalapi.New(pc)
		if err != nil {
			t.Fatal(err)
		}
		psrv := httptest.NewServer(portal)
		defer psrv.Close()
		ans := func(ct string) http.Header { return hdr("Authorization", "Bearer "+answersKey, "Content-Type", ct) }
		msg := msgOf(t, delivered)
		eingang := string(answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: msg}))
		v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/answers", header: ans("application/xml"), body: eingang, requestValid: true, status: 202})
		v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/answers", header: ans("application/xml"), body: eingang, requestValid: true, status: 200})
		v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/answers", header: ans("application/xml"),
			body: strings.Replace(eingang, "</", " </", 1), requestValid: true, status: 409})
		v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/answers", header: ans("application/xml"), body: "<x/>", requestValid: true, status: 422})
		v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/answers", header: hdr("Authorization", "Bearer "+portalKey, "Content-Type", "application/xml"),
			body: eingang, requestValid: true, status: 401})
		v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/answers", header: ans("application/zip"),
			body: string(answerstest.BescheidContainer(t, answerstest.Refs{Reference: msg})), requestValid: true, status: 202})
		res := v.run(t, psrv.URL, exchange{method: "GET", path: "/v1/submissions/" + delivered, header: hdr("Authorization", "Bearer "+portalKey),
			requestValid: true, status: 200})
		var st portalapi.StatusResponse
		if err := json.Unmarshal(res.body, &st); err != nil || len(st.Answers) != 2 || len(st.Answers[1].Documents) != 1 {
			t.Fatalf("answers in the status: %s", res.body)
		}
		v.run(t, psrv.URL, exchange{method: "GET", path: st.Answers[1].Documents[0].Download, header: hdr("Authorization", "Bearer "+portalKey),
			requestValid: true, status: 200})
		v.run(t, psrv.URL, exchange{method: "GET", path: "/v1/submissions/" + delivered + "/answers/" + st.Answers[1].ID + "/documents/9",
			header: hdr("Authorization", "Bearer "+portalKey), requestValid: true, status: 404})

		// Two unmatched answers: one assigned, one discarded.
		var ids []string
		for range 2 {
			res := v.run(t, psrv.URL, exchange{method: "POST", path: "/v1/answers", header: ans("application/xml"),
				body:         string(answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: uuid.NewString()})),
				requestValid: true, status: 202})
			var rc portalapi.AnswerReceiptResponse
			if err := json.Unmarshal(res.body, &rc); err != nil || rc.Matched {
				t.Fatalf("unmatched answer: %s", res.body)
			}
			ids = append(ids, rc.ID)
		}
		v.run(t, asrv.URL, exchange{method: "GET", path: "/admin/v1/answers?state=unmatched&limit=10", header: auth, requestValid: true, status: 200})
		v.run(t, asrv.URL, exchange{method: "GET", path: "/admin/v1/answers?state=bogus", header: auth, requestValid: false, status: 400})
		v.run(t, asrv.URL, exchange{method: "GET", path: "/admin/v1/answers/" + ids[0], header: auth, requestValid: true, status: 200})
		v.run(t, asrv.URL, exchange{method: "GET", path: "/admin/v1/answers/" + uuid.NewString(), header: auth, requestValid: true, status: 404})
		v.run(t, asrv.URL, exchange{method: "POST", path: "/admin/v1/answers/" + ids[0] + "/assign", header: authJSON,
			body: `{"submission_id":"` + uuid.NewString() + `","reason":"x"}`, requestValid: true, status: 422})
		v.run(t, asrv.URL, exchange{method: "POST", path: "/admin/v1/answers/" + ids[0] + "/assign", header: authJSON,
			body: `{"submission_id":"` + queued + `","reason":"confirmed by phone"}`, requestValid: true, status: 200})
		v.run(t, asrv.URL, exchange{method: "POST", path: "/admin/v1/answers/" + ids[0] + "/discard", header: authJSON,
			body: `{"reason":"x"}`, requestValid: true, status: 409})
		v.run(t, asrv.URL, exchange{method: "POST", path: "/admin/v1/answers/" + ids[1] + "/discard", header: authJSON,
			body: `{"reason":"vendor test message"}`, requestValid: true, status: 200})
	})

	// Every operation of the document was exercised (or is not implemented yet).
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if !v.exercised[op.OperationID] && skipped[op.OperationID] == "" {
				t.Errorf("%s %s (%s): no request validated against it", method, path, op.OperationID)
			}
		}
	}
	if len(skipped) > 0 {
		t.Logf("not implemented yet, skipped: %v", skipped)
	}
}

// oldStateVocabulary reports whether a status body still has the outbox's
// states (pending, dead) where the document has queued and failed.
func oldStateVocabulary(body []byte) bool {
	return bytes.Contains(body, []byte(`"state":"pending"`)) || bytes.Contains(body, []byte(`"state":"dead"`))
}

// fakeReloader applies its first reload and refuses the others, as serve's
// reloader answers: the document is checked against both answers.
type fakeReloader struct{ n int }

func (f *fakeReloader) Reload(context.Context, string) (adminapi.ReloadResponse, error) {
	f.n++
	if f.n == 1 {
		return adminapi.ReloadResponse{Generation: 2, Tenants: 40, Portals: 1, Procedures: 3,
			Added: []string{"neustadt/meldewesen.wohnungsgeberbestaetigung/fachverfahren"}, Removed: []string{}, Changed: []string{}}, nil
	}
	return adminapi.ReloadResponse{}, &adminapi.ReloadRefused{Generation: 2,
		Reasons: []string{"conf.d/neustadt.yaml: tenants[0].name: is required"}}
}

// TestRoutesDocumented: every route pattern of both handlers is an operation of the document.
func TestRoutesDocumented(t *testing.T) {
	doc, _ := loadDocument(t)
	for _, pattern := range []string{
		portalapi.RouteSubmit, portalapi.RouteStatus, portalapi.RouteAnswers, portalapi.RouteAnswerDocument,
		adminapi.RouteAnswers, adminapi.RouteAnswer, adminapi.RouteAnswerAssign, adminapi.RouteAnswerDiscard,
		adminapi.RouteList, adminapi.RouteShow, adminapi.RouteReplay, adminapi.RouteReplayAll, adminapi.RouteReload,
	} {
		method, path, _ := strings.Cut(pattern, " ")
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %q is not in the document", pattern)
		}
	}
}

// TestHandler: /openapi.yaml is the document as application/yaml.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(openapi.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != openapi.ContentType || !bytes.Equal(body, openapi.Document) {
		t.Fatalf("GET: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	resp, err = http.Post(srv.URL+"/openapi.yaml", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// The answers' XML and ZIP bodies are validated as strings.
func init() {
	for _, ct := range []string{"application/xml", "text/xml", "application/zip"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}
