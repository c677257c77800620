package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"time"
)

// FitConnect configures FIT-Connect (FITKO): the Zustellpunkte Amtsbote
// subscribes to for its municipalities, and the listener of the
// Zustelldienst's callbacks. Destinations of type fitconnect are
// configured with the routes (FitConnectDestination).
type FitConnect struct {
	// CallbackListen is the TCP address of the listener of callbacks:
	// POST /fitconnect/callbacks/<subscriber id> (NewSubmissions) and
	// POST /fitconnect/events/<tenant>/<procedure>/<destination> (NewEvents
	// of a fitconnect destination with a callback URL). Empty: no
	// listener; the subscribers and destinations poll only.
	CallbackListen string `yaml:"callback_listen"`
	// Subscribers are the Zustellpunkte picked up from, one per
	// municipality and destination.
	Subscribers []FitConnectSubscriber `yaml:"subscribers"`
}

// FitConnectSubscriber is one Zustellpunkt (destination) of a
// municipality that Amtsbote receives submissions from.
type FitConnectSubscriber struct {
	// ID names the subscriber in logs, metrics and the callback path;
	// submissions of it have the portal id "fitconnect:<ID>".
	ID string `yaml:"id"`
	// Tenant is the configured tenant the submissions belong to.
	Tenant string `yaml:"tenant"`
	// DestinationID is the FIT-Connect destination id (a UUID).
	DestinationID string `yaml:"destination_id"`
	// SubmissionAPI is the base URL of the Submission API (without /v1).
	SubmissionAPI string `yaml:"submission_api"`
	// TokenURL, ClientID and ClientSecret are the OAuth2 client
	// credentials of the API client (subscribe:destination scope).
	TokenURL     string `yaml:"token_url"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	// DecryptionKey is the destination's private key (JWK, RSA-OAEP-256).
	DecryptionKey Secret `yaml:"decryption_key"`
	// PreviousDecryptionKey is the destination's former private key during
	// a key rotation: submissions encrypted for it are still decrypted.
	// Remove it once none of them waits.
	PreviousDecryptionKey Secret `yaml:"previous_decryption_key"`
	// SigningKey is Amtsbote's private key (JWK, PS512) that signs the
	// accept and reject events; its public half is registered with the
	// destination.
	SigningKey Secret `yaml:"signing_key"`
	// CallbackSecret authenticates the NewSubmissions callbacks; empty:
	// callbacks of this subscriber are refused.
	CallbackSecret Secret `yaml:"callback_secret"`
	// PollInterval is the time between polls. Default 1m.
	PollInterval Duration `yaml:"poll_interval"`
	// Concurrency is how many submissions are picked up at once. Default 4.
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds one request to the Zustelldienst. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// Services maps the services (LeiKa URNs) to procedures.
	Services []FitConnectService `yaml:"services"`
	// Retry is the retry policy of posting the events.
	Retry RetryPolicy `yaml:"retry"`
	// IdentityToken, when set, verifies the identity provider's token that
	// the sender puts into the metadata's authenticationInformation (type
	// identificationReport), as a portal's identity_token.
	IdentityToken *IdentityToken `yaml:"identity_token"`
}

// FitConnectService maps a Verwaltungsleistung to a procedure.
type FitConnectService struct {
	// Leika is the service's URN, e.g. urn:de:fim:leika:leistung:99010003001006.
	Leika string `yaml:"leika"`
	// Procedure is a configured procedure the tenant routes.
	Procedure string `yaml:"procedure"`
}

// FitConnectDestination holds the settings of a destination of type
// fitconnect: submissions are sent to a FIT-Connect destination.
type FitConnectDestination struct {
	// SubmissionAPI, TokenURL, ClientID and ClientSecret: as for a
	// subscriber, with a sender's client (send scope).
	SubmissionAPI string `yaml:"submission_api"`
	TokenURL      string `yaml:"token_url"`
	ClientID      string `yaml:"client_id"`
	ClientSecret  Secret `yaml:"client_secret"`
	// DestinationID is the receiving destination; empty: RoutingAPI finds
	// it by Service and ARS.
	DestinationID string `yaml:"destination_id"`
	RoutingAPI    string `yaml:"routing_api"`
	ARS           string `yaml:"ars"`
	// Service is the LeiKa URN of the submissions, ServiceName its name.
	Service     string `yaml:"service"`
	ServiceName string `yaml:"service_name"`
	// SchemaURI names the schema of the XML in the metadata; default
	// urn:amtsbote:fitconnect:xoev.
	SchemaURI string `yaml:"schema_uri"`
	// EventPollInterval is the longest wait between two looks at a sent
	// submission's event log. Default 5m.
	EventPollInterval Duration `yaml:"event_poll_interval"`
	// Timeout bounds one request. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// CallbackURL is the public HTTPS address at which the Zustelldienst
	// reaches this destination's NewEvents callbacks: the reverse proxy
	// forwards it to POST /fitconnect/events/<tenant>/<procedure>/<destination>
	// on fitconnect.callback_listen. It is registered with each submission
	// sent; a callback makes Amtsbote read the case's event log at once.
	// Empty: no callbacks; the event log is polled only.
	CallbackURL string `yaml:"callback_url"`
	// CallbackSecret authenticates the NewEvents callbacks (HMAC); 32 to
	// 512 characters, required with CallbackURL.
	CallbackSecret Secret `yaml:"callback_secret"`
}

// Bounds of a FIT-Connect callback secret (Submission API CreateCallback).
const (
	MinFitConnectCallbackSecret = 32
	MaxFitConnectCallbackSecret = 512
)

// Defaults of FIT-Connect.
const (
	DefaultFitConnectPollInterval      = time.Minute
	DefaultFitConnectEventPollInterval = 5 * time.Minute
	DefaultFitConnectTimeout           = 30 * time.Second
	DefaultFitConnectConcurrency       = 4
)

var (
	leikaURN = regexp.MustCompile(`^urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,.:=@;$_!*'%/?#-]+$`)
	uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	arsForm  = regexp.MustCompile(`^[0-9]{1,12}$`)
)

