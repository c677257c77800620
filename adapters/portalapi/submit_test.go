package portalapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
)

func TestSubmitStoresSubmissionAndMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := readDemo(t)
	id := accepted(t, e.do(t, http.MethodPost, "/v1/submissions", demoKey, bytes.NewReader(body),
		"Content-Type", "application/json; charset=UTF-8"))

	sub, msgs, err := e.store.Submission(context.Background(), id)
	if err != nil {
		t.Fatalf("store.Submission: %v", err)
	}
	if sub.PortalID != demoPortal || sub.TenantID != demoTenant || sub.ProcedureID != demoProcedure ||
		sub.IdempotencyKey != "" || len(sub.RequestHash) != 32 || !sub.CreatedAt.Equal(testNow) {
		t.Errorf("stored submission = %+v", sub)
	}
	if !bytes.Equal(sub.Payload, body) {
		t.Errorf("stored payload is not the request body as received")
	}
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Topic != demoTopic || m.SubmissionID != id || m.State != outbox.StatePending {
		t.Errorf("message = topic %s, submission %s, state %s; want %s, %s, pending", m.Topic, m.SubmissionID, m.State, demoTopic, id)
	}
	wantMeta := map[string]string{
		outbox.MetaTenant: demoTenant, outbox.MetaProcedure: demoProcedure, outbox.MetaDestination: "fachverfahren",
		outbox.MetaMessageType: envelope.MessageType, outbox.MetaContentType: "application/xml",
	}
	for k, v := range wantMeta {
		if m.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, m.Metadata[k], v)
		}
	}

	// The payload is exactly what the mapper builds for this input.
	tenant, _ := e.cfg.Tenant(demoTenant)
	req := decodeJSON(t, body)
	want, err := envelope.New().Map(transform.Input{
		Submission: transform.Submission{
			ID: id, Tenant: demoTenant, Procedure: demoProcedure,
			Applicant: object(t, req, "applicant"), Data: object(t, req, "data"), ReceivedAt: testNow,
		},
		MessageID: m.ID,
		Author:    transform.Party{ID: tenant.ID, Name: tenant.Name, Kennung: tenant.Behoerdenkennung, AGS: tenant.AGS},
		Reader: transform.Party{ID: "fachverfahren", Kennung: tenant.Procedures[0].Destinations[0].Reader,
			Name: tenant.Name, AGS: tenant.AGS},
		Product:   testProduct,
		CreatedAt: testNow,
	})
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if !bytes.Equal(m.Payload, want.XML) {
		t.Errorf("message payload differs from the mapper's XML:\n got: %s\nwant: %s", m.Payload, want.XML)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(m.Payload); err != nil {
		t.Fatalf("payload is not well-formed XML: %v", err)
	}
	if root := doc.Root(); root == nil || root.Tag != envelope.Nachrichtentyp || root.NamespaceURI() != envelope.Namespace {
		t.Fatalf("root element = %v, want {%s}%s", root, envelope.Namespace, envelope.Nachrichtentyp)
	}
	for path, want := range map[string]string{
		"./ab:nachrichtenkopf/ab:nachrichtenUUID":  m.ID,
		"./ab:vorgang/ab:einreichungID":            id,
		"./ab:nachrichtenkopf/ab:leser/ab:kennung": "psw:09162000-meldewesen",
	} {
		if el := doc.Root().FindElement(path); el == nil || el.Text() != want {
			t.Errorf("%s = %v, want %q", path, el, want)
		}
	}
}

func TestStatusFollowsDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := accepted(t, e.submit(t, demoKey, readDemo(t)))
	ctx := context.Background()

	r := e.status(t, demoKey, id)
	if !bytes.Contains(r.body, []byte(`"attempt_log":[]`)) || bytes.Contains(r.body, []byte(`delivered_at`)) {
		t.Errorf("body = %s, want an empty attempt_log and no delivered_at", r.body)
	}
	got := statusOf(t, r)
	if got.ID != id || got.Tenant != demoTenant || got.Procedure != demoProcedure || got.Status != "accepted" ||
		!got.ReceivedAt.Equal(testNow) || len(got.Destinations) != 1 {
		t.Fatalf("status = %+v, want accepted with one destination", got)
	}
	d := got.Destinations[0]
	if d.Destination != "fachverfahren" || d.MessageID == "" || d.State != portalapi.StateQueued || d.Attempts != 0 ||
		d.NextAttemptAt.IsZero() || !d.DeliveredAt.IsZero() || d.LastError != "" {
		t.Errorf("destination = %+v, want fachverfahren pending without attempts", d)
	}

	// One failed attempt, due again at once, then a delivery.
	owner := "relay-test"
	start := time.Now().UTC().Truncate(time.Second)
	for i, outcome := range []outbox.Outcome{outbox.OutcomeRetry, outbox.OutcomeDelivered} {
		msgs, err := e.store.Claim(ctx, outbox.ClaimParams{Topic: demoTopic, Owner: owner, Limit: 10, Lease: time.Minute})
		if err != nil || len(msgs) != 1 || msgs[0].ID != d.MessageID {
			t.Fatalf("attempt %d: Claim = %d messages, %v; want the submission's message", i+1, len(msgs), err)
		}
		c := outbox.Completion{
			Topic: demoTopic, ID: d.MessageID, Owner: owner, Outcome: outcome,
			StartedAt: start.Add(time.Duration(i) * time.Second), FinishedAt: start.Add(time.Duration(i)*time.Second + 500*time.Millisecond),
		}
		if outcome == outbox.OutcomeRetry {
			c.Error, c.Class, c.NextAttemptAt = "dial tcp 10.1.2.3:8443: connection refused", outbox.ClassReceiverUnavailable, time.Now().Add(-time.Second)
		}
		if err := e.store.Complete(ctx, c); err != nil {
			t.Fatalf("Complete(%s): %v", outcome, err)
		}
		if i == 0 {
			got := statusOf(t, e.status(t, demoKey, id))
			if d := got.Destinations[0]; got.Status != "accepted" || d.State != portalapi.StateRetrying ||
				d.Attempts != 1 || d.LastError != "receiver_unavailable" || d.NextAttemptAt.IsZero() ||
				!d.LastErrorAt.Equal(start.Add(500*time.Millisecond)) {
				t.Errorf("after a failed attempt: status %s, destination %+v", got.Status, d)
			}
		}
	}

	r = e.status(t, demoKey, id)
	if bytes.Contains(r.body, []byte("next_attempt_at")) {
		t.Errorf("body = %s, want no next_attempt_at once delivered", r.body)
	}
	got = statusOf(t, r)
	d = got.Destinations[0]
	if got.Status != "delivered" || d.State != portalapi.StateDelivered || d.Attempts != 2 || d.DeliveredAt.IsZero() || d.LastError != "" {
		t.Errorf("status %s, destination %+v; want delivered after 2 attempts", got.Status, d)
	}
	want := []portalapi.AttemptRecord{
		{Number: 1, StartedAt: start, FinishedAt: start.Add(500 * time.Millisecond), Outcome: outbox.OutcomeRetry, Error: "receiver_unavailable"},
		{Number: 2, StartedAt: start.Add(time.Second), FinishedAt: start.Add(1500 * time.Millisecond), Outcome: outbox.OutcomeDelivered},
	}
	if len(d.AttemptLog) != len(want) {
		t.Fatalf("attempt_log = %+v, want %+v", d.AttemptLog, want)
	}
	for i := range want {
		a := d.AttemptLog[i]
		if a.Number != want[i].Number || !a.StartedAt.Equal(want[i].StartedAt) || !a.FinishedAt.Equal(want[i].FinishedAt) ||
			a.Outcome != want[i].Outcome || a.Error != want[i].Error {
			t.Errorf("attempt_log[%d] = %+v, want %+v", i, a, want[i])
		}
	}
}

