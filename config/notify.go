package config

import (
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// Mail is the SMTP server notifications (office mails, alarms) are sent
// through. Mail is off while Host is empty.
type Mail struct {
	// Host is the SMTP server's host name; empty disables mail.
	Host string `yaml:"host"`
	// Port is the server's port. Default 587 with tls starttls, 465 with
	// tls, 25 with none.
	Port int `yaml:"port"`
	// TLS is how the connection is secured: "starttls" (default; the server
	// must offer STARTTLS), "tls" (implicit TLS, SMTPS) or "none".
	TLS string `yaml:"tls"`
	// CAFile is a PEM bundle of CAs to trust instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// Username and Password authenticate with SMTP AUTH (the strongest
	// mechanism the server offers); no AUTH when Username is empty.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// From is the sender address, e.g. "Amtsbote <amtsbote@musterstadt.example>". Required.
	From string `yaml:"from"`
	// HELO is the name Amtsbote greets the server with. Default the host name.
	HELO string `yaml:"helo"`
	// Domain is the right-hand side of the Message-IDs ("<message-id@domain>").
	// Default the domain of From.
	Domain string `yaml:"domain"`
	// Timeout bounds connecting and sending one mail. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// Retry is the retry policy of failed mails (each tenant's office and
	// alarm mail topics); zero fields use the destinations' defaults.
	Retry RetryPolicy `yaml:"retry"`
	// Concurrency is the number of mails in flight per topic. Default 2.
	Concurrency int `yaml:"concurrency"`
	// Circuit pauses mails while the server keeps failing; as a destination's.
	Circuit Circuit `yaml:"circuit"`
}

// DefaultNotificationConcurrency is the default of Mail.Concurrency and
// Callback.Concurrency.
const DefaultNotificationConcurrency = 2

// EffectiveConcurrency returns Concurrency or its default.
func (m *Mail) EffectiveConcurrency() int {
	if m.Concurrency > 0 {
		return m.Concurrency
	}
	return DefaultNotificationConcurrency
}

// Mail TLS modes.
const (
	MailTLSStartTLS = "starttls"
	MailTLSImplicit = "tls"
	MailTLSNone     = "none"
)

// DefaultMailTimeout is the default of Mail.Timeout.
const DefaultMailTimeout = 30 * time.Second

// Enabled reports whether a mail server is configured.
func (m Mail) Enabled() bool { return m.Host != "" }

// TLSMode returns TLS, or its default "starttls".
func (m Mail) TLSMode() string {
	if m.TLS == "" {
		return MailTLSStartTLS
	}
	return m.TLS
}

// EffectivePort returns Port, or the default of the TLS mode.
func (m Mail) EffectivePort() int {
	switch {
	case m.Port != 0:
		return m.Port
	case m.TLSMode() == MailTLSImplicit:
		return 465
	case m.TLSMode() == MailTLSNone:
		return 25
	}
	return 587
}

// MessageIDDomain returns Domain, or the domain of From.
func (m Mail) MessageIDDomain() string {
	if m.Domain != "" {
		return m.Domain
	}
	if a, err := mail.ParseAddress(m.From); err == nil {
		if _, domain, ok := strings.Cut(a.Address, "@"); ok {
			return domain
		}
	}
	return ""
}

// Alarms configures the alarm monitor, which mails a tenant's technical
// contact (tenants[].contacts.technical) when a destination's messages are
// dead or it has delivered nothing for StalledAfter while messages wait,
// and again when that clears. It runs while mail is configured.
type Alarms struct {
	// CheckInterval is how often the monitor looks. Default 1m.
	CheckInterval Duration `yaml:"check_interval"`
	// StalledAfter is how long a destination may deliver nothing while
	// messages wait before it counts as stalled. Default 30m.
	StalledAfter Duration `yaml:"stalled_after"`
}

// Defaults of Alarms.
const (
	DefaultAlarmCheckInterval = time.Minute
	DefaultAlarmStalledAfter  = 30 * time.Minute
)

// EffectiveCheckInterval returns CheckInterval or its default.
func (a Alarms) EffectiveCheckInterval() time.Duration {
	if a.CheckInterval.Duration > 0 {
		return a.CheckInterval.Duration
	}
	return DefaultAlarmCheckInterval
}

// EffectiveStalledAfter returns StalledAfter or its default.
func (a Alarms) EffectiveStalledAfter() time.Duration {
	if a.StalledAfter.Duration > 0 {
		return a.StalledAfter.Duration
	}
	return DefaultAlarmStalledAfter
}

// RouteNotify configures the office mail of a route: a mail to the office's
// Funktionspostfach once a submission has reached its Fachverfahren.
type RouteNotify struct {
	// Office sends the office mail. It needs mail and a recipient (To or
	// the tenant's contacts.office).
	Office bool `yaml:"office"`
	// After lists the destination ids whose delivery counts as "delivered
	// to the Fachverfahren"; the mail goes out when the first of them has
	// the submission. Default: the route's first destination whose format
	// is not xdomea (else its first destination).
	After []string `yaml:"after"`
	// Link is a text/template of a link into the Fachverfahren, e.g.
	// "https://fv.musterstadt.example/vorgang/{{.SubmissionID}}"; it sees
	// the fields of MailTemplateData but Link. Optional.
	Link string `yaml:"link"`
	// To replaces the tenant's contacts.office as recipients.
	To []string `yaml:"to"`
}

// AfterDestinations returns After, or the default destination of r.
func (r *Route) AfterDestinations() []string {
	if len(r.Notify.After) > 0 {
		return r.Notify.After
	}
	for _, d := range r.Destinations {
		if d.Format != FormatXDOMEA {
			return []string{d.ID}
		}
	}
	if len(r.Destinations) > 0 {
		return []string{r.Destinations[0].ID}
	}
	return nil
}

// OfficeRecipients returns the recipients of the route's office mail.
func (r *Route) OfficeRecipients(t *Tenant) []string {
	if len(r.Notify.To) > 0 {
		return r.Notify.To
	}
	if t.Contacts.Office != "" {
		return []string{t.Contacts.Office}
	}
	return nil
}

// ProcedureMail overrides the German default office mail of a procedure.
// Both are text/template texts over MailTemplateData; empty keeps the default.
type ProcedureMail struct {
	// Subject is the subject line; line breaks are removed.
	Subject string `yaml:"subject"`
	// Body is the plain-text body.
	Body string `yaml:"body"`
}

// MailTemplateData is what office mail templates (and the link template,
// without Link) see. It holds no personal data of the applicant by design:
// a template cannot reach any.
type MailTemplateData struct {
	SubmissionID  string    // the submission's id, the reference number portals and offices share
	Tenant        string    // tenant id
	TenantName    string    // e.g. "Stadt Musterstadt"
	Procedure     string    // procedure id
	ProcedureName string    // e.g. "Wohnungsgeberbestätigung (§ 19 BMG)"
	Destination   string    // the destination that received it
	DeliveredAt   time.Time // when it was delivered, in the configured time zone
	Link          string    // the rendered route link; empty when none is configured
}

// SampleMailTemplateData is the data templates are tried with by Validate.
func SampleMailTemplateData() MailTemplateData {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return MailTemplateData{
		SubmissionID: "00000000-0000-0000-0000-000000000000", Tenant: "musterstadt", TenantName: "Stadt Musterstadt",
		Procedure: "bau.baugenehmigung", ProcedureName: "Bauantrag", Destination: "fachverfahren",
		DeliveredAt: at, Link: "https://fv.example/1",
	}
}

// ParseMailTemplate parses a mail template as the notifier does: missing
// keys are errors.
func ParseMailTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Parse(text)
}

