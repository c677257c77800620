package outboxtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// RunAnswers checks the answer part of the Store contract: storing in a
// transaction, idempotency by message id per tenant, the submission's audit
// event, matching targets, listing and paging, assignment and discard with
// their audit trail, attachments as blobs and their retention.
//
// The cases run one after another: Purge with a cut-off in the future
// removes every answer payload of the database.
func RunAnswers(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s outbox.Store)
	}{
		{"InsertAndRead", testAnswerInsertAndRead},
		{"IdempotentPerTenant", testAnswerIdempotent},
		{"Target", testAnswerTarget},
		{"AssignUnmatched", testAnswerAssign},
		{"DiscardUnmatched", testAnswerDiscard},
		{"ListAndPage", testAnswerList},
		{"AttachmentsNeedSubmission", testAnswerAttachmentsNeedSubmission},
		{"AttachmentsAndRetention", testAnswerAttachments},
		{"RollbackLeavesNothing", testAnswerRollback},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// NewAnswer returns an unmatched answer of tenant with fresh ids.
func NewAnswer(tenant string) outbox.Answer {
	body := []byte(`<answer id="` + uuid.NewString() + `"/>`)
	h := sha256.Sum256(body)
	return outbox.Answer{
		ID: uuid.NewString(), Tenant: tenant, Source: "p.q/fachverfahren", Channel: "http",
		MessageID: uuid.NewString(), BodySHA256: h[:], MessageType: "xbau.prozessnachrichten.aktenzeichen.1121",
		Status: "case_number", Reference: uuid.NewString(), State: outbox.AnswerUnmatched,
		Detail: []byte(`{"aktenzeichen":"63-2026-0001"}`), Payload: body,
	}
}

// submissionWithMessage commits a new submission of tenant with one message.
func submissionWithMessage(t *testing.T, s outbox.Store, tenant string) (outbox.Submission, outbox.Message) {
	t.Helper()
	ctx := ctxT(t)
	sub := NewSubmission("")
	sub.TenantID = tenant
	msg := NewMessage(tenant+"/p.q/fachverfahren", sub.ID)
	err := s.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{msg})
	})
	if err != nil {
		t.Fatalf("commit submission: %v", err)
	}
	return sub, msg
}

func insertAnswer(t *testing.T, s outbox.Store, a outbox.Answer) (outbox.Answer, bool) {
	t.Helper()
	ctx := ctxT(t)
	var stored outbox.Answer
	var created bool
	err := s.InTx(ctx, func(tx outbox.Tx) error {
		var err error
		stored, created, err = tx.InsertAnswer(ctx, a)
		return err
	})
	if err != nil {
		t.Fatalf("insert answer: %v", err)
	}
	return stored, created
}

func newTenant() string { return "t" + uuid.NewString()[:8] }