func TestStatusFailedWhenAnyMessageIsDead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// otherTenant routes the demo procedure to two destinations.
	id := accepted(t, e.submit(t, otherKey, demoBody(t, func(m map[string]any) { m["tenant"] = otherTenant })))
	ctx := context.Background()

	got := statusOf(t, e.status(t, otherKey, id))
	var names []string
	for _, d := range got.Destinations {
		names = append(names, d.Destination)
	}
	if got.Status != "accepted" || !slices.Equal(names, []string{"fachverfahren", "archiv"}) {
		t.Fatalf("status %s, destinations %v; want accepted, [fachverfahren archiv]", got.Status, names)
	}

	complete := func(dest string, outcome outbox.Outcome) {
		t.Helper()
		topic := config.Topic(otherTenant, demoProcedure, dest)
		msgs := e.claim(t, topic)
		if len(msgs) != 1 {
			t.Fatalf("topic %s: %d claimable messages, want 1", topic, len(msgs))
		}
		now := time.Now()
		if err := e.store.Complete(ctx, outbox.Completion{
			Topic: topic, ID: msgs[0].ID, Owner: "test-" + t.Name(), Outcome: outcome,
			Error:     map[outbox.Outcome]string{outbox.OutcomeDead: "rejected by the Fachverfahren"}[outcome],
			StartedAt: now, FinishedAt: now,
		}); err != nil {
			t.Fatal(err)
		}
	}
	complete("fachverfahren", outbox.OutcomeDelivered)
	if got := statusOf(t, e.status(t, otherKey, id)); got.Status != "accepted" {
		t.Errorf("one of two delivered: status %s, want accepted", got.Status)
	}
	complete("archiv", outbox.OutcomeDead)
	got = statusOf(t, e.status(t, otherKey, id))
	if got.Status != "failed" {
		t.Errorf("status = %s, want failed", got.Status)
	}
	// An error recorded without a class (before migration 007) is shown as delivery_failed, never as its text.
	if d := got.Destinations[1]; d.State != portalapi.StateFailed || d.LastError != "delivery_failed" ||
		!d.NextAttemptAt.IsZero() || len(d.AttemptLog) != 1 || d.AttemptLog[0].Outcome != outbox.OutcomeDead {
		t.Errorf("dead destination = %+v", d)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header []string
	}{
		{"no authorization", nil},
		{"wrong key", []string{"Authorization", "Bearer wrong-key"}},
		{"key hash instead of key", []string{"Authorization", "Bearer " + config.HashKey(demoKey)}},
		{"basic scheme", []string{"Authorization", "Basic " + demoKey}},
		{"bearer without key", []string{"Authorization", "Bearer "}},
		{"key without scheme", []string{"Authorization", demoKey}},
		{"two authorization headers", []string{"Authorization", "Bearer " + demoKey, "Authorization", "Bearer " + demoKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			post := e.submit(t, "", readDemo(t), tt.header...)
			get := e.do(t, http.MethodGet, "/v1/submissions/0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b", "", nil, tt.header...)
			for _, r := range []response{post, get} {
				p := problemOf(t, r, http.StatusUnauthorized, portalapi.ProblemUnauthorized)
				if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="amtsbote"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if strings.Contains(string(r.body), demoKey) || p.Errors != nil {
					t.Errorf("problem = %s", r.body)
				}
			}
			e.assertNothingStored(t)
			for _, line := range e.logLines(t) {
				if strings.Contains(fmtRecord(line), demoKey) || strings.Contains(fmtRecord(line), "wrong-key") {
					t.Errorf("log record contains the key: %v", line)
				}
			}
		})
	}
}

