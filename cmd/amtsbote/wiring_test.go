package main

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/amqp"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// TestAMQPMaxMessageBytesFromConfig builds the AMQP deliverer as serve does
// from a destination with amqp.max_message_bytes set, and checks that a
// bundle larger than that is refused as permanent, before any broker is
// needed: the setting reaches the deliverer.
func TestAMQPMaxMessageBytesFromConfig(t *testing.T) {
	tenant := &config.Tenant{ID: "musterstadt"}
	route := &config.Route{Procedure: "test.upload"}
	dest := &config.Destination{ID: "queue", Type: "amqp", AMQP: &config.AMQP{
		URL: config.NewSecret("amqp://guest:guest@127.0.0.1:1/"), Exchange: "fachverfahren", MaxMessageBytes: 1 << 20}}
	d, err := adapters["amqp"](tenant, route, dest, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m := adaptertest.StageBundle(t, adaptertest.SQLiteSource(t), 1, adaptertest.BundleFiles()...) // over 1 MiB
	err = d.Deliver(t.Context(), m.Delivery)
	if !errors.Is(err, amqp.ErrMessageTooLarge) || !errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("Deliver = %v, want a permanent ErrMessageTooLarge", err)
	}
}

// TestNotificationTopicsConfigurable: the mail and callback topics get the
// retry policy, concurrency and circuit of mail.* and callback.*, and the
// defaults where those are unset.
func TestNotificationTopicsConfigurable(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &config.Config{
		Mail: config.Mail{Host: "smtp.example", From: "a@rathaus.example", Concurrency: 7,
			Retry:   config.RetryPolicy{InitialInterval: config.Duration{Duration: time.Second}},
			Circuit: config.Circuit{Threshold: 9, Pause: config.Duration{Duration: 3 * time.Second}}},
		Tenants: []config.Tenant{{ID: "musterstadt", Contacts: config.Contacts{Technical: "it@rathaus.example"}}},
		Portals: []config.Portal{
			{ID: "a", Callback: &config.Callback{URL: "https://a.example/cb", Secret: config.NewSecret(strings.Repeat("s", 32)), Concurrency: 5}},
			{ID: "b", Callback: &config.Callback{URL: "https://b.example/cb", Secret: config.NewSecret(strings.Repeat("s", 32))}},
		},
	}
	routes := map[string]outbox.Route{}
	if _, err := setupNotifications(cfg, st, routes, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	alarm := routes[config.AlarmMailTopic("musterstadt")].Options
	if alarm.Concurrency != 7 || alarm.Breaker.Threshold != 9 || alarm.Breaker.Pause != 3*time.Second ||
		alarm.Policy.InitialInterval != time.Second {
		t.Errorf("alarm mail options %+v, want mail.* applied", alarm)
	}
	if a := routes[config.CallbackTopic("a")].Options; a.Concurrency != 5 || a.Breaker.Threshold != 5 {
		t.Errorf("callback a options %+v, want concurrency 5, the default circuit", a)
	}
	if b := routes[config.CallbackTopic("b")].Options; b.Concurrency != config.DefaultNotificationConcurrency {
		t.Errorf("callback b concurrency %d, want the default", b.Concurrency)
	}
}