// template reports a template that does not parse or fails on sample data.
func (v *validator) template(path, text string) {
	if text == "" {
		return
	}
	t, err := ParseMailTemplate(path, text)
	if err == nil {
		err = t.Execute(io.Discard, SampleMailTemplateData())
	}
	if err != nil {
		v.add(path, "is not a valid template: %v", err)
	}
}

// Callback is a portal's status callback: Amtsbote POSTs a JSON event, signed
// with HMAC-SHA256, on every status change of the portal's submissions.
type Callback struct {
	// URL is the http(s) endpoint the events are posted to. Required.
	URL string `yaml:"url"`
	// Secret is the HMAC-SHA256 key, shared with the portal; at least 32 characters. Required.
	Secret Secret `yaml:"secret"`
	// Timeout bounds one request. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// Retry is the retry policy of failed callbacks; zero fields use the defaults.
	Retry RetryPolicy `yaml:"retry"`
	// Concurrency is the number of callbacks in flight. Default 2.
	Concurrency int `yaml:"concurrency"`
	// Circuit pauses callbacks while the portal's endpoint keeps failing; as
	// a destination's.
	Circuit Circuit `yaml:"circuit"`
}

// EffectiveConcurrency returns Concurrency or its default.
func (c *Callback) EffectiveConcurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return DefaultNotificationConcurrency
}