func answerEventKinds(t *testing.T, s outbox.Store, id string) []string {
	t.Helper()
	evs, err := s.AnswerEvents(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		if e.AnswerID != id || e.At.IsZero() {
			t.Errorf("answer event %+v: want answer %s and a time", e, id)
		}
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// submissionAnswerEvents returns the EventAnswer entries of a submission's trail.
func submissionAnswerEvents(t *testing.T, s outbox.Store, submissionID string) []outbox.Event {
	t.Helper()
	evs, err := s.Events(ctxT(t), submissionID)
	if err != nil {
		t.Fatal(err)
	}
	var out []outbox.Event
	for _, e := range evs {
		if e.Kind == outbox.EventAnswer {
			out = append(out, e)
		}
	}
	return out
}

func testAnswerInsertAndRead(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	sub, msg := submissionWithMessage(t, s, tenant)
	a := NewAnswer(tenant)
	a.State, a.SubmissionID, a.RefMessage, a.Reference = outbox.AnswerMatched, sub.ID, msg.ID, msg.ID
	before := time.Now().Add(-time.Second)
	stored, created := insertAnswer(t, s, a)
	if !created || stored.ID != a.ID {
		t.Fatalf("InsertAnswer = %s, created %v; want %s created", stored.ID, created, a.ID)
	}
	got, err := s.Answer(ctxT(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tenant != tenant || got.Source != a.Source || got.Channel != "http" || got.MessageID != a.MessageID ||
		!bytes.Equal(got.BodySHA256, a.BodySHA256) || got.MessageType != a.MessageType || got.Status != a.Status ||
		got.Reference != msg.ID || got.SubmissionID != sub.ID || got.RefMessage != msg.ID || got.State != outbox.AnswerMatched ||
		!bytes.Equal(got.Detail, a.Detail) || !bytes.Equal(got.Payload, a.Payload) {
		t.Fatalf("Answer = %+v\nwant %+v", got, a)
	}
	if got.ReceivedAt.Before(before) || got.ReceivedAt.After(time.Now().Add(time.Second)) || !got.ResolvedAt.IsZero() || !got.PurgedAt.IsZero() {
		t.Fatalf("times %v / %v / %v: want received now, not resolved or purged", got.ReceivedAt, got.ResolvedAt, got.PurgedAt)
	}
	list, err := s.SubmissionAnswers(ctxT(t), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != a.ID || len(list[0].Payload) != 0 || !bytes.Equal(list[0].Detail, a.Detail) {
		t.Fatalf("SubmissionAnswers = %+v, want the answer with its detail, without payload", list)
	}
	evs := submissionAnswerEvents(t, s, sub.ID)
	if len(evs) != 1 || evs[0].MessageID != a.ID || evs[0].Detail != a.Status || evs[0].Actor != outbox.ActorAnswers(tenant, a.Source) {
		t.Fatalf("submission's answer events = %+v, want one naming answer %s, status %s", evs, a.ID, a.Status)
	}
	if kinds := answerEventKinds(t, s, a.ID); len(kinds) != 1 || kinds[0] != outbox.AnswerEventReceived {
		t.Fatalf("answer events %v, want [received]", kinds)
	}
	if _, err := s.Answer(ctxT(t), uuid.NewString()); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("Answer(unknown) = %v, want ErrNotFound", err)
	}
}

func testAnswerIdempotent(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	first := NewAnswer(tenant)
	insertAnswer(t, s, first)
	again := NewAnswer(tenant)
	again.MessageID = first.MessageID
	stored, created := insertAnswer(t, s, again)
	if created || stored.ID != first.ID || !bytes.Equal(stored.BodySHA256, first.BodySHA256) || !bytes.Equal(stored.Payload, first.Payload) {
		t.Fatalf("second InsertAnswer = %s created %v, want the first (%s) not created", stored.ID, created, first.ID)
	}
	if _, err := s.Answer(ctxT(t), again.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("the duplicate was stored: %v", err)
	}
	other := NewAnswer(newTenant())
	other.MessageID = first.MessageID
	if _, created := insertAnswer(t, s, other); !created {
		t.Fatal("another tenant's answer with the same message id was not stored")
	}
	// A conflict is recorded in the answer's trail.
	err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		return tx.RecordAnswerEvent(ctxT(t), outbox.AnswerEvent{AnswerID: first.ID, Kind: outbox.AnswerEventConflict, Actor: "answers:x", Detail: "body differs"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if kinds := answerEventKinds(t, s, first.ID); len(kinds) != 2 || kinds[1] != outbox.AnswerEventConflict {
		t.Fatalf("answer events %v, want [received conflict]", kinds)
	}
}

func testAnswerTarget(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	sub, msg := submissionWithMessage(t, s, tenant)
	got, err := s.AnswerTarget(ctxT(t), msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := outbox.AnswerTarget{MessageID: msg.ID, Topic: msg.Topic, SubmissionID: sub.ID, Tenant: tenant, PortalID: sub.PortalID}
	if got != want {
		t.Fatalf("AnswerTarget = %+v, want %+v", got, want)
	}
	if _, err := s.AnswerTarget(ctxT(t), uuid.NewString()); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("AnswerTarget(unknown) = %v, want ErrNotFound", err)
	}
	st, err := s.SubmissionTarget(ctxT(t), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (outbox.AnswerTarget{SubmissionID: sub.ID, Tenant: tenant, PortalID: sub.PortalID}); st != want {
		t.Fatalf("SubmissionTarget = %+v, want %+v", st, want)
	}
	if _, err := s.SubmissionTarget(ctxT(t), uuid.NewString()); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("SubmissionTarget(unknown) = %v, want ErrNotFound", err)
	}
	// A message without a submission is no target.
	lone := NewMessage(topicName(), "")
	Publish(t, s, lone)
	if _, err := s.AnswerTarget(ctxT(t), lone.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("AnswerTarget(message without submission) = %v, want ErrNotFound", err)
	}
}

func unmatchedCount(t *testing.T, s outbox.Store, tenant string) int {
	t.Helper()
	n, err := s.UnmatchedAnswers(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return n[tenant]
}

func testAnswerAssign(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	sub, msg := submissionWithMessage(t, s, tenant)
	a := NewAnswer(tenant)
	insertAnswer(t, s, a)
	if n := unmatchedCount(t, s, tenant); n != 1 {
		t.Fatalf("UnmatchedAnswers[%s] = %d, want 1", tenant, n)
	}
	if evs := submissionAnswerEvents(t, s, sub.ID); len(evs) != 0 {
		t.Fatalf("unmatched answer recorded on a submission: %+v", evs)
	}
	assign := func(id string) error {
		return s.InTx(ctxT(t), func(tx outbox.Tx) error {
			return tx.AssignAnswer(ctxT(t), outbox.Answer{ID: id, SubmissionID: sub.ID, RefMessage: msg.ID, ResolvedBy: "admin:ops", Reason: "Aktenzeichen verified by phone"})
		})
	}
	if err := assign(a.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Answer(ctxT(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != outbox.AnswerAssigned || got.SubmissionID != sub.ID || got.RefMessage != msg.ID ||
		got.ResolvedBy != "admin:ops" || got.Reason != "Aktenzeichen verified by phone" || got.ResolvedAt.IsZero() {
		t.Fatalf("assigned answer = %+v", got)
	}
	if n := unmatchedCount(t, s, tenant); n != 0 {
		t.Fatalf("UnmatchedAnswers[%s] = %d after assigning, want 0", tenant, n)
	}
	evs := submissionAnswerEvents(t, s, sub.ID)
	if len(evs) != 1 || evs[0].MessageID != a.ID || evs[0].Actor != "admin:ops" || evs[0].Detail != a.Status {
		t.Fatalf("submission's answer events = %+v, want one by admin:ops", evs)
	}
	if kinds := answerEventKinds(t, s, a.ID); len(kinds) != 2 || kinds[1] != outbox.AnswerEventAssigned {
		t.Fatalf("answer events %v, want [received assigned]", kinds)
	}
	if err := assign(a.ID); !errors.Is(err, outbox.ErrAnswerResolved) {
		t.Fatalf("second assign = %v, want ErrAnswerResolved", err)
	}
	if err := assign(uuid.NewString()); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("assign(unknown) = %v, want ErrNotFound", err)
	}
}

func testAnswerDiscard(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	a := NewAnswer(tenant)
	insertAnswer(t, s, a)
	if err := s.DiscardAnswer(ctxT(t), a.ID, "admin:ops", "test message of the vendor"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Answer(ctxT(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != outbox.AnswerDiscarded || len(got.Payload) != 0 || got.PurgedAt.IsZero() || got.Reason != "test message of the vendor" || got.ResolvedBy != "admin:ops" {
		t.Fatalf("discarded answer = %+v, want discarded without payload, with reason", got)
	}
	if kinds := answerEventKinds(t, s, a.ID); len(kinds) != 2 || kinds[1] != outbox.AnswerEventDiscarded {
		t.Fatalf("answer events %v, want [received discarded]", kinds)
	}
	if err := s.DiscardAnswer(ctxT(t), a.ID, "admin:ops", "again"); !errors.Is(err, outbox.ErrAnswerResolved) {
		t.Fatalf("second discard = %v, want ErrAnswerResolved", err)
	}
	if err := s.DiscardAnswer(ctxT(t), uuid.NewString(), "admin:ops", "x"); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("discard(unknown) = %v, want ErrNotFound", err)
	}
	// A matched answer cannot be discarded.
	sub, msg := submissionWithMessage(t, s, tenant)
	m := NewAnswer(tenant)
	m.State, m.SubmissionID, m.RefMessage = outbox.AnswerMatched, sub.ID, msg.ID
	insertAnswer(t, s, m)
	if err := s.DiscardAnswer(ctxT(t), m.ID, "admin:ops", "x"); !errors.Is(err, outbox.ErrAnswerResolved) {
		t.Fatalf("discard(matched) = %v, want ErrAnswerResolved", err)
	}
}

func testAnswerList(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	var want []string
	for range 3 {
		a := NewAnswer(tenant)
		insertAnswer(t, s, a)
		want = append(want, a.ID)
	}
	sub, msg := submissionWithMessage(t, s, tenant)
	m := NewAnswer(tenant)
	m.State, m.SubmissionID, m.RefMessage = outbox.AnswerMatched, sub.ID, msg.ID
	insertAnswer(t, s, m)

	var got []string
	f := outbox.AnswerFilter{State: outbox.AnswerUnmatched, Tenant: tenant, Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		page, next, err := s.ListAnswers(ctxT(t), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			if a.State != outbox.AnswerUnmatched || a.Tenant != tenant || len(a.Payload) != 0 {
				t.Fatalf("listed %+v: want unmatched of %s without payload", a, tenant)
			}
			got = append(got, a.ID)
		}
		if next == "" {
			break
		}
		f.After = next
	}
	if len(got) != 3 || !sameSet(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	all, _, err := s.ListAnswers(ctxT(t), outbox.AnswerFilter{Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 {
		t.Fatalf("ListAnswers(tenant) = %d answers, want 4", len(all))
	}
	if _, _, err := s.ListAnswers(ctxT(t), outbox.AnswerFilter{After: "not a cursor"}); !errors.Is(err, outbox.ErrInvalidCursor) {
		t.Fatalf("ListAnswers(bad cursor) = %v, want ErrInvalidCursor", err)
	}
	if _, _, err := s.ListAnswers(ctxT(t), outbox.AnswerFilter{State: "bogus"}); err == nil {
		t.Fatal("ListAnswers(unknown state) = nil error")
	}
}

func sameSet(a, b []string) bool {
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func testAnswerAttachmentsNeedSubmission(t *testing.T, s outbox.Store) {
	a := NewAnswer(newTenant())
	a.Attachments = []outbox.AnswerAttachment{{BlobID: uuid.NewString(), FileName: "bescheid.pdf", MIMEType: "application/pdf", Size: 1}}
	err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		_, _, err := tx.InsertAnswer(ctxT(t), a)
		return err
	})
	if err == nil {
		t.Fatal("InsertAnswer with attachments and no submission = nil error")
	}
	if _, err := s.Answer(ctxT(t), a.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("the answer was stored: %v", err)
	}
}

func testAnswerAttachments(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	sub, msg := submissionWithMessage(t, s, tenant)
	content := BlobContent(t, 3000)
	b := stage(t, s, content)
	b.SubmissionID = sub.ID
	a := NewAnswer(tenant)
	a.State, a.SubmissionID, a.RefMessage = outbox.AnswerMatched, sub.ID, msg.ID
	a.Status, a.MessageType = "decided", "xbau.baugenehmigung.bescheid.0205"
	a.Attachments = []outbox.AnswerAttachment{{Index: 0, BlobID: b.ID, FileName: "bescheid.pdf", MIMEType: "application/pdf", Size: b.Size}}
	ctx := ctxT(t)
	err := s.InTx(ctx, func(tx outbox.Tx) error {
		if err := tx.InsertBlobs(ctx, []outbox.Blob{b}); err != nil {
			return err
		}
		_, _, err := tx.InsertAnswer(ctx, a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Answer(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Attachments) != 1 || got.Attachments[0] != a.Attachments[0] {
		t.Fatalf("attachments %+v, want %+v", got.Attachments, a.Attachments)
	}
	list, err := s.SubmissionAnswers(ctx, sub.ID)
	if err != nil || len(list) != 1 || len(list[0].Attachments) != 1 {
		t.Fatalf("SubmissionAnswers = %+v, %v; want the answer with its attachment", list, err)
	}
	sameContent(t, s, b.ID, content)

	// An unmatched answer is kept from retention for an operator.
	u := NewAnswer(tenant)
	insertAnswer(t, s, u)
	res, err := s.Purge(ctx, time.Now().Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res.Answers < 1 || res.Blobs < 1 {
		t.Fatalf("Purge = %+v, want answers and blobs purged", res)
	}
	got, err = s.Answer(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Payload) != 0 || got.PurgedAt.IsZero() || !bytes.Equal(got.Detail, a.Detail) {
		t.Fatalf("purged answer = %+v, want no payload, purged_at set, detail kept", got)
	}
	if _, err := s.Blob(ctx, b.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("Blob of a purged answer = %v, want ErrNotFound", err)
	}
	if kinds := answerEventKinds(t, s, a.ID); len(kinds) != 2 || kinds[1] != outbox.AnswerEventPurged {
		t.Fatalf("answer events %v, want [received purged]", kinds)
	}
	kept, err := s.Answer(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kept.Payload, u.Payload) {
		t.Fatal("retention removed the payload of an unmatched answer")
	}
}

func testAnswerRollback(t *testing.T, s outbox.Store) {
	tenant := newTenant()
	sub, _ := submissionWithMessage(t, s, tenant)
	a := NewAnswer(tenant)
	a.State, a.SubmissionID = outbox.AnswerMatched, sub.ID
	boom := errors.New("boom")
	err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		if _, _, err := tx.InsertAnswer(context.WithoutCancel(ctxT(t)), a); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if _, err := s.Answer(ctxT(t), a.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("rolled-back answer was stored: %v", err)
	}
	if evs := submissionAnswerEvents(t, s, sub.ID); len(evs) != 0 {
		t.Fatalf("rolled-back answer left events: %+v", evs)
	}
}
