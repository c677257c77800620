package adminapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/outboxtest"
)

// recordingResolver records the assignments and discards it is asked for.
type recordingResolver struct{ calls []string }

func (r *recordingResolver) Assign(_ context.Context, id, submissionID, by, reason string) error {
	r.calls = append(r.calls, "assign "+id+" "+by)
	return nil
}

func (r *recordingResolver) Discard(_ context.Context, id, by, reason string) error {
	r.calls = append(r.calls, "discard "+id+" "+by)
	return nil
}

// TestAnswersScoped: a scoped operator sees and resolves its tenants'
// answers only; another tenant's answer is 404 and nothing is resolved.
func TestAnswersScoped(t *testing.T) {
	t.Parallel()
	res := &recordingResolver{}
	f := newFixtureWith(t, adminapi.Config{Admin: scopedAdmin(), Answers: res})
	ctx := context.Background()
	own, other := outboxtest.NewAnswer("musterstadt"), outboxtest.NewAnswer("anderstadt")
	for _, a := range []outbox.Answer{own, other} {
		if err := f.store.InTx(ctx, func(tx outbox.Tx) error { _, _, err := tx.InsertAnswer(ctx, a); return err }); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/admin/v1/answers/" + other.ID, ""},
		{http.MethodPost, "/admin/v1/answers/" + other.ID + "/assign", `{"submission_id":"x","reason":"x"}`},
		{http.MethodPost, "/admin/v1/answers/" + other.ID + "/discard", `{"reason":"x"}`},
		{http.MethodGet, "/admin/v1/answers?tenant=anderstadt", ""},
	} {
		status, hdr, body := f.do(t, c.method, c.path, opKey, c.body)
		wantProblem(t, status, hdr, body, http.StatusNotFound, adminapi.ProblemNotFound)
	}
	if len(res.calls) != 0 {
		t.Fatalf("another tenant's answer was resolved: %v", res.calls)
	}
	status, _, body := f.do(t, http.MethodGet, "/admin/v1/answers?state=unmatched", opKey, "")
	list := decode[adminapi.AnswersResponse](t, body)
	if status != http.StatusOK || len(list.Answers) != 1 || list.Answers[0].ID != own.ID {
		t.Fatalf("operator's list: %d %s", status, body)
	}
	status, hdr, body := f.do(t, http.MethodGet, "/admin/v1/answers", opBothKey, "")
	wantProblem(t, status, hdr, body, http.StatusBadRequest, adminapi.ProblemMalformedRequest)
	status, _, body = f.do(t, http.MethodGet, "/admin/v1/answers", adminKey, "")
	if all := decode[adminapi.AnswersResponse](t, body); status != http.StatusOK || len(all.Answers) != 2 {
		t.Fatalf("full admin's list: %d %s", status, body)
	}
	if status, _, body := f.do(t, http.MethodPost, "/admin/v1/answers/"+own.ID+"/discard", opKey, `{"reason":"vendor test"}`); status != http.StatusOK {
		t.Fatalf("discard own: %d %s", status, body)
	}
	if len(res.calls) != 1 || !strings.HasPrefix(res.calls[0], "discard "+own.ID+" admin-api:it-muster (") {
		t.Fatalf("calls %v", res.calls)
	}
}
