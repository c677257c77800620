package intake_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// answerFixture is a store with a Bauantrag's submission and message of
// tenant and one of another tenant, and the answer service over it.
type answerFixture struct {
	st                 outbox.Store
	svc                *intake.AnswerService
	sub, otherSub      outbox.Submission
	msg, otherMsg      outbox.Message
	src                intake.AnswerSource
	tenant, otherTenat string
}

func newAnswerFixture(t *testing.T, st outbox.Store) *answerFixture {
	t.Helper()
	cfg := testConfig(t)
	other := cfg.Tenants[0]
	other.ID, other.Procedures = "beispielhausen", nil
	cfg.Tenants = append(cfg.Tenants, other)
	svc, err := intake.NewAnswerService(intake.AnswerServiceConfig{Config: cfg, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	f := &answerFixture{st: st, svc: svc, tenant: tenant, otherTenat: other.ID,
		src: intake.AnswerSource{Tenant: tenant, Procedure: bau, Destination: "fachverfahren", Channel: intake.AnswerChannelHTTP}}
	f.sub, f.msg = commitSubmission(t, st, tenant)
	f.otherSub, f.otherMsg = commitSubmission(t, st, other.ID)
	return f
}

func commitSubmission(t *testing.T, st outbox.Store, tenantID string) (outbox.Submission, outbox.Message) {
	t.Helper()
	sub := outboxtest.NewSubmission("")
	sub.TenantID, sub.ProcedureID = tenantID, bau
	msg := outboxtest.NewMessage(config.Topic(tenantID, bau, "fachverfahren"), sub.ID)
	ctx := context.Background()
	if err := st.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{msg})
	}); err != nil {
		t.Fatal(err)
	}
	return sub, msg
}

func (f *answerFixture) receive(t *testing.T, body []byte, ct string) (intake.AnswerReceipt, error) {
	t.Helper()
	return f.svc.Receive(context.Background(), f.src, body, ct)
}

func (f *answerFixture) all(t *testing.T) []outbox.Answer {
	t.Helper()
	out, _, err := f.st.ListAnswers(context.Background(), outbox.AnswerFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAnswerReceiveMatchesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		f := newAnswerFixture(t, st)
		ctx := context.Background()
		// 1120 refers to the 0200's message id; 1121 only to the submission id.
		eingang := answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: f.msg.ID, SubmissionID: f.sub.ID})
		az := answerstest.Render(t, answerstest.Aktenzeichen, answerstest.Refs{SubmissionID: f.sub.ID})
		for _, body := range [][]byte{eingang, az} {
			rc, err := f.receive(t, body, "application/xml")
			if err != nil {
				t.Fatal(err)
			}
			if !rc.Matched || rc.SubmissionID != f.sub.ID || rc.Duplicate || rc.ID == "" {
				t.Fatalf("receipt %+v, want matched to %s", rc, f.sub.ID)
			}
			again, err := f.receive(t, body, "")
			if err != nil {
				t.Fatal(err)
			}
			if !again.Duplicate || again.ID != rc.ID || !again.Matched {
				t.Fatalf("replayed receipt %+v, want duplicate of %s", again, rc.ID)
			}
		}
		list, err := st.SubmissionAnswers(ctx, f.sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Status != "received" || list[1].Status != "case_number" {
			t.Fatalf("timeline %+v, want received and case_number", list)
		}
		d, err := intake.ParseAnswerDetail(list[1].Detail)
		if err != nil || d.Aktenzeichen == "" {
			t.Fatalf("1121 detail %+v (%v), want an Aktenzeichen", d, err)
		}
		if list[0].RefMessage != f.msg.ID || list[1].RefMessage != "" {
			t.Fatalf("referenced messages %q, %q", list[0].RefMessage, list[1].RefMessage)
		}
		// The same message id with another body is a conflict, recorded.
		changed := bytes.Replace(az, []byte("</"), []byte(" </"), 1)
		if _, err := f.receive(t, changed, ""); !errors.Is(err, intake.ErrAnswerConflict) {
			t.Fatalf("conflicting body: %v, want ErrAnswerConflict", err)
		}
		evs, err := st.AnswerEvents(ctx, list[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[1].Kind != outbox.AnswerEventConflict {
			t.Fatalf("answer events %+v, want received and conflict", evs)
		}
		if n := len(f.all(t)); n != 2 {
			t.Fatalf("%d answers stored, want 2", n)
		}
	})
}