func TestForbidden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		tenant, procedure string
	}{
		{"other tenant", otherTenant, demoProcedure},
		{"other procedure", demoTenant, bauProcedure},
		// Not revealed to a portal with a list of tenants: it does not exist.
		{"unknown tenant", "nirgendwo", demoProcedure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			r := e.submit(t, demoKey, demoBody(t, func(m map[string]any) {
				m["tenant"], m["procedure"] = tt.tenant, tt.procedure
			}))
			problemOf(t, r, http.StatusForbidden, portalapi.ProblemForbidden)
			e.assertNothingStored(t)
		})
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"", "text/plain", "application/xml", "application/json-patch+json", "application/json; charset=iso-8859-1", "application/json; charset"} {
		t.Run(ct, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			var header []string
			if ct != "" {
				header = []string{"Content-Type", ct}
			}
			r := e.do(t, http.MethodPost, "/v1/submissions", demoKey, bytes.NewReader(readDemo(t)), header...)
			problemOf(t, r, http.StatusUnsupportedMediaType, portalapi.ProblemUnsupportedMediaType)
			e.assertNothingStored(t)
		})
	}
}

func TestPayloadTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body func(b []byte) io.Reader
	}{
		{"with content length", func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"chunked", func(b []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *envConfig) { c.MaxBodyBytes = 512 })
			body := readDemo(t)
			if len(body) <= 512 {
				t.Fatalf("demo body has only %d bytes", len(body))
			}
			r := e.do(t, http.MethodPost, "/v1/submissions", demoKey, tt.body(body), "Content-Type", "application/json")
			p := problemOf(t, r, http.StatusRequestEntityTooLarge, portalapi.ProblemPayloadTooLarge)
			if p.Detail != "the request body exceeds 512 bytes" {
				t.Errorf("detail = %q", p.Detail)
			}
			e.assertNothingStored(t)
		})
	}
}

func TestMalformedRequest(t *testing.T) {
	t.Parallel()
	demo := string(readDemo(t))
	tests := []struct {
		name   string
		body   string
		header []string
		detail string
	}{
		{name: "invalid JSON", body: `{"tenant": }`, detail: "invalid JSON: syntax error at byte offset 12"},
		{name: "truncated", body: demo[:100], detail: "invalid JSON: unexpected end of input at byte offset 100"},
		{name: "empty body", body: "", detail: "the request body is empty"},
		{name: "whitespace body", body: " \n", detail: "the request body is empty"},
		{name: "trailing object", body: demo + `{}`, detail: "unexpected data after the JSON object at byte offset " + strconv.Itoa(len(demo))},
		{name: "trailing garbage after whitespace", body: `{"tenant":"x"}  x`, detail: "unexpected data after the JSON object at byte offset 16"},
		{name: "second object", body: `{} {}`, detail: "unexpected data after the JSON object at byte offset 3"},
		{name: "invalid UTF-8", body: "{\"tenant\": \"M\xfcnchen\"}", detail: "the request body is not valid UTF-8 (byte offset 13)"},
		{name: "idempotency key too long", body: demo, header: []string{"Idempotency-Key", strings.Repeat("k", 256)},
			detail: "the Idempotency-Key must have 1 to 255 characters"},
		{name: "idempotency key not ASCII", body: demo, header: []string{"Idempotency-Key", "schlüssel"},
			detail: "the Idempotency-Key may contain printable ASCII characters only"},
		{name: "two idempotency keys", body: demo, header: []string{"Idempotency-Key", "a", "Idempotency-Key", "b"},
			detail: "the Idempotency-Key header may be sent only once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			r := e.submit(t, demoKey, []byte(tt.body), tt.header...)
			p := problemOf(t, r, http.StatusBadRequest, portalapi.ProblemMalformedRequest)
			if p.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", p.Detail, tt.detail)
			}
			if p.Instance != "/v1/submissions" {
				t.Errorf("instance = %q, want /v1/submissions", p.Instance)
			}
			e.assertNothingStored(t)
		})
	}
}

