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