func TestAnswerReceiveUnmatched(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		f := newAnswerFixture(t, st)
		cases := map[string]answerstest.Refs{
			"unknown message":           {Reference: uuid.NewString()},
			"unknown submission":        {SubmissionID: uuid.NewString()},
			"other tenant's message":    {Reference: f.otherMsg.ID},
			"other tenant's submission": {SubmissionID: f.otherSub.ID},
			"references disagree":       {Reference: f.msg.ID, SubmissionID: f.otherSub.ID},
		}
		for name, refs := range cases {
			rc, err := f.receive(t, answerstest.Render(t, answerstest.Eingangsbestaetigung, refs), "")
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if rc.Matched || rc.SubmissionID != "" {
				t.Fatalf("%s: receipt %+v, want unmatched", name, rc)
			}
		}
		n, err := st.UnmatchedAnswers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n[tenant] != len(cases) || n[f.otherTenat] != 0 {
			t.Fatalf("unmatched %v, want %d of %s", n, len(cases), tenant)
		}
		for _, id := range []string{f.sub.ID, f.otherSub.ID} {
			if list, _ := st.SubmissionAnswers(context.Background(), id); len(list) != 0 {
				t.Fatalf("submission %s gained answers %+v", id, list)
			}
		}
	})
}

func TestAnswerReceiveRefusesBadBodies(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		f := newAnswerFixture(t, st)
		good := string(answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: f.msg.ID}))
		bodies := map[string]string{
			"empty":        "",
			"not xml":      "hello",
			"xxe":          `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`,
			"laughs":       `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>`,
			"deep":         strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000),
			"wrong ns":     strings.ReplaceAll(good, "http://www.xleitstelle.de/xbau/kernmodul/1/3/0", "urn:evil"),
			"unknown type": `<x:foo xmlns:x="http://www.xleitstelle.de/xbau/2/6"/>`,
			"json garbage": `{"type":"received"`,
			"no reference": string(answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{})),
		}
		for name, body := range bodies {
			_, err := f.receive(t, []byte(body), "")
			var aerr *intake.AnswerError
			if !errors.As(err, &aerr) {
				t.Fatalf("%s: %v, want *AnswerError", name, err)
			}
			if strings.Contains(aerr.Error(), "passwd") {
				t.Fatalf("%s: the error echoes the body: %v", name, aerr)
			}
		}
		// Larger than the channel's limit.
		f.src.Channel = intake.AnswerChannelAMQP
		big := bytes.Repeat([]byte(" "), config.DefaultAnswerMaxBytes+1)
		if _, err := f.receive(t, big, ""); !errors.As(err, new(*intake.AnswerError)) {
			t.Fatalf("oversized: %v, want *AnswerError", err)
		}
		if got := f.all(t); len(got) != 0 {
			t.Fatalf("bad bodies stored %d answers", len(got))
		}
	})
}

