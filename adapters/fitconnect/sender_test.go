package fitconnect_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/adapters/notify"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

const outDestID = "13ad2349-975c-4167-bcd8-da606b4e1d84"

// TestOutbound: a message with attachments reaches the destination,
// decrypts with its private key to the same XML and attachments, and the
// case message follows the event log to the recipient's accept (or
// reject), which the reactor turns into the portal's callback.
func TestOutbound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	recipient, err := fitconnecttest.SharedKeys("recipient")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.AddDestination(fitconnecttest.Destination{ID: outDestID, EncryptionKey: recipient.Encryption,
		SigningKeys: []fitconnect.Key{recipient.Signing}, Services: []string{leikaBau}, Regions: []string{"DE09163"}})

	xml := []byte(`<?xml version="1.0" encoding="UTF-8"?><baugenehmigung.antrag.0200/>`)
	pdf := []byte("%PDF-1.7 Lageplan")
	png := []byte("\x89PNG Ansicht")
	bundle := outbox.Bundle{Modified: time.Now().UTC().Truncate(time.Second), Entries: []outbox.BundleEntry{
		{Name: "antrag.xml", Data: xml},
		{Name: "anlagen/lageplan.pdf", Data: pdf, AttachmentID: "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a", MIMEType: "application/pdf"},
		{Name: "anlagen/ansicht.png", Data: png, AttachmentID: "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b", MIMEType: "image/png"},
	}}
	payload, err := bundle.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		routing bool
		event   string
	}{
		{"configured destination, accepted", false, fitconnect.EventAcceptSubmission},
		{"routing api, rejected", true, fitconnect.EventRejectSubmission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fitconnect.SenderConfig{Tenant: "musterstadt", Procedure: "bau.baugenehmigung", Destination: "fitconnect",
				Client: e.cl, Service: fitconnect.ServiceType{Identifier: leikaBau, Name: "Bauantrag"}, Store: e.store}
			if tc.routing {
				cfg.RoutingAPI, cfg.ARS = e.srv.URL, "091630000000"
			} else {
				cfg.DestinationID = outDestID
			}
			s, err := fitconnect.NewSender(cfg)
			if err != nil {
				t.Fatal(err)
			}
			before := len(e.fake.Received(outDestID))
			d := outbox.Delivery{MessageID: "m-" + tc.name, SubmissionID: "", Topic: "musterstadt/bau.baugenehmigung/fitconnect",
				Payload: payload, Metadata: map[string]string{outbox.MetaPayloadFormat: outbox.PayloadFormatBundle}}
			if err := s.Deliver(ctx, d); err != nil {
				t.Fatal(err)
			}
			got := e.fake.Received(outDestID)
			if len(got) != before+1 {
				t.Fatalf("%d submissions at the destination, want %d", len(got), before+1)
			}
			sub := got[len(got)-1]
			plain, err := fitconnect.Decrypt(recipient.Encryption, sub.EncryptedData)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(plain) != sha256.Sum256(xml) {
				t.Errorf("data decrypts to %q, want the XML", plain)
			}
			mdJSON, err := fitconnect.Decrypt(recipient.Encryption, sub.EncryptedMetadata)
			if err != nil {
				t.Fatal(err)
			}
			md, err := fitconnect.ParseMetadata(mdJSON)
			if err != nil {
				t.Fatalf("metadata invalid: %v", err)
			}
			if !md.ContentStructure.Data.Hash.Matches(xml) || len(md.ContentStructure.Attachments) != 2 {
				t.Fatalf("metadata %+v", md)
			}
			for i, want := range [][]byte{pdf, png} {
				a := md.ContentStructure.Attachments[i]
				content, err := fitconnect.Decrypt(recipient.Encryption, sub.Attachments[a.AttachmentID])
				if err != nil {
					t.Fatal(err)
				}
				if sha256.Sum256(content) != sha256.Sum256(want) || !a.Hash.Matches(content) {
					t.Errorf("attachment %d differs", i)
				}
			}

			// The case message follows the event log.
			caseMsgs, _, err := e.store.List(ctx, outbox.ListFilter{Tenant: "~fitconnect-case", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var cm *outbox.Message
			for i := range caseMsgs {
				if caseMsgs[i].Metadata[fitconnect.MetaSubmission] == sub.ID {
					cm = &caseMsgs[i]
				}
			}
			if cm == nil || cm.Metadata[fitconnect.MetaCase] != sub.CaseID || cm.Metadata[outbox.MetaDestination] != "fitconnect" {
				t.Fatalf("no case message for submission %s: %v", sub.ID, caseMsgs)
			}
			f, err := fitconnect.NewCaseFollower(fitconnect.CaseFollowerConfig{Client: e.cl, PollInterval: time.Second, Observer: e.obs, Destination: "fitconnect"})
			if err != nil {
				t.Fatal(err)
			}
			cd := outbox.Delivery{MessageID: cm.ID, Topic: cm.Topic, Payload: cm.Payload, Metadata: cm.Metadata}
			err = f.Deliver(ctx, cd)
			if ra, ok := errors.AsType[outbox.RetryAfterError](err); !ok || !errors.Is(err, fitconnect.ErrNotYet) || ra.RetryAfter() != time.Second {
				t.Fatalf("before the decision: %v, want ErrNotYet after 1s", err)
			}
			// A forged event (signed with another key) is ignored.
			forger, _ := fitconnecttest.SharedKeys("musterstadt")
			if err := e.fake.Decide(sub.ID, tc.event, forger.Signing, nil); err != nil {
				t.Fatal(err)
			}
			if err := f.Deliver(ctx, cd); !errors.Is(err, fitconnect.ErrNotYet) {
				t.Fatalf("after a forged event: %v, want ErrNotYet", err)
			}
		})
	}
}

