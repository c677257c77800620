package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/config"
)

// restartOnly names exactly the top-level keys outside tenants, portals,
// procedures and include that changed.
func TestRestartOnly(t *testing.T) {
	t.Parallel()
	base := func() *config.Config {
		cfg := config.Demo(t.TempDir(), config.HashKey("k"))
		cfg.ApplyDefaults()
		return cfg
	}
	old := base()
	next := base()
	next.Tenants[0].Name = "Stadt Neustadt"
	next.Portals = append(next.Portals, next.Portals[0])
	next.Include = []string{"conf.d/*.yaml"}
	next.Server.TLS = old.Server.TLS
	next.Database = old.Database
	for i := range next.Tenants[0].Procedures { // the demo's drop dirs are per TempDir
		next.Tenants[0].Procedures[i] = old.Tenants[0].Procedures[i]
	}
	if got := restartOnly(old, next); len(got) != 0 {
		t.Fatalf("reloadable changes refused: %v", got)
	}
	next.Server.Listen = "127.0.0.1:9999"
	next.Relay.Concurrency++
	got := restartOnly(old, next)
	var keys []string
	for _, r := range got {
		key, _, _ := strings.Cut(r, ":")
		keys = append(keys, key)
	}
	if !slices.Equal(keys, []string{"server", "relay"}) {
		t.Fatalf("restart-only changes = %v, want server and relay", got)
	}
}

// A fitconnect destination added, changed or removed needs a restart.
func TestFitconnectChanges(t *testing.T) {
	t.Parallel()
	cfg := func(url string) *config.Config {
		c := &config.Config{Tenants: []config.Tenant{{ID: "a", Procedures: []config.Route{{Procedure: "p.q",
			Destinations: []config.Destination{{ID: "fv", Type: "filedrop"}}}}}}}
		if url != "" {
			c.Tenants[0].Procedures[0].Destinations = append(c.Tenants[0].Procedures[0].Destinations,
				config.Destination{ID: "fit", Type: destinationTypeFitConnect, Reader: url})
		}
		return c
	}
	for _, c := range []struct {
		name      string
		old, next *config.Config
		want      string
	}{
		{"unchanged", cfg("x"), cfg("x"), ""},
		{"added", cfg(""), cfg("x"), "a/p.q/fit: added or changed"},
		{"changed", cfg("x"), cfg("y"), "a/p.q/fit: added or changed"},
		{"removed", cfg("x"), cfg(""), "a/p.q/fit: removed"},
	} {
		got := strings.Join(fitconnectChanges(c.old, c.next), "\n")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// An answer inbox or AMQP queue added, changed or removed needs a restart;
// the HTTP channel's settings and other destinations' do not.
func TestAnswerChannelChanges(t *testing.T) {
	t.Parallel()
	cfg := func(mutate func(a *config.Answers)) *config.Config {
		a := &config.Answers{KeyHash: config.NewSecret(config.HashKey("k")),
			Inbox: &config.AnswerInbox{Dir: "/var/lib/amtsbote/answers", MaxBytes: 1 << 20},
			AMQP:  &config.AnswerAMQP{URL: config.NewSecret("amqp://u:p@mq/"), Queue: "antworten"}}
		if mutate != nil {
			mutate(a)
		}
		return &config.Config{Tenants: []config.Tenant{{ID: "a", Procedures: []config.Route{{Procedure: "p.q",
			Destinations: []config.Destination{{ID: "fv", Type: "filedrop", Answers: a}, {ID: "dms", Type: "filedrop"}}}}}}}
	}
	for _, c := range []struct {
		name   string
		mutate func(a *config.Answers)
		want   []string
	}{
		{"unchanged", nil, nil},
		{"http key and limit", func(a *config.Answers) { a.KeyHash = config.NewSecret(config.HashKey("k2")); a.MaxBytes = 5 }, nil},
		{"inbox dir", func(a *config.Answers) { a.Inbox.Dir = "/srv/answers" }, []string{"a/p.q/fv: answers.inbox"}},
		{"inbox removed", func(a *config.Answers) { a.Inbox = nil }, []string{"a/p.q/fv: answers.inbox"}},
		{"amqp queue", func(a *config.Answers) { a.AMQP.Queue = "other" }, []string{"a/p.q/fv: answers.amqp"}},
		{"answers removed", func(a *config.Answers) { a.Inbox, a.AMQP = nil, nil }, []string{"a/p.q/fv: answers.inbox", "a/p.q/fv: answers.amqp"}},
	} {
		got := answerChannelChanges(cfg(nil), cfg(c.mutate))
		if len(got) != len(c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], "destination "+w) || !strings.Contains(got[i], "only with a restart") {
				t.Errorf("%s: %q, want %q", c.name, got[i], w)
			}
		}
	}
	// A new tenant with an inbox, too.
	next := cfg(nil)
	next.Tenants = append(next.Tenants, config.Tenant{ID: "b", Procedures: []config.Route{{Procedure: "p.q",
		Destinations: []config.Destination{{ID: "fv", Answers: &config.Answers{Inbox: &config.AnswerInbox{Dir: "/b"}}}}}}})
	if got := answerChannelChanges(cfg(nil), next); len(got) != 1 || !strings.Contains(got[0], "destination b/p.q/fv: answers.inbox") {
		t.Errorf("added tenant: %q", got)
	}
}