func TestValidationFailed(t *testing.T) {
	t.Parallel()
	type fe struct{ pointer, code string }
	tests := []struct {
		name   string
		key    string
		body   func(t *testing.T) []byte
		errors []fe
	}{
		{"missing tenant", demoKey, mutated(func(m map[string]any) { delete(m, "tenant") }),
			[]fe{{"/tenant", transform.CodeRequired}}},
		{"missing procedure", demoKey, mutated(func(m map[string]any) { delete(m, "procedure") }),
			[]fe{{"/procedure", transform.CodeRequired}}},
		{"tenant and procedure empty", demoKey, mutated(func(m map[string]any) { m["tenant"], m["procedure"] = "", nil }),
			[]fe{{"/tenant", transform.CodeRequired}, {"/procedure", transform.CodeRequired}}},
		{"wrong types", demoKey, mutated(func(m map[string]any) { m["tenant"], m["applicant"], m["data"] = 7, "Jürgen", []any{} }),
			[]fe{{"/tenant", transform.CodeType}, {"/applicant", transform.CodeType}, {"/data", transform.CodeType}}},
		{"unknown top-level fields", demoKey, mutated(func(m map[string]any) { m["zusatz"], m["a/b"] = "x", 1 }),
			[]fe{{"/a~1b", portalapi.CodeUnknownField}, {"/zusatz", portalapi.CodeUnknownField}}},
		{"body not an object", demoKey, func(*testing.T) []byte { return []byte(`["musterstadt"]`) },
			[]fe{{"", transform.CodeType}}},
		{"unknown tenant", otherKey, mutated(func(m map[string]any) { m["tenant"] = "nirgendwo" }),
			[]fe{{"/tenant", portalapi.CodeUnknownTenant}}},
		{"unknown procedure", otherKey, mutated(func(m map[string]any) { m["procedure"] = "gewerbe.unbekannt" }),
			[]fe{{"/procedure", portalapi.CodeUnknownProcedure}}},
		{"procedure not routed by the tenant", otherKey, mutated(func(m map[string]any) { m["procedure"] = bauProcedure }),
			[]fe{{"/procedure", portalapi.CodeUnknownProcedure}}},
		{"procedure without mapper", otherKey, mutated(func(m map[string]any) { m["tenant"], m["procedure"] = otherTenant, bauProcedure }),
			[]fe{{"/procedure", portalapi.CodeUnknownProcedure}}},
		{"cyrillic family name", demoKey, mutated(func(m map[string]any) { member(m, "applicant")["familienname"] = "Иванов" }),
			[]fe{{"/applicant/familienname", transform.CodeUnsupportedCharacter}}},
		{"mapper reports every problem", demoKey, mutated(func(m map[string]any) {
			delete(m, "applicant")
			member(m, "data")["bemerkung"] = "Grüße \U0001F600"
		}), []fe{{"/applicant", transform.CodeRequired}, {"/data/bemerkung", transform.CodeUnsupportedCharacter}}},
		{"map reports a validation error", otherKey, mutated(func(m map[string]any) { m["tenant"], m["procedure"] = otherTenant, mapInvalidProcedure }),
			[]fe{{"/data/plz", transform.CodeType}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			body := tt.body(t)
			r := e.submit(t, tt.key, body)
			p := problemOf(t, r, http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
			var got []fe
			for _, pe := range p.Errors {
				got = append(got, fe{pe.Pointer, pe.Code})
				if pe.Detail == "" {
					t.Errorf("error %s has no detail", pe.Pointer)
				}
			}
			if !slices.Equal(got, tt.errors) {
				t.Errorf("errors = %v, want %v", got, tt.errors)
			}
			if p.Title != "Validation failed" {
				t.Errorf("title = %q, want Validation failed", p.Title)
			}

			// The same in German: every detail translated.
			rDE := e.submit(t, tt.key, body, "Accept-Language", "de-DE,de;q=0.9,en;q=0.8")
			pDE := problemIn(t, rDE, http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed, "de")
			if pDE.Title != "Validierung fehlgeschlagen" {
				t.Errorf("German title = %q, want Validierung fehlgeschlagen", pDE.Title)
			}
			if pDE.Detail == p.Detail || pDE.Detail == "" {
				t.Errorf("German detail = %q, English %q: want a translation", pDE.Detail, p.Detail)
			}
			if len(pDE.Errors) != len(p.Errors) {
				t.Fatalf("German errors = %v, English %v", pDE.Errors, p.Errors)
			}
			for i, pe := range pDE.Errors {
				if pe.Pointer != p.Errors[i].Pointer || pe.Code != p.Errors[i].Code {
					t.Errorf("German error %d = %s %s, English %s %s", i, pe.Pointer, pe.Code, p.Errors[i].Pointer, p.Errors[i].Code)
				}
				if pe.Detail == "" || pe.Detail == p.Errors[i].Detail {
					t.Errorf("German detail of %s = %q, English %q: want a translation", pe.Pointer, pe.Detail, p.Errors[i].Detail)
				}
			}
			for _, resp := range []response{r, rDE} {
				for _, value := range []string{"Иванов", "nirgendwo", "gewerbe.unbekannt", "Jürgen", "Grüße"} {
					if strings.Contains(string(resp.body), value) {
						t.Errorf("problem contains the request value %q: %s", value, resp.body)
					}
				}
			}
			e.assertNothingStored(t)
		})
	}
}

// mutated returns a body function for demoBody(mutate).
func mutated(mutate func(m map[string]any)) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return demoBody(t, mutate) }
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := readDemo(t)
	first := e.submit(t, demoKey, body, "Idempotency-Key", "antrag-4711")
	id := accepted(t, first)
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first answer has Idempotent-Replayed")
	}

	// The same request, formatted differently: keys sorted, other whitespace.
	var reformatted bytes.Buffer
	if err := json.Indent(&reformatted, demoBody(t, nil), "", "\t"); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(reformatted.Bytes(), body) {
		t.Fatal("reformatted body equals the original")
	}
	for _, b := range [][]byte{body, reformatted.Bytes()} {
		again := e.submit(t, demoKey, b, "Idempotency-Key", "antrag-4711")
		if got := accepted(t, again); got != id {
			t.Errorf("retry got id %s, want %s", got, id)
		}
		if got := again.header.Get("Idempotent-Replayed"); got != "true" {
			t.Errorf("Idempotent-Replayed = %q, want true", got)
		}
		if !bytes.Equal(again.body, first.body) {
			t.Errorf("retry body = %s, want %s", again.body, first.body)
		}
	}

	// Another request under the same key.
	changed := demoBody(t, func(m map[string]any) { object(t, m, "data")["einzugsdatum"] = "2026-12-02" })
	p := problemOf(t, e.submit(t, demoKey, changed, "Idempotency-Key", "antrag-4711"),
		http.StatusUnprocessableEntity, portalapi.ProblemIdempotencyConflict)
	if p.Detail != "idempotency key reused with a different request" {
		t.Errorf("detail = %q", p.Detail)
	}

	// Keys are scoped to the portal.
	other := accepted(t, e.submit(t, otherKey, body, "Idempotency-Key", "antrag-4711"))
	if other == id {
		t.Errorf("another portal's submission with the same key got the same id")
	}

	msgs := e.claim(t, demoTopic)
	if len(msgs) != 2 {
		t.Fatalf("%d claimable messages, want 2 (one per portal)", len(msgs))
	}
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.SubmissionID)
	}
	slices.Sort(ids)
	want := []string{id, other}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("messages belong to %v, want %v", ids, want)
	}
}

func TestIdempotencyConcurrentRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := readDemo(t)
	const n = 50
	results := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = e.submit(t, demoKey, body, "Idempotency-Key", "gleichzeitig")
		})
	}
	close(start)
	wg.Wait()

	id := accepted(t, results[0])
	replayed := 0
	for i, r := range results {
		if got := accepted(t, r); got != id {
			t.Errorf("request %d got id %s, want %s", i, got, id)
		}
		if r.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if replayed != n-1 {
		t.Errorf("%d answers replayed, want %d", replayed, n-1)
	}
	if msgs := e.claim(t, demoTopic); len(msgs) != 1 || msgs[0].SubmissionID != id {
		t.Errorf("%d claimable messages, want exactly one of %s", len(msgs), id)
	}
	if _, msgs, err := e.store.Submission(context.Background(), id); err != nil || len(msgs) != 1 {
		t.Errorf("store.Submission = %d messages, %v; want 1", len(msgs), err)
	}
}

func TestWithoutIdempotencyKeyEveryRequestIsNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := accepted(t, e.submit(t, demoKey, readDemo(t)))
	b := accepted(t, e.submit(t, demoKey, readDemo(t)))
	if a == b {
		t.Errorf("two submissions without a key got the same id %s", a)
	}
	if n := len(e.claim(t, demoTopic)); n != 2 {
		t.Errorf("%d claimable messages, want 2", n)
	}
}

