package fitconnect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestInbound: a Bauantrag with attachments and a Wohnungsgeberbestätigung
// are picked up, stored once with one message per destination and their
// accept events, which the Zustelldienst verifies and records.
func TestInbound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bau, atts := fachdaten(t, "bau.baugenehmigung-mit-dateien.json")
	meld, _ := fachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	sentBau, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaBau, Name: "Bauantrag"},
		Data: bau, Attachments: atts})
	if err != nil {
		t.Fatal(err)
	}
	sentMeld, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld},
		Data: meld})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sub.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.obs.get("accepted"); got != 2 {
		t.Fatalf("accepted %d, want 2 (counts %v)", got, e.obs.counts)
	}
	// A second poll before the events are posted fetches nothing again.
	fetches := e.fake.Requests("GET /v1/submissions/{id}")
	if err := e.sub.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.Requests("GET /v1/submissions/{id}"); got != fetches {
		t.Errorf("second poll fetched %d submissions again", got-fetches)
	}
	subs, _, err := e.store.ListSubmissions(ctx, outbox.SubmissionFilter{PortalID: fitconnect.PortalID("musterstadt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 {
		t.Fatalf("%d stored submissions, want 2", len(subs))
	}
	for _, s := range subs {
		if s.Submission.IdempotencyKey != sentBau.SubmissionID && s.Submission.IdempotencyKey != sentMeld.SubmissionID {
			t.Errorf("idempotency key %q is no FIT-Connect submission id", s.Submission.IdempotencyKey)
		}
		var xml, events int
		for _, m := range s.Messages {
			switch {
			case m.Topic == fitconnect.EventTopic("musterstadt"):
				events++
			case m.Metadata[outbox.MetaDestination] != "":
				xml++
			}
		}
		if xml == 0 || events != 1 {
			t.Errorf("submission %s: %d destination messages, %d events; want some and 1", s.Submission.ID, xml, events)
		}
	}
	e.deliverEvents(t)
	e.deliverEvents(t) // a redelivery posts the same jti: recorded once
	for _, sent := range []fitconnecttest.Sent{sentBau, sentMeld} {
		if st := e.fake.State(sent.SubmissionID); st != fitconnecttest.StateAccepted {
			t.Errorf("submission %s is %s, want accepted", sent.SubmissionID, st)
		}
		evs, err := e.fake.DecodedEvents(sent.CaseID, e.keys.Signing)
		if err != nil {
			t.Fatalf("events do not verify with Amtsbote's public key: %v", err)
		}
		var accepts int
		for _, ev := range evs {
			if ev.Type == fitconnect.EventAcceptSubmission {
				accepts++
				if ev.Payload.AuthenticationTags == nil || ev.Payload.AuthenticationTags.Data == "" {
					t.Errorf("accept event without authentication tags")
				}
				if sent.SubmissionID == sentBau.SubmissionID && len(ev.Payload.AuthenticationTags.Attachments) != len(atts) {
					t.Errorf("accept event names %d attachments, want %d", len(ev.Payload.AuthenticationTags.Attachments), len(atts))
				}
			}
		}
		if accepts != 1 {
			t.Errorf("case %s has %d accept events, want 1", sent.CaseID, accepts)
		}
	}
}

// TestReject: every refused submission gets one reject event with the
// problem type, and nothing is stored but the event.
func TestReject(t *testing.T) {
	other, err := fitconnecttest.NewKey("enc")
	if err != nil {
		t.Fatal(err)
	}
	meld, _ := fachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	bau, atts := fachdaten(t, "bau.baugenehmigung-mit-dateien.json")
	invalid := []byte(strings.Replace(string(meld), `"data":`, `"data_x": 1, "data":`, 1))
	for _, tc := range []struct {
		name    string
		req     fitconnecttest.SendRequest
		problem string
	}{
		{"tampered ciphertext", fitconnecttest.SendRequest{Data: meld, TamperData: true}, fitconnect.ProblemEncryptionIssue},
		{"tampered attachment", fitconnecttest.SendRequest{Data: bau, Attachments: atts, Service: fitconnect.ServiceType{Identifier: leikaBau}, TamperAttachment: true}, fitconnect.ProblemEncryptionIssue},
		{"wrong key", fitconnecttest.SendRequest{Data: meld, EncryptWith: other}, fitconnect.ProblemEncryptionIssue},
		{"hash mismatch", fitconnecttest.SendRequest{Data: meld, WrongHash: true}, fitconnect.ProblemHashMismatch},
		{"metadata invalid", fitconnecttest.SendRequest{Data: meld, Metadata: []byte(`{"contentStructure":{"attachments":[{"purpose":"x"}]}}`)}, fitconnect.ProblemSchemaViolation},
		{"metadata not JSON", fitconnecttest.SendRequest{Data: meld, Metadata: []byte(`{"contentStructure":`)}, fitconnect.ProblemSyntaxViolation},
		{"fachdaten invalid", fitconnecttest.SendRequest{Data: []byte(`{"applicant":{},"data":{}}`)}, fitconnect.ProblemSchemaViolation},
		{"fachdaten not JSON", fitconnecttest.SendRequest{Data: []byte(`{"applicant":`)}, fitconnect.ProblemSyntaxViolation},
		{"unknown member", fitconnecttest.SendRequest{Data: invalid}, fitconnect.ProblemSchemaViolation},
		{"unknown service", fitconnecttest.SendRequest{Data: meld, Service: fitconnect.ServiceType{Identifier: "urn:de:fim:leika:leistung:1"}}, fitconnect.ProblemUnsupported},
		{"service not routed", fitconnecttest.SendRequest{Data: meld, Service: fitconnect.ServiceType{Identifier: leikaOther}}, fitconnect.ProblemUnsupported},
		{"unsupported schema", fitconnecttest.SendRequest{Data: meld, SchemaURI: "urn:other"}, fitconnect.ProblemUnsupportedData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			req := tc.req
			req.DestinationID = destID
			if req.Service.Identifier == "" {
				req.Service.Identifier = leikaMeld
			}
			sent, err := e.fake.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.sub.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			// Fetched twice: still one reject.
			e.sub.Poll(ctx)
			subs, _, err := e.store.ListSubmissions(ctx, outbox.SubmissionFilter{PortalID: fitconnect.PortalID("musterstadt")})
			if err != nil {
				t.Fatal(err)
			}
			if len(subs) != 0 {
				t.Fatalf("%d submissions stored, want none", len(subs))
			}
			msgs, _, err := e.store.List(ctx, outbox.ListFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].Topic != fitconnect.EventTopic("musterstadt") || msgs[0].Metadata[fitconnect.MetaEvent] != "reject" {
				t.Fatalf("stored messages %v, want one reject event", msgs)
			}
			e.deliverEvents(t)
			if st := e.fake.State(sent.SubmissionID); st != fitconnecttest.StateRejected {
				t.Fatalf("submission is %s, want rejected", st)
			}
			evs, err := e.fake.DecodedEvents(sent.CaseID, e.keys.Signing)
			if err != nil {
				t.Fatal(err)
			}
			last := evs[len(evs)-1]
			if last.Type != fitconnect.EventRejectSubmission || len(last.Payload.Problems) != 1 || last.Payload.Problems[0].Type != tc.problem {
				t.Fatalf("last event %s %+v, want reject with %s", last.Type, last.Payload.Problems, tc.problem)
			}
		})
	}
}