func (f *FitConnect) applyDefaults() {
	for i := range f.Subscribers {
		s := &f.Subscribers[i]
		setDefault(&s.PollInterval.Duration, DefaultFitConnectPollInterval)
		setDefault(&s.Concurrency, DefaultFitConnectConcurrency)
		setDefault(&s.Timeout.Duration, DefaultFitConnectTimeout)
		s.Retry = s.Retry.WithDefaults()
	}
}

func (d *FitConnectDestination) applyDefaults() {
	setDefault(&d.EventPollInterval.Duration, DefaultFitConnectEventPollInterval)
	setDefault(&d.Timeout.Duration, DefaultFitConnectTimeout)
}

// validateFitConnect checks the subscribers against the tenants and their
// routes. The keys themselves are parsed by the command (check-config,
// serve), which knows JWKs.
func (c *Config) validateFitConnect(v *validator) {
	f := &c.FitConnect
	if f.CallbackListen != "" {
		if _, _, err := net.SplitHostPort(f.CallbackListen); err != nil {
			v.add("fitconnect.callback_listen", "must be host:port, got %q", f.CallbackListen)
		}
	}
	c.validateFitConnectCallbacks(v)
	seen := map[string]string{}
	dests := map[string]string{}
	for i := range f.Subscribers {
		s := &f.Subscribers[i]
		path := fmt.Sprintf("fitconnect.subscribers[%d]", i)
		if v.id(path+".id", s.ID) {
			v.unique(path+".id", s.ID, seen)
		}
		tenant, ok := c.Tenant(s.Tenant)
		if !ok {
			v.add(path+".tenant", "unknown tenant %q", s.Tenant)
		}
		if !uuidForm.MatchString(s.DestinationID) {
			v.add(path+".destination_id", "must be a UUID, got %q", s.DestinationID)
		} else {
			v.unique(path+".destination_id", s.DestinationID, dests)
		}
		fitconnectClient(path, s.SubmissionAPI, s.TokenURL, s.ClientID, s.ClientSecret, v)
		if s.DecryptionKey.Value() == "" {
			v.add(path+".decryption_key", "is required (the destination's private JWK)")
		}
		if s.SigningKey.Value() == "" {
			v.add(path+".signing_key", "is required (Amtsbote's private JWK for events)")
		}
		if s.CallbackSecret.Value() != "" && len(s.CallbackSecret.Value()) < MinFitConnectCallbackSecret {
			v.add(path+".callback_secret", "must have at least %d characters, as FIT-Connect requires", MinFitConnectCallbackSecret)
		}
		v.nonNegative(path+".poll_interval", s.PollInterval)
		if s.Concurrency < 0 || s.Concurrency > 64 {
			v.add(path+".concurrency", "must be between 0 (default %d) and 64, got %d", DefaultFitConnectConcurrency, s.Concurrency)
		}
		v.nonNegative(path+".timeout", s.Timeout)
		s.Retry.validate(path+".retry", v)
		if s.IdentityToken != nil {
			s.IdentityToken.validate(path+".identity_token", v)
		}
		if len(s.Services) == 0 {
			v.add(path+".services", "at least one service is required")
		}
		leikas := map[string]string{}
		for j, svc := range s.Services {
			sp := fmt.Sprintf("%s.services[%d]", path, j)
			if !leikaURN.MatchString(svc.Leika) {
				v.add(sp+".leika", "must be a service URN like urn:de:fim:leika:leistung:99010003001006, got %q", svc.Leika)
			} else {
				v.unique(sp+".leika", svc.Leika, leikas)
			}
			if _, known := c.Procedure(svc.Procedure); !known {
				v.add(sp+".procedure", "unknown procedure %q", svc.Procedure)
			} else if ok {
				if _, routed := tenant.Route(svc.Procedure); !routed {
					v.add(sp+".procedure", "tenant %s does not route procedure %q", s.Tenant, svc.Procedure)
				}
			}
		}
	}
}

