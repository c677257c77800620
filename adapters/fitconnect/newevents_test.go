package fitconnect_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/outbox"
)

const eventsSecret = "new-events-secret-0123456789abcdef0123"

// caseEnv sends submissions to a FIT-Connect destination whose NewEvents
// callbacks reach a NewEventsHandler on a real store.
type caseEnv struct {
	*env
	recipient fitconnecttest.Keys
	sender    *fitconnect.Sender
	topic     string
	handler   http.Handler
	obs       *countingObserver
}

func newCaseEnv(t *testing.T, leaseWait time.Duration) *caseEnv {
	t.Helper()
	e := newEnv(t)
	recipient, err := fitconnecttest.SharedKeys("recipient")
	if err != nil {
		t.Fatal(err)
	}
	e.fake.AddDestination(fitconnecttest.Destination{ID: outDestID, EncryptionKey: recipient.Encryption,
		SigningKeys: []fitconnect.Key{recipient.Signing}, Services: []string{leikaBau}})
	c := &caseEnv{env: e, recipient: recipient, topic: fitconnect.CaseTopic("musterstadt", "bau.baugenehmigung", "landkreis"),
		obs: &countingObserver{counts: map[string]int{}}}
	c.handler, err = fitconnect.NewEventsHandler(fitconnect.NewEventsConfig{Secret: []byte(eventsSecret), Topic: c.topic,
		Destination: "musterstadt/bau.baugenehmigung/landkreis", Store: e.store, Observer: c.obs, LeaseWait: leaseWait})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.handler)
	t.Cleanup(srv.Close)
	c.sender, err = fitconnect.NewSender(fitconnect.SenderConfig{Tenant: "musterstadt", Procedure: "bau.baugenehmigung", Destination: "landkreis",
		Client: e.cl, DestinationID: outDestID, Service: fitconnect.ServiceType{Identifier: leikaBau}, Store: e.store,
		Callback: &fitconnect.CreateCallback{URL: srv.URL, Secret: eventsSecret}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send sends a submission and returns the fake's record of it and its
// case message, looked at once (not decided: retrying in an hour).
func (c *caseEnv) send(t *testing.T, name string) (fitconnecttest.Submission, string) {
	t.Helper()
	ctx := context.Background()
	if err := c.sender.Deliver(ctx, outbox.Delivery{MessageID: "m-" + name, Payload: []byte("<x/>"), Metadata: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	got := c.fake.Received(outDestID)
	sub := got[len(got)-1]
	id := fitconnect.CaseMessageID(sub.ID)
	c.claimed(t, id)
	c.complete(t, id)
	if c.due(t) {
		t.Fatal("the case message is due before any callback")
	}
	return sub, id
}

// claimed claims the case message id as the relay would.
func (c *caseEnv) claimed(t *testing.T, id string) {
	t.Helper()
	msgs, err := c.store.Claim(context.Background(), outbox.ClaimParams{Topic: c.topic, Owner: "relay", Limit: 10, Lease: time.Minute})
	if err != nil || len(msgs) != 1 || msgs[0].ID != id {
		t.Fatalf("claim = %v, %v; want the case message %s", msgs, err, id)
	}
}

// complete records "not decided yet": the next look in an hour.
func (c *caseEnv) complete(t *testing.T, id string) {
	t.Helper()
	now := time.Now()
	if err := c.store.Complete(context.Background(), outbox.Completion{Topic: c.topic, ID: id, Owner: "relay", Outcome: outbox.OutcomeRetry,
		Error: fitconnect.ErrNotYet.Error(), NextAttemptAt: now.Add(time.Hour), StartedAt: now, FinishedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// due reports whether a case message of the topic is due.
func (c *caseEnv) due(t *testing.T) bool {
	t.Helper()
	at, ok, err := c.store.NextDue(context.Background(), c.topic)
	if err != nil {
		t.Fatal(err)
	}
	return ok && !at.After(time.Now())
}

func newEventsRequest(t *testing.T, secret string, at time.Time, subs ...fitconnecttest.Submission) *http.Request {
	t.Helper()
	body := []byte(`{"type":"` + fitconnect.CallbackNewEvents + `","submissions":[`)
	for i, s := range subs {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"destinationId":"`+s.DestinationID+`","submissionId":"`+s.ID+`","caseId":"`+s.CaseID+`"}`...)
	}
	body = append(body, "]}"...)
	ts := strconv.FormatInt(at.Unix(), 10)
	req := httptest.NewRequest(http.MethodPost, "/fitconnect/events/musterstadt/bau.baugenehmigung/landkreis", bytes.NewReader(body))
	req.Header.Set(fitconnect.HeaderCallbackTimestamp, ts)
	req.Header.Set(fitconnect.HeaderCallbackAuthentication, fitconnect.CallbackMAC([]byte(secret), ts, body))
	return req
}

// TestNewEventsCallback: a verified NewEvents callback makes the case
// message of the submission due at once, without an attempt; a bad HMAC
// or a stale timestamp gets 401 and changes nothing.
func TestNewEventsCallback(t *testing.T) {
	c := newCaseEnv(t, -1)
	for _, tc := range []struct {
		name    string
		secret  string
		at      time.Time
		status  int
		makeDue bool
	}{
		{"bad hmac", "another-secret-0123456789abcdef0123456", time.Now(), http.StatusUnauthorized, false},
		{"stale timestamp", eventsSecret, time.Now().Add(-6 * time.Minute), http.StatusUnauthorized, false},
		{"future timestamp", eventsSecret, time.Now().Add(6 * time.Minute), http.StatusUnauthorized, false},
		{"valid", eventsSecret, time.Now(), http.StatusOK, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, id := c.send(t, tc.name)
			before := c.obs.get("error/callback")
			w := httptest.NewRecorder()
			c.handler.ServeHTTP(w, newEventsRequest(t, tc.secret, tc.at, sub))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := c.due(t); got != tc.makeDue {
				t.Fatalf("case message due = %v, want %v", got, tc.makeDue)
			}
			if !tc.makeDue {
				if c.obs.get("error/callback") != before+1 {
					t.Errorf("refused callback not counted: %v", c.obs.counts)
				}
				return
			}
			c.claimed(t, id) // due at once: the relay takes it now
			atts, err := c.store.Attempts(context.Background(), id)
			if err != nil || len(atts) != 1 {
				t.Errorf("%d attempts, %v; the callback must record none", len(atts), err)
			}
			c.complete(t, id)
		})
	}
	if c.obs.get("callback/new_events/ok") != 1 || c.obs.get("callback/new_events/refused") != 3 {
		t.Errorf("callback counts %v", c.obs.counts)
	}

	t.Run("unknown submission and decided case change nothing", func(t *testing.T) {
		sub, id := c.send(t, "other")
		other := sub
		other.ID = "9f0e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
		w := httptest.NewRecorder()
		c.handler.ServeHTTP(w, newEventsRequest(t, eventsSecret, time.Now(), other))
		if w.Code != http.StatusOK || c.due(t) {
			t.Fatalf("status %d, due %v; want 200 and nothing due", w.Code, c.due(t))
		}
		// The case decided (delivered): a late callback leaves it so.
		if _, err := c.store.MakeDue(context.Background(), c.topic, id); err != nil {
			t.Fatal(err)
		}
		c.claimed(t, id)
		now := time.Now()
		if err := c.store.Complete(context.Background(), outbox.Completion{Topic: c.topic, ID: id, Owner: "relay",
			Outcome: outbox.OutcomeDelivered, StartedAt: now, FinishedAt: now}); err != nil {
			t.Fatal(err)
		}
		w = httptest.NewRecorder()
		c.handler.ServeHTTP(w, newEventsRequest(t, eventsSecret, time.Now(), sub))
		if m, err := c.store.Message(context.Background(), id); w.Code != http.StatusOK || err != nil || m.State != outbox.StateDelivered {
			t.Fatalf("status %d, message %s, %v", w.Code, m.State, err)
		}
	})
}

// TestNewEventsWhileLeased: a callback that arrives while the event log
// is being read (the case message leased) makes the message due once that
// look is recorded, since the look may have missed the new event.
func TestNewEventsWhileLeased(t *testing.T) {
	c := newCaseEnv(t, 5*time.Second)
	sub, id := c.send(t, "leased")
	// The relay looks again (leased), the callback arrives meanwhile.
	if _, err := c.store.MakeDue(context.Background(), c.topic, id); err != nil {
		t.Fatal(err)
	}
	c.claimed(t, id)
	done := make(chan int)
	req := newEventsRequest(t, eventsSecret, time.Now(), sub)
	go func() {
		w := httptest.NewRecorder()
		c.handler.ServeHTTP(w, req)
		done <- w.Code
	}()
	time.Sleep(300 * time.Millisecond)
	c.complete(t, id) // the look found nothing: next in an hour
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("callback did not finish")
	}
	if !c.due(t) {
		t.Fatal("the case message is not due after the callback that waited for the lease")
	}
}

// TestNewEventsFromFake: the sender registers its callback with each
// submission; the fake posts NewEvents on the recipient's accept, and the
// case message becomes due at once.
func TestNewEventsFromFake(t *testing.T) {
	c := newCaseEnv(t, 0)
	sub, _ := c.send(t, "fake")
	if rec, _ := c.fake.Submission(sub.ID); rec.SenderCallbackURL == "" || rec.SenderCallbackSecret != eventsSecret {
		t.Fatalf("callback not registered with the submission: %q", rec.SenderCallbackURL)
	}
	if err := c.fake.Decide(sub.ID, fitconnect.EventAcceptSubmission, c.recipient.Signing, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !c.due(t) {
		if time.Now().After(deadline) {
			t.Fatalf("case message not due after the fake's callback; callback errors %v", c.fake.CallbackErrors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if errs := c.fake.CallbackErrors(); len(errs) != 0 {
		t.Errorf("callback errors %v", errs)
	}
}
