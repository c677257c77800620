package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/outbox"
)

func TestDiscardAndEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	topic := "musterstadt/bau/fachverfahren"
	sub := outbox.Submission{ID: uuid.NewString(), PortalID: "p", TenantID: "musterstadt", ProcedureID: "bau",
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
	// Not dead yet: 409.
	if code, _, body := f.do(t, http.MethodPost, "/admin/v1/messages/"+m.ID+"/discard", adminKey, `{"reason":"x"}`); code != http.StatusConflict {
		t.Fatalf("discard of a pending message: %d %s", code, body)
	}
	if _, err := f.store.Claim(ctx, outbox.ClaimParams{Topic: topic, Owner: "o", Limit: 1, Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Complete(ctx, outbox.Completion{Topic: topic, ID: m.ID, Owner: "o", Outcome: outbox.OutcomeDead,
		Error: "400 Bad Request", StartedAt: time.Now(), FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	code, _, body := f.do(t, http.MethodPost, "/admin/v1/messages/"+m.ID+"/discard", adminKey, `{"reason":"sent on paper"}`)
	if code != http.StatusOK {
		t.Fatalf("discard: %d %s", code, body)
	}
	var view adminapi.MessageView
	if err := json.Unmarshal(body, &view); err != nil {
		t.Fatal(err)
	}
	if view.State != outbox.StateDiscarded || view.PayloadBytes != 0 {
		t.Fatalf("discarded message: %+v", view)
	}
	if code, _, body := f.do(t, http.MethodPost, "/admin/v1/messages/"+uuid.NewString()+"/discard", adminKey, `{}`); code != http.StatusNotFound {
		t.Fatalf("discard of an unknown message: %d %s", code, body)
	}

	code, _, body = f.do(t, http.MethodGet, "/admin/v1/submissions/"+sub.ID+"/events", adminKey, "")
	if code != http.StatusOK {
		t.Fatalf("events: %d %s", code, body)
	}
	var evs adminapi.EventsResponse
	if err := json.Unmarshal(body, &evs); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs.Events {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{"accepted", "transformed", "attempt", "dead", "discarded"}; !slices.Equal(kinds, want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	last := evs.Events[len(evs.Events)-1]
	if last.Detail != "sent on paper" || last.Destination != "fachverfahren" || last.Topic != topic ||
		last.Actor == "" || evs.Events[2].Actor != "relay:o" {
		t.Errorf("events: %+v", evs.Events)
	}
	if code, _, _ := f.do(t, http.MethodGet, "/admin/v1/submissions/"+uuid.NewString()+"/events", adminKey, ""); code != http.StatusNotFound {
		t.Fatalf("events of an unknown submission: %d", code)
	}
	if code, _, _ := f.do(t, http.MethodGet, "/admin/v1/submissions/"+sub.ID+"/events", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("events without key: %d", code)
	}
	if code, _, _ := f.do(t, http.MethodGet, "/admin/v1/messages?status=discarded", adminKey, ""); code != http.StatusOK {
		t.Fatalf("list discarded: %d", code)
	}
}
