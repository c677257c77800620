package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAdminValidate(t *testing.T) {
	t.Parallel()
	adminHash := NewSecret(HashKey("admin-key"))
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // problem paths; nil means valid
	}{
		{"disabled by default", func(c *Config) {}, nil},
		{"disabled ignores listen", func(c *Config) { c.Admin.Listen = "nonsense" }, nil},
		{"enabled", func(c *Config) { c.Admin.KeyHash = adminHash }, nil},
		{"malformed hash", func(c *Config) { c.Admin.KeyHash = NewSecret("admin-key") }, []string{"admin.key_hash"}},
		{"portal's hash", func(c *Config) { c.Admin.KeyHash = NewSecret(HashKey("key-a")) }, []string{"admin.key_hash"}},
		{"portal's previous hash", func(c *Config) {
			c.Portals[0].PreviousKey = &PreviousKey{Hash: NewSecret(HashKey("old-key-a")), Expires: Timestamp{time.Now().Add(time.Hour)}}
			c.Admin.KeyHash = NewSecret(HashKey("old-key-a"))
		}, []string{"admin.key_hash"}},
		{"listen empty", func(c *Config) { c.Admin.KeyHash, c.Admin.Listen = adminHash, "" }, []string{"admin.listen"}},
		{"listen without port", func(c *Config) { c.Admin.KeyHash, c.Admin.Listen = adminHash, "localhost" }, []string{"admin.listen"}},
		{"listen as server", func(c *Config) { c.Admin.KeyHash, c.Admin.Listen = adminHash, c.Server.Listen }, []string{"admin.listen"}},
		{"operator only", func(c *Config) {
			c.Admin.Operators = []Operator{{ID: "it-muster", KeyHash: NewSecret(HashKey("op-key")), Tenants: []string{"musterstadt"}}}
		}, nil},
		{"operator problems", func(c *Config) {
			c.Admin.KeyHash = adminHash
			c.Admin.Operators = []Operator{
				{ID: "it-muster", KeyHash: adminHash, Tenants: []string{"musterstadt", "nirgendwo"}},
				{ID: "it-muster", KeyHash: NewSecret(HashKey("key-a"))},
				{ID: "Bad Id"},
			}
		}, []string{"admin.operators[0].key_hash", "admin.operators[0].tenants[1]",
			"admin.operators[1].id", "admin.operators[1].key_hash", "admin.operators[1].tenants",
			"admin.operators[2].id", "admin.operators[2].key_hash", "admin.operators[2].tenants"}},
		{"throttle and console", func(c *Config) {
			c.Admin.KeyHash = adminHash
			c.Admin.FailedKeyLimit = -1
			c.Admin.FailedKeyWindow = Duration{-time.Second}
			c.Admin.Console.IdleTimeout = Duration{-time.Second}
			c.Admin.Console.SessionLifetime = Duration{-time.Hour}
			c.Admin.TLS = ServerTLS{CertFile: "a.pem", KeyFile: "a.key", ClientCAFile: "ca.pem"}
		}, []string{"admin.failed_key_limit", "admin.failed_key_window", "admin.console.idle_timeout", "admin.console.session_lifetime", "admin.tls.client_ca_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			var got []string
			var verr *ValidationError
			if errors.As(err, &verr) {
				for _, p := range verr.Problems {
					got = append(got, p.Path)
					if strings.Contains(p.Message, "admin-key") {
						t.Errorf("problem shows the value: %s", p)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("problems %v, want %v (%v)", got, tt.want, err)
			}
		})
	}
}

func TestAdminDefaultsAndKey(t *testing.T) {
	t.Parallel()
	c := validConfig()
	if c.Admin.Listen != DefaultAdminListen || c.Admin.Enabled() {
		t.Fatalf("default admin = listen %q enabled %v", c.Admin.Listen, c.Admin.Enabled())
	}
	if c.Admin.KeyMatches("") || c.Admin.KeyMatches("anything") {
		t.Fatal("a disabled admin API matched a key")
	}
	c.Admin.KeyHash = NewSecret(HashKey("admin-key"))
	if !c.Admin.KeyMatches("admin-key") || c.Admin.KeyMatches("admin-key ") || c.Admin.KeyMatches("key-a") {
		t.Fatal("KeyMatches wrong")
	}
}

func TestAdminAuthenticate(t *testing.T) {
	t.Parallel()
	a := Admin{KeyHash: NewSecret(HashKey("admin-key")), Operators: []Operator{
		{ID: "op-a", KeyHash: NewSecret(HashKey("key-op-a")), Tenants: []string{"a"}},
		{ID: "op-b", KeyHash: NewSecret(HashKey("key-op-b")), Tenants: []string{"b"}},
	}}
	if op, full, ok := a.Authenticate("admin-key"); !ok || !full || op != nil {
		t.Fatalf("admin key: %v %v %v", op, full, ok)
	}
	if op, full, ok := a.Authenticate("key-op-b"); !ok || full || op == nil || op.ID != "op-b" {
		t.Fatalf("operator key: %v %v %v", op, full, ok)
	}
	for _, k := range []string{"", "key-op-b ", "admin"} {
		if op, full, ok := a.Authenticate(k); ok || full || op != nil {
			t.Fatalf("key %q: %v %v %v", k, op, full, ok)
		}
	}
	if (Admin{Operators: a.Operators}).KeyMatches("") {
		t.Fatal("empty key matched without an admin key")
	}
}

func TestParseAdmin(t *testing.T) {
	t.Parallel()
	hash := HashKey("admin-key")
	env := fullEnv()
	env["ADMIN_HASH"] = hash
	doc := append(readTestdata(t, "full.yaml"), "\nadmin:\n  listen: 127.0.0.1:9090\n  key_hash: {env: ADMIN_HASH}\n"...)
	cfg, err := Parse(doc, envOf(env), filesOf(fullFiles()))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if cfg.Admin.Listen != "127.0.0.1:9090" || cfg.Admin.KeyHash.Value() != hash || !cfg.Admin.KeyMatches("admin-key") {
		t.Fatalf("admin listen %q, key hash resolved %v", cfg.Admin.Listen, cfg.Admin.KeyHash.Value() == hash)
	}
}
