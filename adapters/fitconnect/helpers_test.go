package fitconnect_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xbau"
	"github.com/amtsbote/amtsbote/transform/xmeld"
)

const (
	leikaBau   = "urn:de:fim:leika:leistung:99010003001006"
	leikaMeld  = "urn:de:fim:leika:leistung:99115004001000"
	leikaOther = "urn:de:fim:leika:leistung:99999999999999"
	destID     = "879ee109-a690-4db8-ab32-424284184d7d"
	clientID   = "amtsbote-musterstadt"
	secret     = "client-secret-0123456789"
)

// env is a fake Zustelldienst, a store, the intake and a subscriber.
type env struct {
	fake       *fitconnecttest.Fake
	srv        *httptest.Server
	keys       fitconnecttest.Keys
	store      *sqlite.Store
	sub        *fitconnect.Subscriber
	obs        *countingObserver
	cl         *fitconnect.Client
	newSub     func() (*fitconnect.Subscriber, error)
	newSubWith func(current, previous fitconnect.Key) (*fitconnect.Subscriber, error)
	// newSubIdentity is a subscriber of the Wohnungsgeberbestätigung that
	// verifies identity tokens with v.
	newSubIdentity func(v *idtoken.Verifier) (*fitconnect.Subscriber, error)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fake, err := fitconnecttest.New()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fitconnecttest.SharedKeys("musterstadt")
	if err != nil {
		t.Fatal(err)
	}
	fake.AddClient(clientID, secret)
	fake.AddDestination(fitconnecttest.Destination{ID: destID, EncryptionKey: keys.Encryption,
		SigningKeys: []fitconnect.Key{keys.Signing}, Services: []string{leikaBau, leikaMeld, leikaOther}, Regions: []string{"DE09162"}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := config.Demo(t.TempDir(), config.HashKey("test-key"))
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := transform.NewRegistry()
	xb, err := xbau.New()
	if err != nil {
		t.Fatal(err)
	}
	xm, err := xmeld.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(xbau.Procedure, xb); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(xmeld.Procedure, xm); err != nil {
		t.Fatal(err)
	}
	in, err := intake.New(intake.Config{Config: cfg, Store: st, Registry: reg,
		Product: transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := fitconnect.NewClient(fitconnect.ClientConfig{SubmissionAPI: srv.URL, TokenURL: srv.URL + "/token",
		ClientID: clientID, ClientSecret: secret, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	obs := &countingObserver{counts: map[string]int{}}
	sub, err := fitconnect.NewSubscriber(fitconnect.SubscriberConfig{ID: "musterstadt", Tenant: "musterstadt", DestinationID: destID,
		Client: cl, DecryptionKey: keys.Encryption, Services: map[string]string{leikaBau: xbau.Procedure, leikaMeld: xmeld.Procedure,
			leikaOther: "gewerbe.anmeldung-unrouted"},
		PollInterval: time.Hour, Intake: in, Store: st, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: fake, srv: srv, keys: keys, store: st, sub: sub, obs: obs, cl: cl}
	e.newSubWith = func(current, previous fitconnect.Key) (*fitconnect.Subscriber, error) {
		return fitconnect.NewSubscriber(fitconnect.SubscriberConfig{ID: "musterstadt", Tenant: "musterstadt", DestinationID: destID,
			Client: cl, DecryptionKey: current, PreviousDecryptionKey: previous, Services: map[string]string{leikaMeld: xmeld.Procedure},
			PollInterval: time.Hour, Intake: in, Store: st})
	}
	e.newSubIdentity = func(v *idtoken.Verifier) (*fitconnect.Subscriber, error) {
		return fitconnect.NewSubscriber(fitconnect.SubscriberConfig{ID: "musterstadt", Tenant: "musterstadt", DestinationID: destID,
			Client: cl, DecryptionKey: keys.Encryption, Services: map[string]string{leikaMeld: xmeld.Procedure},
			PollInterval: time.Hour, Intake: in, Store: st, Observer: obs, Identity: v})
	}
	e.newSub = func() (*fitconnect.Subscriber, error) {
		return fitconnect.NewSubscriber(fitconnect.SubscriberConfig{ID: "musterstadt", Tenant: "musterstadt", DestinationID: destID,
			Client: cl, DecryptionKey: keys.Encryption, Services: map[string]string{leikaMeld: xmeld.Procedure},
			PollInterval: time.Hour, Intake: in, Store: st})
	}
	return e
}

// secondSubscriber is another subscriber of the same destination and
// store, as a second process would run it.
func (e *env) secondSubscriber(t *testing.T) *fitconnect.Subscriber {
	t.Helper()
	s, err := e.newSub()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fachdaten reads a portal test submission and returns its Fachdaten
// (without tenant, procedure and attachments) and its attachments.
func fachdaten(t *testing.T, name string) ([]byte, []fitconnecttest.Attachment) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "submissions", name))
	if err != nil {
		t.Fatal(err)
	}
	fd, atts, err := fitconnecttest.FromPortalBody(raw)
	if err != nil {
		t.Fatal(err)
	}
	return fd, atts
}

// eventMessages returns the stored event messages of the subscriber.
func (e *env) eventMessages(t *testing.T) []outbox.Message {
	t.Helper()
	msgs, _, err := e.store.List(context.Background(), outbox.ListFilter{Tenant: "~fitconnect", Procedure: "musterstadt", Destination: "events", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// deliverEvents posts the stored event messages as the relay would.
func (e *env) deliverEvents(t *testing.T) {
	t.Helper()
	d, err := fitconnect.NewEventDeliverer(fitconnect.EventDelivererConfig{Client: e.cl, SigningKey: e.keys.Signing})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range e.eventMessages(t) {
		if err := d.Deliver(context.Background(), outbox.Delivery{MessageID: m.ID, Topic: m.Topic, Payload: m.Payload, Metadata: m.Metadata}); err != nil {
			t.Fatalf("deliver event %s: %v", m.ID, err)
		}
	}
}

type countingObserver struct {
	mu     sync.Mutex
	counts map[string]int
}

func (o *countingObserver) inc(k string) {
	o.mu.Lock()
	o.counts[k]++
	o.mu.Unlock()
}

// get returns a count; tests read counts after the subscriber is done.
func (o *countingObserver) get(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[k]
}

func (o *countingObserver) Polled(_ string, ok bool) {
	if ok {
		o.inc("poll_ok")
	} else {
		o.inc("poll_error")
	}
}
func (o *countingObserver) Fetched(string)                     { o.inc("fetched") }
func (o *countingObserver) Accepted(string)                    { o.inc("accepted") }
func (o *countingObserver) Rejected(_, problem string)         { o.inc("rejected/" + problem) }
func (o *countingObserver) Error(_, kind string)               { o.inc("error/" + kind) }
func (o *countingObserver) Waiting(string, int, time.Duration) {}
func (o *countingObserver) CaseEvent(_, event string)          { o.inc("case/" + event) }
func (o *countingObserver) Callback(_, callback string, ok bool) {
	if ok {
		o.inc("callback/" + callback + "/ok")
	} else {
		o.inc("callback/" + callback + "/refused")
	}
}
