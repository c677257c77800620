package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func notifyConfig() *Config {
	cfg := validConfig()
	cfg.Mail = Mail{Host: "smtp.musterstadt.example", From: "Amtsbote <amtsbote@musterstadt.example>",
		Username: "amtsbote", Password: NewSecret("pw")}
	cfg.Tenants[0].Procedures[1].Notify = RouteNotify{Office: true, After: []string{"bauamt"},
		Link: "https://fv.musterstadt.example/vorgang/{{.SubmissionID}}"}
	cfg.Procedures[1].Mail = ProcedureMail{Subject: "Neuer Bauantrag {{.SubmissionID}}", Body: "{{.ProcedureName}} {{.Link}}"}
	cfg.Portals[0].Callback = &Callback{URL: "https://portal.example/hooks/amtsbote", Secret: NewSecret(strings.Repeat("s", 32))}
	return cfg
}

func TestValidateNotify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(c *Config)
		paths []string
	}{
		{"valid", func(*Config) {}, nil},
		{"office mail without mail server", func(c *Config) { c.Mail = Mail{} },
			[]string{"tenants[0].procedures[1].notify.office"}},
		{"mail settings without host", func(c *Config) { c.Mail.Host = "" },
			[]string{"mail.host", "tenants[0].procedures[1].notify.office"}},
		{"bad tls and from", func(c *Config) { c.Mail.TLS = "ssl"; c.Mail.From = "not an address" },
			[]string{"mail.tls", "mail.from"}},
		{"username without password", func(c *Config) { c.Mail.Password = Secret{} }, []string{"mail.password"}},
		{"host with port", func(c *Config) { c.Mail.Host = "smtp.example:587" }, []string{"mail.host"}},
		{"bad subject template", func(c *Config) { c.Procedures[1].Mail.Subject = "{{.SubmissionID" },
			[]string{"procedures[1].mail.subject"}},
		{"unknown template field", func(c *Config) { c.Procedures[1].Mail.Body = "{{.Familienname}}" },
			[]string{"procedures[1].mail.body"}},
		{"bad link template", func(c *Config) { c.Tenants[0].Procedures[1].Notify.Link = "{{.Applicant}}" },
			[]string{"tenants[0].procedures[1].notify.link"}},
		{"unknown after destination", func(c *Config) { c.Tenants[0].Procedures[1].Notify.After = []string{"nope"} },
			[]string{"tenants[0].procedures[1].notify.after[0]"}},
		{"settings without office", func(c *Config) { c.Tenants[0].Procedures[1].Notify.Office = false },
			[]string{"tenants[0].procedures[1].notify.office"}},
		{"no recipient", func(c *Config) { c.Tenants[0].Contacts.Office = "" },
			[]string{"tenants[0].procedures[1].notify.to"}},
		{"bad recipient", func(c *Config) { c.Tenants[0].Procedures[1].Notify.To = []string{"x"} },
			[]string{"tenants[0].procedures[1].notify.to[0]"}},
		{"callback without secret", func(c *Config) { c.Portals[0].Callback.Secret = Secret{} },
			[]string{"portals[0].callback.secret"}},
		{"callback short secret and bad url", func(c *Config) {
			c.Portals[0].Callback.Secret = NewSecret("short")
			c.Portals[0].Callback.URL = "ftp://portal.example/"
		}, []string{"portals[0].callback.url", "portals[0].callback.secret"}},
		{"negative alarm interval", func(c *Config) { c.Alarms.CheckInterval = dur(-1) }, []string{"alarms.check_interval"}},
		{"mail and callback delivery settings", func(c *Config) {
			c.Mail.Concurrency, c.Mail.Circuit, c.Mail.Retry = 8, Circuit{Threshold: 3, Pause: dur(time.Second)}, RetryPolicy{Multiplier: 3}
			c.Portals[0].Callback.Concurrency, c.Portals[0].Callback.Circuit = 4, Circuit{Threshold: -1}
		}, nil},
		{"bad mail and callback delivery settings", func(c *Config) {
			c.Mail.Concurrency, c.Mail.Circuit, c.Mail.Retry = -1, Circuit{Pause: dur(-1)}, RetryPolicy{Multiplier: 0.5}
			c.Portals[0].Callback.Concurrency, c.Portals[0].Callback.Circuit = -2, Circuit{MaxPause: dur(-1)}
		}, []string{"mail.retry.multiplier", "mail.concurrency", "mail.circuit",
			"portals[0].callback.concurrency", "portals[0].callback.circuit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := notifyConfig()
			tt.edit(cfg)
			err := cfg.Validate()
			if tt.paths == nil {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if got := problemPaths(t, err); !slices.Equal(got, tt.paths) {
				t.Errorf("problem paths = %v, want %v\n%v", got, tt.paths, err)
			}
		})
	}
}

func TestNotifyHelpers(t *testing.T) {
	t.Parallel()
	m := Mail{Host: "h", From: "Amtsbote <a@rathaus.example>"}
	if got := m.EffectivePort(); got != 587 {
		t.Errorf("default port = %d, want 587", got)
	}
	m.TLS = MailTLSImplicit
	if got := m.EffectivePort(); got != 465 {
		t.Errorf("tls port = %d, want 465", got)
	}
	if got := m.MessageIDDomain(); got != "rathaus.example" {
		t.Errorf("MessageIDDomain = %q", got)
	}
	r := Route{Destinations: []Destination{{ID: "eakte", Format: FormatXDOMEA}, {ID: "fv", Format: FormatXOEV}}}
	if got := r.AfterDestinations(); !slices.Equal(got, []string{"fv"}) {
		t.Errorf("AfterDestinations = %v, want [fv]", got)
	}
	for topic, want := range map[string]bool{
		OfficeMailTopic("musterstadt"): true, AlarmMailTopic("musterstadt"): true, CallbackTopic("portal"): true,
		Topic("musterstadt", "bau.baugenehmigung", "fv"): false,
	} {
		if got := IsNotificationTopic(topic); got != want {
			t.Errorf("IsNotificationTopic(%q) = %v", topic, got)
		}
	}
}