func TestMapFailuresAndPanics(t *testing.T) {
	t.Parallel()
	for _, procedure := range []string{mapErrorProcedure, panicProcedure} {
		t.Run(procedure, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			r := e.submit(t, otherKey, demoBody(t, func(m map[string]any) { m["tenant"], m["procedure"] = otherTenant, procedure }))
			p := problemOf(t, r, http.StatusInternalServerError, portalapi.ProblemInternal)
			if strings.Contains(p.Detail, "stub") {
				t.Errorf("detail reveals the error: %q", p.Detail)
			}
			e.assertNothingStored(t)

			lines := e.logLines(t)
			var errorRecords int
			for _, rec := range lines {
				if rec["level"] == "ERROR" {
					errorRecords++
				}
				if s := fmtRecord(rec); strings.Contains(s, "Иван") || strings.Contains(s, "Größmann") {
					t.Errorf("log record contains request data: %s", s)
				}
			}
			if errorRecords != 1 {
				t.Errorf("%d error records, want 1:\n%v", errorRecords, lines)
			}
			if reqs := requestLogs(lines); len(reqs) != 1 || reqs[0]["status"] != float64(500) {
				t.Errorf("request log = %v, want one record with status 500", reqs)
			}
		})
	}
}

func TestDraining(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := accepted(t, e.submit(t, demoKey, readDemo(t)))
	e.handler.SetDraining(true)
	for _, r := range []response{
		e.submit(t, demoKey, readDemo(t)),
		e.status(t, demoKey, id),
		e.do(t, http.MethodGet, "/unbekannt", "", nil),
	} {
		problemOf(t, r, http.StatusServiceUnavailable, portalapi.ProblemUnavailable)
		if got := r.header.Get("Retry-After"); got != "5" {
			t.Errorf("Retry-After = %q, want 5", got)
		}
		if !r.close {
			t.Errorf("the server did not send Connection: close")
		}
	}
	if n := len(e.claim(t, demoTopic)); n != 1 {
		t.Errorf("%d claimable messages, want only the one submitted before draining", n)
	}
	e.handler.SetDraining(false)
	statusOf(t, e.status(t, demoKey, id))
}

func TestStoreFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := accepted(t, e.submit(t, demoKey, readDemo(t)))
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []response{
		e.submit(t, demoKey, readDemo(t), "Idempotency-Key", "nach-dem-ausfall"),
		e.status(t, demoKey, id),
	} {
		problemOf(t, r, http.StatusServiceUnavailable, portalapi.ProblemUnavailable)
		if got := r.header.Get("Retry-After"); got != "5" {
			t.Errorf("Retry-After = %q, want 5", got)
		}
	}
	var warnings int
	for _, rec := range e.logLines(t) {
		if rec["msg"] == "request failed" {
			warnings++
			if rec["portal_id"] != demoPortal || rec["submission_id"] == "" || rec["error"] == "" {
				t.Errorf("failure record lacks ids or error: %v", rec)
			}
		}
	}
	if warnings != 2 {
		t.Errorf("%d failure records, want 2", warnings)
	}
}