func (d *FitConnectDestination) validate(path string, v *validator) {
	fitconnectClient(path, d.SubmissionAPI, d.TokenURL, d.ClientID, d.ClientSecret, v)
	switch {
	case d.DestinationID != "" && !uuidForm.MatchString(d.DestinationID):
		v.add(path+".destination_id", "must be a UUID, got %q", d.DestinationID)
	case d.DestinationID == "" && (d.RoutingAPI == "" || d.ARS == ""):
		v.add(path+".destination_id", "is required unless routing_api and ars are set")
	}
	if d.RoutingAPI != "" {
		httpsURL(path+".routing_api", d.RoutingAPI, v)
	}
	if d.ARS != "" && !arsForm.MatchString(d.ARS) {
		v.add(path+".ars", "must be an Amtlicher Regionalschlüssel of 1 to 12 digits, got %q", d.ARS)
	}
	if !leikaURN.MatchString(d.Service) {
		v.add(path+".service", "must be a service URN like urn:de:fim:leika:leistung:99010003001006, got %q", d.Service)
	}
	v.nonNegative(path+".event_poll_interval", d.EventPollInterval)
	v.nonNegative(path+".timeout", d.Timeout)
	secret := d.CallbackSecret.Value()
	switch {
	case d.CallbackURL == "" && secret != "":
		v.add(path+".callback_url", "is required with callback_secret")
	case d.CallbackURL != "":
		httpsURL(path+".callback_url", d.CallbackURL, v)
		if secret == "" {
			v.add(path+".callback_secret", "is required with callback_url")
		}
	}
	if secret != "" && (len(secret) < MinFitConnectCallbackSecret || len(secret) > MaxFitConnectCallbackSecret) {
		v.add(path+".callback_secret", "must have %d to %d characters, as FIT-Connect requires", MinFitConnectCallbackSecret, MaxFitConnectCallbackSecret)
	}
}

// validateFitConnectCallbacks checks the NewEvents callbacks of the
// fitconnect destinations: each has its own URL, and the listener they
// reach is configured.
func (c *Config) validateFitConnectCallbacks(v *validator) {
	urls := map[string]string{}
	for ti, t := range c.Tenants {
		for ri, r := range t.Procedures {
			for di, d := range r.Destinations {
				if d.FitConnect == nil || d.FitConnect.CallbackURL == "" {
					continue
				}
				path := fmt.Sprintf("tenants[%d].procedures[%d].destinations[%d].fitconnect.callback_url", ti, ri, di)
				v.unique(path, d.FitConnect.CallbackURL, urls)
				if c.FitConnect.CallbackListen == "" {
					v.add(path, "needs fitconnect.callback_listen, the listener the callbacks reach")
				}
			}
		}
	}
}

func fitconnectClient(path, api, token, clientID string, secret Secret, v *validator) {
	httpsURL(path+".submission_api", api, v)
	httpsURL(path+".token_url", token, v)
	if clientID == "" {
		v.add(path+".client_id", "is required")
	}
	if secret.Value() == "" {
		v.add(path+".client_secret", "is required")
	}
}

// httpsURL checks an http(s) URL without credentials; plain http is
// allowed for local fakes and proxies.
func httpsURL(path, s string, v *validator) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		v.add(path, "is required")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		v.add(path, "must be an https URL, got %q", s)
	case u.User != nil:
		v.add(path, "must not contain credentials")
	}
}