// TestCaseDecision: the recipient's signed accept delivers the case
// message, its reject makes it dead; the reactor turns each into a
// portal callback.
func TestCaseDecision(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	recipient, err := fitconnecttest.SharedKeys("recipient")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.AddDestination(fitconnecttest.Destination{ID: outDestID, EncryptionKey: recipient.Encryption,
		SigningKeys: []fitconnect.Key{recipient.Signing}, Services: []string{leikaBau}})
	s, err := fitconnect.NewSender(fitconnect.SenderConfig{Tenant: "musterstadt", Procedure: "bau.baugenehmigung", Destination: "fitconnect",
		Client: e.cl, DestinationID: outDestID, Service: fitconnect.ServiceType{Identifier: leikaBau}, Store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	f, err := fitconnect.NewCaseFollower(fitconnect.CaseFollowerConfig{Client: e.cl, Observer: e.obs, Destination: "fitconnect"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		event string
		ok    bool
	}{{fitconnect.EventAcceptSubmission, true}, {fitconnect.EventRejectSubmission, false}} {
		if err := s.Deliver(ctx, outbox.Delivery{MessageID: "m-" + tc.event, Payload: []byte("<x/>"), Metadata: map[string]string{}}); err != nil {
			t.Fatal(err)
		}
		got := e.fake.Received(outDestID)
		sub := got[len(got)-1]
		if err := e.fake.Decide(sub.ID, tc.event, recipient.Signing, []fitconnect.Problem{{Type: fitconnect.ProblemSchemaViolation, Title: "x"}}); err != nil {
			t.Fatal(err)
		}
		msgs, _, _ := e.store.List(ctx, outbox.ListFilter{Tenant: "~fitconnect-case", Limit: 100})
		m := msgs[len(msgs)-1]
		err = f.Deliver(ctx, outbox.Delivery{MessageID: m.ID, Payload: m.Payload, Metadata: m.Metadata})
		if tc.ok && err != nil {
			t.Errorf("accepted case: %v", err)
		}
		if !tc.ok && (!errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, fitconnect.ErrRejected)) {
			t.Errorf("rejected case: %v, want permanent ErrRejected", err)
		}
	}
	if e.obs.get("case/accept") != 1 || e.obs.get("case/reject") != 1 {
		t.Errorf("counts %v", e.obs.counts)
	}

	// The reactor: callbacks for the portal with a callback, none for others.
	cfg := &config.Config{Portals: []config.Portal{{ID: "demo-portal", Callback: &config.Callback{URL: "https://portal.example/cb"}}, {ID: "other"}}}
	r := fitconnect.NewReactor(cfg)
	topic := fitconnect.CaseTopic("musterstadt", "bau.baugenehmigung", "fitconnect")
	out, err := r.React(ctx, []outbox.Event{
		{SubmissionID: "s1", PortalID: "demo-portal", Tenant: "musterstadt", Procedure: "bau.baugenehmigung", Topic: topic, Kind: outbox.EventDelivered},
		{SubmissionID: "s2", PortalID: "demo-portal", Topic: topic, Kind: outbox.EventDead},
		{SubmissionID: "s3", PortalID: "other", Topic: topic, Kind: outbox.EventDelivered},
		{SubmissionID: "s4", PortalID: "demo-portal", Topic: "musterstadt/bau.baugenehmigung/fitconnect", Kind: outbox.EventDelivered},
		{SubmissionID: "s5", PortalID: "demo-portal", Topic: topic, Kind: outbox.EventAttempt},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d callbacks, want 2", len(out))
	}
	for i, want := range []string{fitconnect.StatusRecipientAccepted, fitconnect.StatusRecipientRejected} {
		var ev notify.CallbackEvent
		if err := json.Unmarshal(out[i].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if out[i].Topic != config.CallbackTopic("demo-portal") || ev.Status != want || ev.Destination != "fitconnect" {
			t.Errorf("callback %d: %s %+v", i, out[i].Topic, ev)
		}
	}
}

// TestFetchedTwice: a second process (no memory of the first) fetches
// the same submission before its accept event was posted: stored once,
// one event.
func TestFetchedTwice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	meld, _ := fachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	if _, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld}, Data: meld}); err != nil {
		t.Fatal(err)
	}
	if err := e.sub.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	second := e.secondSubscriber(t)
	if err := second.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	subs, _, _ := e.store.ListSubmissions(ctx, outbox.SubmissionFilter{PortalID: fitconnect.PortalID("musterstadt")})
	if len(subs) != 1 || len(e.eventMessages(t)) != 1 {
		t.Fatalf("%d submissions, %d events; want 1 and 1", len(subs), len(e.eventMessages(t)))
	}
	if got := e.fake.Requests("GET /v1/submissions/{id}"); got != 2 {
		t.Errorf("fetched %d times, want 2", got)
	}
}

