package config

import (
	"strings"
	"testing"
)

func fitconnectConfig() *Config {
	cfg := validConfig()
	cfg.FitConnect = FitConnect{CallbackListen: "127.0.0.1:8091", Subscribers: []FitConnectSubscriber{{
		ID: "musterstadt", Tenant: "musterstadt", DestinationID: "879ee109-a690-4db8-ab32-424284184d7d",
		SubmissionAPI: "https://submission-api.example", TokenURL: "https://auth.example/token",
		ClientID: "client", ClientSecret: NewSecret("secret"), DecryptionKey: NewSecret("{}"), SigningKey: NewSecret("{}"),
		CallbackSecret: NewSecret(strings.Repeat("s", 32)),
		Services:       []FitConnectService{{Leika: "urn:de:fim:leika:leistung:99010003001006", Procedure: "bau.baugenehmigung"}},
	}}}
	cfg.Tenants[0].Procedures[1].Destinations = append(cfg.Tenants[0].Procedures[1].Destinations, Destination{
		ID: "landkreis", Type: "fitconnect", FitConnect: &FitConnectDestination{
			SubmissionAPI: "https://submission-api.example", TokenURL: "https://auth.example/token", ClientID: "sender",
			ClientSecret: NewSecret("secret"), RoutingAPI: "https://routing-api.example", ARS: "091620000000",
			Service: "urn:de:fim:leika:leistung:99010003001006"}})
	cfg.ApplyDefaults()
	return cfg
}

func TestFitConnectValid(t *testing.T) {
	t.Parallel()
	cfg := fitconnectConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.FitConnect.Subscribers[0].PollInterval.Duration; got != DefaultFitConnectPollInterval {
		t.Errorf("poll_interval default %v", got)
	}
	if got := cfg.Tenants[0].Procedures[1].Destinations[2].FitConnect.EventPollInterval.Duration; got != DefaultFitConnectEventPollInterval {
		t.Errorf("event_poll_interval default %v", got)
	}
}

func TestFitConnectDestinationCallbackValid(t *testing.T) {
	t.Parallel()
	cfg := fitconnectConfig()
	d := cfg.Tenants[0].Procedures[1].Destinations[2].FitConnect
	d.CallbackURL, d.CallbackSecret = "https://amtsbote.example/fitconnect/events/musterstadt/bau.baugenehmigung/landkreis", NewSecret(strings.Repeat("s", 512))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFitConnectValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		break_ func(c *Config)
		want   []string
	}{
		{"unknown tenant", func(c *Config) { c.FitConnect.Subscribers[0].Tenant = "x" }, []string{"fitconnect.subscribers[0].tenant: unknown tenant"}},
		{"destination id", func(c *Config) { c.FitConnect.Subscribers[0].DestinationID = "123" }, []string{"fitconnect.subscribers[0].destination_id: must be a UUID"}},
		{"urls and credentials", func(c *Config) {
			s := &c.FitConnect.Subscribers[0]
			s.SubmissionAPI, s.TokenURL, s.ClientID, s.ClientSecret = "ftp://x", "", "", Secret{}
		}, []string{".submission_api: must be an https URL", ".token_url: is required", ".client_id: is required", ".client_secret: is required"}},
		{"keys", func(c *Config) {
			c.FitConnect.Subscribers[0].DecryptionKey, c.FitConnect.Subscribers[0].SigningKey = Secret{}, Secret{}
		}, []string{".decryption_key: is required", ".signing_key: is required"}},
		{"short callback secret", func(c *Config) { c.FitConnect.Subscribers[0].CallbackSecret = NewSecret("short") }, []string{".callback_secret: must have at least 32"}},
		{"service", func(c *Config) {
			c.FitConnect.Subscribers[0].Services = append(c.FitConnect.Subscribers[0].Services,
				FitConnectService{Leika: "leika", Procedure: "x.y"},
				FitConnectService{Leika: "urn:de:fim:leika:leistung:1", Procedure: "gewerbe.gewerbeanmeldung"})
		}, []string{"services[1].leika: must be a service URN", "services[1].procedure: unknown procedure", "services[2].procedure: tenant musterstadt does not route"}},
		{"concurrency", func(c *Config) { c.FitConnect.Subscribers[0].Concurrency = 65 }, []string{".concurrency: must be between 0"}},
		{"no services", func(c *Config) { c.FitConnect.Subscribers[0].Services = nil }, []string{".services: at least one service is required"}},
		{"callback listen", func(c *Config) { c.FitConnect.CallbackListen = "8091" }, []string{"fitconnect.callback_listen: must be host:port"}},
		{"destination callback url without secret", func(c *Config) {
			c.Tenants[0].Procedures[1].Destinations[2].FitConnect.CallbackURL = "https://amtsbote.example/fitconnect/events/landkreis"
		}, []string{"destinations[2].fitconnect.callback_secret: is required with callback_url"}},
		{"destination callback secret without url, short", func(c *Config) {
			c.Tenants[0].Procedures[1].Destinations[2].FitConnect.CallbackSecret = NewSecret("short")
		}, []string{"destinations[2].fitconnect.callback_url: is required with callback_secret", "fitconnect.callback_secret: must have 32 to 512 characters"}},
		{"destination callback secret too long, bad url", func(c *Config) {
			d := c.Tenants[0].Procedures[1].Destinations[2].FitConnect
			d.CallbackURL, d.CallbackSecret = "amtsbote.example/cb", NewSecret(strings.Repeat("s", 513))
		}, []string{"fitconnect.callback_url: must be an https URL", "fitconnect.callback_secret: must have 32 to 512 characters"}},
		{"destination callback without listener", func(c *Config) {
			d := c.Tenants[0].Procedures[1].Destinations[2].FitConnect
			d.CallbackURL, d.CallbackSecret = "https://amtsbote.example/cb", NewSecret(strings.Repeat("s", 32))
			c.FitConnect.CallbackListen = ""
		}, []string{"fitconnect.callback_url: needs fitconnect.callback_listen"}},
		{"destination callback url twice", func(c *Config) {
			d := c.Tenants[0].Procedures[1].Destinations[2]
			d.ID = "landkreis2"
			c.Tenants[0].Procedures[1].Destinations = append(c.Tenants[0].Procedures[1].Destinations, d)
			for _, i := range []int{2, 3} {
				fc := *c.Tenants[0].Procedures[1].Destinations[i].FitConnect
				fc.CallbackURL, fc.CallbackSecret = "https://amtsbote.example/cb", NewSecret(strings.Repeat("s", 32))
				c.Tenants[0].Procedures[1].Destinations[i].FitConnect = &fc
			}
		}, []string{"destinations[3].fitconnect.callback_url: duplicate"}},
		{"destination without target", func(c *Config) {
			d := c.Tenants[0].Procedures[1].Destinations[2].FitConnect
			d.RoutingAPI, d.Service, d.ARS = "", "x", "DE1"
		}, []string{"destinations[2].fitconnect.destination_id: is required unless", "fitconnect.ars: must be an Amtlicher", "fitconnect.service: must be a service URN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := fitconnectConfig()
			tc.break_(cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems %q lack %q", err, w)
				}
			}
			if n := len(err.(*ValidationError).Problems); n != len(tc.want) {
				t.Errorf("%d problems, want %d: %v", n, len(tc.want), err)
			}
		})
	}
}
