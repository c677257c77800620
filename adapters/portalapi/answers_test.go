package portalapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

const (
	answersKey      = "answers-key"       // demoTenant's fachverfahren of demoProcedure
	otherAnswersKey = "other-answers-key" // otherTenant's fachverfahren of demoProcedure
	answersMax      = 1 << 20
)

// withAnswers gives two destinations an answers key and the handler the
// answer service.
func withAnswers(c *envConfig) {
	set := func(tenant, key string) {
		t, _ := c.Config.Tenant(tenant)
		r, _ := t.Route(demoProcedure)
		r.Destinations[0].Answers = &config.Answers{KeyHash: config.NewSecret(config.HashKey(key)), MaxBytes: answersMax}
	}
	set(demoTenant, answersKey)
	set(otherTenant, otherAnswersKey)
	svc, err := intake.NewAnswerService(intake.AnswerServiceConfig{Config: c.Config, Store: c.Store.(intake.AnswerStore)})
	if err != nil {
		panic(err)
	}
	c.Answers = svc
}

// sentMessage submits the demo and returns the submission and the id of
// its message to the fachverfahren.
func sentMessage(t *testing.T, e *env) (string, string) {
	t.Helper()
	id := accepted(t, e.submit(t, demoKey, readDemo(t)))
	_, msgs, err := e.store.Submission(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Topic == demoTopic {
			return id, m.ID
		}
	}
	t.Fatal("no message to the fachverfahren")
	return "", ""
}

func (e *env) answer(t *testing.T, key string, body []byte, ct string) response {
	t.Helper()
	var header []string
	if ct != "" {
		header = []string{"Content-Type", ct}
	}
	return e.do(t, http.MethodPost, "/v1/answers", key, bytes.NewReader(body), header...)
}

func receiptOf(t *testing.T, r response, status int) portalapi.AnswerReceiptResponse {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.body)
	}
	var rc portalapi.AnswerReceiptResponse
	decodeStrict(t, r.body, &rc)
	return rc
}

func TestAnswersOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAnswers)
	sub, msg := sentMessage(t, e)
	body := answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: msg})

	// Only the destination's answers key opens /v1/answers.
	for _, key := range []string{"", demoKey, "wrong"} {
		problemOf(t, e.answer(t, key, body, "application/xml"), http.StatusUnauthorized, portalapi.ProblemUnauthorized)
	}
	rc := receiptOf(t, e.answer(t, answersKey, body, "application/xml"), http.StatusAccepted)
	if !rc.Matched || rc.SubmissionID != sub || rc.Duplicate {
		t.Fatalf("receipt %+v, want matched to %s", rc, sub)
	}
	again := receiptOf(t, e.answer(t, answersKey, body, ""), http.StatusOK)
	if !again.Duplicate || again.ID != rc.ID {
		t.Fatalf("replay receipt %+v, want duplicate of %s", again, rc.ID)
	}
	az := answerstest.Render(t, answerstest.Aktenzeichen, answerstest.Refs{SubmissionID: sub})
	receiptOf(t, e.answer(t, answersKey, az, "application/xml"), http.StatusAccepted)

	st := statusOf(t, e.status(t, demoKey, sub))
	if len(st.Answers) != 2 || st.Answers[0].State != portalapi.AnswerStateReceived ||
		st.Answers[1].State != portalapi.AnswerStateCaseNumber || st.Answers[1].Aktenzeichen == "" ||
		st.Answers[0].Source != "fachverfahren" {
		t.Fatalf("answers %+v", st.Answers)
	}
	if st.Status != portalapi.AnswerStateCaseNumber {
		t.Fatalf("status %q, want %s", st.Status, portalapi.AnswerStateCaseNumber)
	}

	// Another tenant's destination cannot answer this submission: unmatched.
	other := answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: msg})
	if rc := receiptOf(t, e.answer(t, otherAnswersKey, other, "application/xml"), http.StatusAccepted); rc.Matched {
		t.Fatalf("another tenant's answer matched: %+v", rc)
	}
	if st := statusOf(t, e.status(t, demoKey, sub)); len(st.Answers) != 2 {
		t.Fatalf("another tenant's answer reached the timeline: %+v", st.Answers)
	}
}

func TestAnswersBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAnswers)
	_, msg := sentMessage(t, e)
	good := answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: msg})
	p := problemOf(t, e.answer(t, answersKey, []byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`), "application/xml"),
		http.StatusUnprocessableEntity, portalapi.ProblemInvalidAnswer)
	if len(p.Errors) != 1 || p.Errors[0].Code != portalapi.CodeInvalidAnswer {
		t.Fatalf("problem %+v, want one invalid_answer error", p)
	}
	noRef := answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{})
	p = problemOf(t, e.answer(t, answersKey, noRef, "application/xml"), http.StatusUnprocessableEntity, portalapi.ProblemInvalidAnswer)
	if len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Pointer, "bezug") {
		t.Errorf("missing reference located at %+v, want the bezug element", p.Errors)
	}
	problemOf(t, e.answer(t, answersKey, good, "text/plain"), http.StatusUnsupportedMediaType, portalapi.ProblemUnsupportedMediaType)
	problemOf(t, e.answer(t, answersKey, bytes.Repeat([]byte(" "), answersMax+1), "application/xml"), http.StatusRequestEntityTooLarge, portalapi.ProblemPayloadTooLarge)
	receiptOf(t, e.answer(t, answersKey, good, "application/xml"), http.StatusAccepted)
	changed := bytes.Replace(good, []byte("</"), []byte(" </"), 1)
	problemOf(t, e.answer(t, answersKey, changed, "application/xml"), http.StatusConflict, portalapi.ProblemAnswerConflict)
	list, _, err := e.store.ListAnswers(context.Background(), outboxAnswerFilter())
	if err != nil || len(list) != 1 {
		t.Fatalf("stored %d answers (%v), want only the good one", len(list), err)
	}
}

func TestAnswerDocumentDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAnswers)
	sub, msg := sentMessage(t, e)
	receiptOf(t, e.answer(t, answersKey, answerstest.BescheidContainer(t, answerstest.Refs{Reference: msg}), "application/zip"), http.StatusAccepted)
	st := statusOf(t, e.status(t, demoKey, sub))
	if st.Status != portalapi.AnswerStateDecided || len(st.Answers) != 1 || len(st.Answers[0].Documents) != 1 {
		t.Fatalf("status %q, answers %+v", st.Status, st.Answers)
	}
	doc := st.Answers[0].Documents[0]
	if !doc.Stored || doc.Download == "" || st.Answers[0].Decision == nil {
		t.Fatalf("document %+v, decision %+v", doc, st.Answers[0].Decision)
	}
	r := e.do(t, http.MethodGet, doc.Download, demoKey, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/pdf" ||
		!bytes.Equal(r.body, answerstest.Read(t, answerstest.BescheidPDF)) ||
		!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %v", r.status, r.header)
	}
	// Another portal, another index or answer: 404.
	problemOf(t, e.do(t, http.MethodGet, doc.Download, otherKey, nil), http.StatusNotFound, portalapi.ProblemNotFound)
	base := "/v1/submissions/" + sub + "/answers/" + st.Answers[0].ID + "/documents/"
	problemOf(t, e.do(t, http.MethodGet, base+"7", demoKey, nil), http.StatusNotFound, portalapi.ProblemNotFound)
	problemOf(t, e.do(t, http.MethodGet, "/v1/submissions/"+sub+"/answers/"+uuid.NewString()+"/documents/0", demoKey, nil),
		http.StatusNotFound, portalapi.ProblemNotFound)
	var raw map[string]any
	if err := json.Unmarshal(e.status(t, demoKey, sub).body, &raw); err != nil || raw["answers"] == nil {
		t.Fatalf("status JSON has no answers member: %v", err)
	}
}

func outboxAnswerFilter() outbox.AnswerFilter { return outbox.AnswerFilter{Limit: 100} }