// TestKeyRotation: during a rotation a submission encrypted for the
// previous key is still accepted; one for neither key is rejected.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	newKeys, err := fitconnecttest.SharedKeys("rotated")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := fitconnecttest.SharedKeys("recipient")
	if err != nil {
		t.Fatal(err)
	}
	meld, _ := fachdaten(t, "meldewesen.wohnungsgeberbestaetigung-minimal.json")
	old, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld}, Data: meld})
	if err != nil {
		t.Fatal(err)
	}
	current, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld}, Data: meld, EncryptWith: newKeys.Encryption})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := e.fake.Send(fitconnecttest.SendRequest{DestinationID: destID, Service: fitconnect.ServiceType{Identifier: leikaMeld}, Data: meld, EncryptWith: stranger.Encryption})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.newSubWith(newKeys.Encryption, e.keys.Encryption)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	e.deliverEvents(t)
	for id, want := range map[string]string{old.SubmissionID: fitconnecttest.StateAccepted, current.SubmissionID: fitconnecttest.StateAccepted,
		foreign.SubmissionID: fitconnecttest.StateRejected} {
		if got := e.fake.State(id); got != want {
			t.Errorf("submission %s is %s, want %s", id, got, want)
		}
	}
}

// TestSenderFaults: a Zustelldienst answering 5xx or too slowly is
// retried (a temporary error, with its Retry-After); an unknown
// destination or a bad key makes the message dead.
func TestSenderFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	recipient, err := fitconnecttest.SharedKeys("recipient")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.AddDestination(fitconnecttest.Destination{ID: outDestID, EncryptionKey: recipient.Encryption,
		SigningKeys: []fitconnect.Key{recipient.Signing}, Services: []string{leikaBau}})
	newSender := func(dest string) *fitconnect.Sender {
		s, err := fitconnect.NewSender(fitconnect.SenderConfig{Tenant: "musterstadt", Procedure: "bau.baugenehmigung", Destination: "fitconnect",
			Client: e.cl, DestinationID: dest, Service: fitconnect.ServiceType{Identifier: leikaBau}, Store: e.store})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	d := outbox.Delivery{MessageID: "m-faults", Payload: []byte("<x/>"), Metadata: map[string]string{}}
	e.fake.Inject(fitconnecttest.Fault{Method: "POST", Path: "/v1/submissions", Status: 503, Count: 1})
	err = newSender(outDestID).Deliver(ctx, d)
	if err == nil || errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("503: %v, want a temporary error", err)
	}
	e.fake.Inject(fitconnecttest.Fault{Method: "PUT", Path: "/v1/submissions/", Delay: 3 * time.Second, Count: 1})
	if err := newSender(outDestID).Deliver(ctx, d); err == nil || errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("timeout: %v, want a temporary error", err)
	}
	if err := newSender(outDestID).Deliver(ctx, d); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
	if err := newSender("00000000-0000-4000-8000-000000000000").Deliver(ctx, d); !errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("unknown destination: %v, want permanent", err)
	}
	// A destination whose key is a signing key: refused, permanent.
	bad := "11111111-2222-4333-8444-555555555555"
	e.fake.AddDestination(fitconnecttest.Destination{ID: bad, EncryptionKey: recipient.Signing, Services: []string{leikaBau}})
	if err := newSender(bad).Deliver(ctx, d); !errors.Is(err, outbox.ErrPermanent) || !strings.Contains(err.Error(), "alg must be RSA-OAEP-256") {
		t.Fatalf("bad key: %v, want permanent with the reason", err)
	}
}
