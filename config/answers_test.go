package config

import (
	"strings"
	"testing"
)

func answersConfig() *Config {
	cfg := validConfig()
	bau := cfg.Tenants[0].Procedures[1].Destinations
	bau[0].Answers = &Answers{
		KeyHash: NewSecret(HashKey("answers-bauamt")),
		Inbox:   &AnswerInbox{Dir: "/srv/answers/bau"},
	}
	bau[1].Answers = &Answers{AMQP: &AnswerAMQP{URL: NewSecret("amqp://u:p@mq:5672/"), Queue: "answers.archiv"}}
	cfg.ApplyDefaults()
	return cfg
}

func TestAnswersDefaultsAndLookup(t *testing.T) {
	t.Parallel()
	cfg := answersConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	a := cfg.Tenants[0].Procedures[1].Destinations[0].Answers
	if a.MaxBytes != DefaultAnswerMaxBytes || a.Inbox.MaxBytes != DefaultAnswerMaxBytes || a.Inbox.PollInterval.Duration != DefaultAnswerPollInterval {
		t.Errorf("defaults not applied: %+v %+v", a, a.Inbox)
	}
	if got := cfg.Tenants[0].Procedures[1].Destinations[1].Answers.AMQP.MaxBytes; got != DefaultAnswerMaxBytes {
		t.Errorf("amqp.max_bytes = %d", got)
	}
	if n := len(cfg.AnswerBindings()); n != 2 {
		t.Fatalf("AnswerBindings() has %d entries, want 2", n)
	}
	b, ok := cfg.AnswerBindingByKey("answers-bauamt")
	if !ok || b.Tenant != "musterstadt" || b.Procedure != "bau.baugenehmigung" || b.Destination != "bauamt" {
		t.Errorf("AnswerBindingByKey = %+v, %v", b, ok)
	}
	for _, key := range []string{"", "key-a", "answers-bauamt ", "wrong"} {
		if b, ok := cfg.AnswerBindingByKey(key); ok {
			t.Errorf("AnswerBindingByKey(%q) = %+v, want none", key, b)
		}
	}
}

func TestAnswersValidate(t *testing.T) {
	t.Parallel()
	const base = "tenants[0].procedures[1].destinations[0].answers"
	tests := []struct {
		name   string
		change func(c *Config, a *Answers)
		want   []string // path: message fragment
	}{
		{"no channel", func(_ *Config, a *Answers) { *a = Answers{MaxBytes: 1} },
			[]string{base + ": needs at least one channel"}},
		{"malformed key hash", func(_ *Config, a *Answers) { a.KeyHash = NewSecret("secret-key") },
			[]string{base + ".key_hash: must be \"sha256:\""}},
		{"portal's key", func(_ *Config, a *Answers) { a.KeyHash = NewSecret(HashKey("key-a")) },
			[]string{base + ".key_hash: same key hash as portals[0].key_hash"}},
		{"admin's key", func(c *Config, a *Answers) {
			c.Admin.KeyHash = NewSecret(HashKey("admin"))
			a.KeyHash = NewSecret(HashKey("admin"))
		}, []string{base + ".key_hash: same key hash as admin.key_hash"}},
		{"another destination's key", func(c *Config, a *Answers) {
			c.Tenants[0].Procedures[0].Destinations[0].Answers = &Answers{KeyHash: a.KeyHash, MaxBytes: 1}
		}, []string{base + ".key_hash: same key hash as tenants[0].procedures[0].destinations[0].answers.key_hash"}},
		{"client cert without CA, key or field", func(_ *Config, a *Answers) {
			a.KeyHash = Secret{}
			a.ClientCert = &ClientCert{SHA256Fingerprint: "zz"}
		}, []string{base + ".client_cert: needs key_hash", base + ".client_cert: needs server.tls.client_ca_file",
			base + ".client_cert.sha256_fingerprint: must be 64 hex digits"}},
		{"max bytes", func(_ *Config, a *Answers) { a.MaxBytes = MaxAnswerBytes + 1; a.Inbox.MaxBytes = -1 },
			[]string{base + ".max_bytes: must be between", base + ".inbox.max_bytes: must be between"}},
		{"inbox dir relative, poll negative", func(_ *Config, a *Answers) {
			a.Inbox.Dir = "answers"
			a.Inbox.PollInterval.Duration = -1
		}, []string{base + ".inbox.dir: must be an absolute path", base + ".inbox.poll_interval: must not be negative"}},
		{"inbox dir missing", func(_ *Config, a *Answers) { a.Inbox.Dir = "" }, []string{base + ".inbox.dir: is required"}},
		{"inbox dir shared", func(c *Config, a *Answers) {
			c.Tenants[0].Procedures[0].Destinations[0].Answers = &Answers{MaxBytes: 1, Inbox: &AnswerInbox{Dir: "/srv/answers/bau/", MaxBytes: 1}}
		}, []string{base + ".inbox.dir: duplicate"}},
		{"amqp", func(_ *Config, a *Answers) { a.AMQP = &AnswerAMQP{URL: NewSecret("http://mq"), MaxBytes: 1} },
			[]string{base + ".amqp.url: must be an amqp or amqps URL", base + ".amqp.queue: is required"}},
		{"amqp queue shared", func(_ *Config, a *Answers) {
			a.AMQP = &AnswerAMQP{URL: NewSecret("amqp://other:pw@mq:5672/"), Queue: "answers.archiv", MaxBytes: 1}
		}, []string{"tenants[0].procedures[1].destinations[1].answers.amqp.queue: duplicate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := answersConfig()
			tt.change(cfg, cfg.Tenants[0].Procedures[1].Destinations[0].Answers)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Validate() =\n%s\nwant a line with %q", msg, w)
				}
			}
			if strings.Contains(msg, "u:p@") || strings.Contains(msg, "other:pw") {
				t.Errorf("Validate() prints an AMQP password:\n%s", msg)
			}
		})
	}
}
