package fitconnecttest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
)

const (
	dest  = "879ee109-a690-4db8-ab32-424284184d7d"
	leika = "urn:de:fim:leika:leistung:99010003001006"
)

// TestFakeStateTransitions: the fake answers misuse as the specification
// says: 409 with its problem type on an invalid state transition, 422 for
// missing or unannounced attachments, 415 for a wrong content type, 401
// without a valid token; an event is recorded once per jti.
func TestFakeStateTransitions(t *testing.T) {
	fake, err := fitconnecttest.New()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fitconnecttest.SharedKeys("musterstadt")
	if err != nil {
		t.Fatal(err)
	}
	fake.AddClient("c", "s")
	fake.AddDestination(fitconnecttest.Destination{ID: dest, EncryptionKey: keys.Encryption, SigningKeys: []fitconnect.Key{keys.Signing}, Services: []string{leika}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cl, err := fitconnect.NewClient(fitconnect.ClientConfig{SubmissionAPI: srv.URL, TokenURL: srv.URL + "/token", ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	status := func(err error) int {
		var ae *fitconnect.APIError
		if errors.As(err, &ae) {
			return ae.Status
		}
		if err == nil {
			return 0
		}
		return -1
	}
	problemType := func(err error) string {
		var ae *fitconnect.APIError
		if errors.As(err, &ae) {
			return ae.Problem.Type
		}
		return ""
	}

	att := "123ee109-a690-4db8-ab32-424284184d7d"
	created, err := cl.CreateSubmission(ctx, fitconnect.CreateSubmission{DestinationID: dest, AnnouncedAttachments: []string{att},
		ServiceType: fitconnect.ServiceType{Identifier: leika}})
	if err != nil {
		t.Fatal(err)
	}
	jwe, err := fitconnect.Encrypt(keys.Encryption.Public(), []byte("x"), "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	submit := fitconnect.SubmitSubmission{EncryptedMetadata: jwe, EncryptedData: jwe}
	if err := cl.Submit(ctx, created.SubmissionID, submit); status(err) != http.StatusUnprocessableEntity {
		t.Errorf("submit with a missing attachment: %v, want 422", err)
	}
	if err := cl.UploadAttachment(ctx, created.SubmissionID, "999ee109-a690-4db8-ab32-424284184d7d", jwe); status(err) != http.StatusUnprocessableEntity {
		t.Errorf("unannounced attachment: %v, want 422", err)
	}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v1/submissions/"+created.SubmissionID+"/attachments/"+att, bytes.NewReader([]byte(jwe)))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer nope")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token: %v %v, want 401", resp, err)
	}
	if err := cl.UploadAttachment(ctx, created.SubmissionID, att, jwe); err != nil {
		t.Fatal(err)
	}
	if list, _ := cl.SubmissionsForPickup(ctx, dest); len(list) != 0 {
		t.Errorf("a created submission is listed for pickup")
	}
	if err := cl.Submit(ctx, created.SubmissionID, submit); err != nil {
		t.Fatal(err)
	}
	if err := cl.Submit(ctx, created.SubmissionID, submit); status(err) != http.StatusConflict || problemType(err) != fitconnect.APIProblemInvalidTransition {
		t.Errorf("second submit: %v, want 409 invalid-state-transition", err)
	}
	if err := cl.UploadAttachment(ctx, created.SubmissionID, att, jwe); status(err) != http.StatusConflict {
		t.Errorf("upload after submit: %v, want 409", err)
	}
	if list, _ := cl.SubmissionsForPickup(ctx, dest); len(list) != 1 || list[0].SubmissionID != created.SubmissionID {
		t.Errorf("pickup list %v", list)
	}

	set, err := fitconnect.SignSET(keys.Signing, dest, "jti-1", created.SubmissionID, created.CaseID, fitconnect.EventAcceptSubmission,
		fitconnect.EventPayload{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.PostEvent(ctx, created.CaseID, set); err != nil {
		t.Fatal(err)
	}
	if err := cl.PostEvent(ctx, created.CaseID, set); err != nil {
		t.Errorf("the same event again: %v, want 204", err)
	}
	set2, _ := fitconnect.SignSET(keys.Signing, dest, "jti-2", created.SubmissionID, created.CaseID, fitconnect.EventRejectSubmission,
		fitconnect.EventPayload{}, time.Now())
	if err := cl.PostEvent(ctx, created.CaseID, set2); status(err) != http.StatusConflict {
		t.Errorf("reject after accept: %v, want 409", err)
	}
	forged, _ := fitconnect.SignSET(fake.SigningKey(), dest, "jti-3", created.SubmissionID, created.CaseID, fitconnect.EventAcceptSubmission,
		fitconnect.EventPayload{}, time.Now())
	if err := cl.PostEvent(ctx, created.CaseID, forged); status(err) != http.StatusUnprocessableEntity {
		t.Errorf("event signed with an unregistered key: %v, want 422", err)
	}
	log, err := cl.Events(ctx, created.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 { // create-submission, submit-submission, accept-submission
		t.Errorf("event log has %d events, want 3", len(log))
	}
	if _, err := cl.Submission(ctx, created.SubmissionID); status(err) != http.StatusNotFound {
		t.Errorf("an accepted submission is still served: %v", err)
	}
	if fake.State(created.SubmissionID) != fitconnecttest.StateAccepted {
		t.Errorf("state %s", fake.State(created.SubmissionID))
	}
}