func TestAnswerBescheidDocumentsAndAssign(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		f := newAnswerFixture(t, st)
		ctx := context.Background()
		pdf := answerstest.Read(t, answerstest.BescheidPDF)
		rc, err := f.receive(t, answerstest.BescheidContainer(t, answerstest.Refs{Reference: f.msg.ID}), "application/zip")
		if err != nil {
			t.Fatal(err)
		}
		a, err := st.Answer(ctx, rc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != "decided" || len(a.Attachments) != 1 || a.Attachments[0].MIMEType != "application/pdf" {
			t.Fatalf("Bescheid stored as %s with %+v", a.Status, a.Attachments)
		}
		if got := readAll(t, st, a.Attachments[0].BlobID); !bytes.Equal(got, pdf) {
			t.Fatal("the stored document differs from the PDF sent")
		}
		d, _ := intake.ParseAnswerDetail(a.Detail)
		if d.Decision == nil || d.Decision.Outcome == "" || len(d.Documents) != 1 || !d.Documents[0].Stored {
			t.Fatalf("detail %+v", d)
		}

		// An unmatched Bescheid keeps its documents in its body until assigned.
		u, err := f.receive(t, answerstest.BescheidContainer(t, answerstest.Refs{Reference: uuid.NewString()}), "")
		if err != nil || u.Matched {
			t.Fatalf("unmatched Bescheid: %+v, %v", u, err)
		}
		if err := f.svc.Assign(ctx, u.ID, f.otherSub.ID, "admin:ops", "phone"); !errors.Is(err, intake.ErrAssignTarget) {
			t.Fatalf("assign to another tenant: %v, want ErrAssignTarget", err)
		}
		if err := f.svc.Assign(ctx, u.ID, f.sub.ID, "admin:ops", ""); !errors.Is(err, intake.ErrReasonRequired) {
			t.Fatalf("assign without reason: %v", err)
		}
		if err := f.svc.Assign(ctx, u.ID, f.sub.ID, "admin:ops", "Aktenzeichen confirmed"); err != nil {
			t.Fatal(err)
		}
		got, err := st.Answer(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != outbox.AnswerAssigned || got.SubmissionID != f.sub.ID || len(got.Attachments) != 1 {
			t.Fatalf("assigned %+v", got)
		}
		if b := readAll(t, st, got.Attachments[0].BlobID); !bytes.Equal(b, pdf) {
			t.Fatal("the assigned answer's document differs from the PDF sent")
		}
		if err := f.svc.Assign(ctx, u.ID, f.sub.ID, "admin:ops", "again"); !errors.Is(err, intake.ErrAnswerNotUnmatched) {
			t.Fatalf("second assign: %v", err)
		}
		if err := f.svc.Discard(ctx, u.ID, "admin:ops", "x"); !errors.Is(err, intake.ErrAnswerNotUnmatched) {
			t.Fatalf("discard of an assigned answer: %v", err)
		}
		if err := f.svc.Discard(ctx, uuid.NewString(), "admin:ops", "x"); !errors.Is(err, intake.ErrAnswerNotFound) {
			t.Fatalf("discard of an unknown answer: %v", err)
		}
	})
}

func readAll(t *testing.T, st outbox.Store, blobID string) []byte {
	t.Helper()
	r, err := outbox.OpenBlob(context.Background(), st, blobID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAnswerServiceReconfigure: after a reload the service takes answers
// of a tenant the reload added and refuses those of one it removed.
func TestAnswerServiceReconfigure(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		f := newAnswerFixture(t, st)
		body := answerstest.Render(t, answerstest.Eingangsbestaetigung, answerstest.Refs{Reference: uuid.NewString()})
		neu := f.src
		neu.Tenant = "neustadt"
		if _, err := f.svc.Receive(context.Background(), neu, body, ""); err == nil || !strings.Contains(err.Error(), "unknown tenant") {
			t.Fatalf("answer of a tenant not configured: %v", err)
		}
		next := testConfig(t)
		added := next.Tenants[0]
		added.ID = "neustadt"
		next.Tenants = []config.Tenant{added}
		if err := f.svc.Reconfigure(next); err != nil {
			t.Fatal(err)
		}
		if rc, err := f.svc.Receive(context.Background(), neu, body, ""); err != nil || rc.ID == "" {
			t.Fatalf("answer of the added tenant: %+v %v", rc, err)
		}
		if _, err := f.receive(t, body, ""); err == nil || !strings.Contains(err.Error(), "unknown tenant") {
			t.Fatalf("answer of the removed tenant: %v", err)
		}
		if err := f.svc.Reconfigure(nil); err == nil {
			t.Fatal("nil config accepted")
		}
	})
}