// DefaultCallbackTimeout is the default of Callback.Timeout.
const DefaultCallbackTimeout = 10 * time.Second

// MinCallbackSecretLength is the shortest callback secret Validate accepts.
const MinCallbackSecretLength = 32

// EffectiveTimeout returns Timeout or its default.
func (c *Callback) EffectiveTimeout() time.Duration {
	if c.Timeout.Duration > 0 {
		return c.Timeout.Duration
	}
	return DefaultCallbackTimeout
}

// notifyTopicMark starts the notification part of a topic; no id may start with it.
const notifyTopicMark = "~"

// OfficeMailTopic is the outbox topic of a tenant's office mails.
func OfficeMailTopic(tenant string) string { return tenant + "/~mail/office" }

// AlarmMailTopic is the outbox topic of a tenant's alarm mails.
func AlarmMailTopic(tenant string) string { return tenant + "/~mail/alarm" }

// CallbackTopic is the outbox topic of a portal's status callbacks.
func CallbackTopic(portal string) string { return "~portal/" + portal + "/callback" }

// IsNotificationTopic reports whether topic carries notifications (mails,
// callbacks) rather than submissions: one of its parts starts with '~',
// which no id may.
func IsNotificationTopic(topic string) bool {
	for part := range strings.SplitSeq(topic, "/") {
		if strings.HasPrefix(part, notifyTopicMark) {
			return true
		}
	}
	return false
}

// validateNotify checks mail, alarms, route notifications, procedure mail
// templates and portal callbacks.
func (c *Config) validateNotify(v *validator) {
	m := &c.Mail
	if m.Enabled() {
		m.validate("mail", v)
	} else if m.From != "" || m.Username != "" || !m.Password.IsZero() || m.Port != 0 || m.TLS != "" {
		v.add("mail.host", "is required when mail is configured")
	}
	v.nonNegative("alarms.check_interval", c.Alarms.CheckInterval)
	v.nonNegative("alarms.stalled_after", c.Alarms.StalledAfter)

	for i, p := range c.Procedures {
		path := fmt.Sprintf("procedures[%d].mail", i)
		v.template(path+".subject", p.Mail.Subject)
		v.template(path+".body", p.Mail.Body)
	}
	for ti := range c.Tenants {
		t := &c.Tenants[ti]
		for ri := range t.Procedures {
			r := &t.Procedures[ri]
			path := fmt.Sprintf("tenants[%d].procedures[%d].notify", ti, ri)
			n := r.Notify
			if !n.Office && (len(n.After) > 0 || n.Link != "" || len(n.To) > 0) {
				v.add(path+".office", "must be true when after, link or to are set")
			}
			ids := map[string]bool{}
			for _, d := range r.Destinations {
				ids[d.ID] = true
			}
			for i, id := range n.After {
				if !ids[id] {
					v.add(fmt.Sprintf("%s.after[%d]", path, i), "unknown destination %q of this route", id)
				}
			}
			for i, to := range n.To {
				v.email(fmt.Sprintf("%s.to[%d]", path, i), to)
			}
			if n.Link != "" {
				v.template(path+".link", n.Link)
			}
			if !n.Office {
				continue
			}
			if !m.Enabled() {
				v.add(path+".office", "needs mail.host: office mails are sent over SMTP")
			}
			if len(r.OfficeRecipients(t)) == 0 {
				v.add(path+".to", "no recipient: set to or the tenant's contacts.office")
			}
		}
	}
	for i := range c.Portals {
		if cb := c.Portals[i].Callback; cb != nil {
			cb.validate(fmt.Sprintf("portals[%d].callback", i), v)
		}
	}
}

func (m *Mail) validate(path string, v *validator) {
	if strings.ContainsAny(m.Host, " \t\r\n/:@") && net.ParseIP(m.Host) == nil {
		v.add(path+".host", "must be a host name or IP address without port, got %q", m.Host)
	}
	if m.Port < 0 || m.Port > 65535 {
		v.add(path+".port", "must be between 1 and 65535, got %d", m.Port)
	}
	switch m.TLSMode() {
	case MailTLSStartTLS, MailTLSImplicit, MailTLSNone:
	default:
		v.add(path+".tls", "must be starttls, tls or none, got %q", m.TLS)
	}
	if m.TLSMode() == MailTLSNone && m.CAFile != "" {
		v.add(path+".ca_file", "not allowed with tls none")
	}
	if m.Username != "" && m.Password.IsZero() {
		v.add(path+".password", "is required with username")
	}
	if m.Username == "" && !m.Password.IsZero() {
		v.add(path+".username", "is required with password")
	}
	_, fromErr := mail.ParseAddress(m.From)
	if m.From == "" {
		v.add(path+".from", "is required")
	} else {
		v.email(path+".from", m.From)
	}
	if m.HELO != "" && strings.ContainsAny(m.HELO, " \t\r\n") {
		v.add(path+".helo", "must be a host name, got %q", m.HELO)
	}
	if m.Domain != "" && strings.ContainsAny(m.Domain, " \t\r\n<>@") {
		v.add(path+".domain", "must be a domain name, got %q", m.Domain)
	}
	if m.MessageIDDomain() == "" && fromErr == nil {
		v.add(path+".domain", "is required: from has no domain")
	}
	v.nonNegative(path+".timeout", m.Timeout)
	validateDelivery(path, m.Retry, m.Concurrency, m.Circuit, v)
}

// validateDelivery checks the retry, concurrency and circuit settings of a
// notification topic, as those of a destination.
func validateDelivery(path string, r RetryPolicy, concurrency int, c Circuit, v *validator) {
	r.validate(path+".retry", v)
	if concurrency < 0 {
		v.add(path+".concurrency", "must not be negative, got %d", concurrency)
	}
	if c.Pause.Duration < 0 || c.MaxPause.Duration < 0 {
		v.add(path+".circuit", "pauses must not be negative")
	}
}

func (c *Callback) validate(path string, v *validator) {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		v.add(path+".url", "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.add(path+".url", "must be an absolute http or https URL")
	case u.User != nil:
		v.add(path+".url", "must not contain credentials")
	}
	switch s := c.Secret.Value(); {
	case c.Secret.IsZero():
		v.add(path+".secret", "is required: callbacks are signed")
	case s != "" && len(s) < MinCallbackSecretLength:
		v.add(path+".secret", "must be at least %d characters", MinCallbackSecretLength)
	}
	v.nonNegative(path+".timeout", c.Timeout)
	validateDelivery(path, c.Retry, c.Concurrency, c.Circuit, v)
}
