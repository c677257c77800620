package config

import (
	"strings"
	"time"
)

// Config is the complete configuration of one Amtsbote process.
type Config struct {
	// Server configures the HTTP listener of the portal API.
	Server Server `yaml:"server"`
	// Admin configures the admin API (dead-letter management); disabled
	// unless admin.key_hash is set.
	Admin Admin `yaml:"admin"`
	// Metrics configures the listener of /metrics, /healthz and /readyz;
	// off unless metrics.listen is set.
	Metrics Metrics `yaml:"metrics"`
	// Database selects the outbox store: PostgreSQL or embedded SQLite.
	Database Database `yaml:"database"`
	// Relay configures delivery of outbox messages to destinations.
	Relay Relay `yaml:"relay"`
	// Retention configures the purge of delivered payloads.
	Retention Retention `yaml:"retention"`
	// Tenants are the municipalities (Gemeinden) Amtsbote delivers for.
	Tenants []Tenant `yaml:"tenants"`
	// Portals are the clients allowed to submit, each with its API key hash.
	Portals []Portal `yaml:"portals"`
	// Procedures are the Verwaltungsleistungen Amtsbote accepts; routes and
	// portals refer to them by ID.
	Procedures []Procedure `yaml:"procedures"`
	// Mail is the SMTP server of office mails and alarms; off without host.
	Mail Mail `yaml:"mail"`
	// Alarms configures the alarm mails to the tenants' technical contacts.
	Alarms Alarms `yaml:"alarms"`
	// FitConnect configures the FIT-Connect subscribers (Zustellpunkte of
	// the municipalities) and their callback listener.
	FitConnect FitConnect `yaml:"fitconnect"`
	// Include lists glob patterns of further files holding tenants,
	// portals and procedures (e.g. "conf.d/*.yaml", one per municipality),
	// relative to the directory of the main file; read by Load, in the
	// order of the patterns and, per pattern, of the file names.
	Include []string `yaml:"include"`
}

// Server configures the HTTP listener of the portal API.
type Server struct {
	// Listen is the TCP address to listen on, host:port. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// ReadHeaderTimeout bounds reading the request headers. Default 5s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading the whole request including the body.
	// Default 30s. A multipart upload is bounded by its progress instead:
	// each 64 KiB received give it another ReadTimeout.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing the response. Default 30s.
	WriteTimeout Duration `yaml:"write_timeout"`
	// IdleTimeout bounds how long a keep-alive connection may stay idle. Default 120s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxBodyBytes is the largest request body accepted, in bytes. Default 10 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownTimeout bounds each phase of the graceful shutdown: first
	// in-flight requests finish, then in-flight deliveries. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// DrainDelay is how long the listener stays open after SIGTERM, answering
	// new requests with 503 and Retry-After, so load balancers and portals see
	// the shutdown instead of refused connections. Default 1s; "0s" closes at once.
	DrainDelay *Duration `yaml:"drain_delay"`
	// TLS, when its cert_file is set, serves the portal API over HTTPS,
	// optionally verifying client certificates (see Portal.ClientCert).
	TLS ServerTLS `yaml:"tls"`
	// Intake shares the request bodies' memory and uploads among the
	// portals and cuts bodies that arrive too slowly.
	Intake Intake `yaml:"intake"`
}

// Database selects the outbox store.
type Database struct {
	// URL is a PostgreSQL connection URL (postgres://... or postgresql://...).
	// Empty selects the embedded SQLite store. The environment variable
	// AMTSBOTE_DATABASE_URL, when set and non-empty, overrides it.
	URL string `yaml:"url"`
	// Path is the SQLite database file. Empty lets the command derive it from
	// its --data-dir. Ignored when URL is set.
	Path string `yaml:"path"`
	// MaxConns bounds the PostgreSQL connection pool of the process (intake,
	// relay, listener). Default 16; a pool_max_conns in URL takes precedence.
	MaxConns int `yaml:"max_conns"`
	// Encryption seals payloads and personal metadata at rest (AES-256-GCM);
	// without it they are stored in clear.
	Encryption *Encryption `yaml:"encryption"`
	// RequestTimeout is the database time one portal request may take: the
	// submission's transaction (and each chunk of an upload staged), a
	// status read. After it the request is answered 503 with Retry-After.
	// SQLite's single writer waits at most this long for its lock. Default
	// 5s, at most half of Server.WriteTimeout; shorter than WriteTimeout.
	RequestTimeout Duration `yaml:"request_timeout"`
	// AcquireTimeout bounds the wait for a PostgreSQL pool connection (and
	// for a new connection to be set up). Default 3s; at most RequestTimeout.
	AcquireTimeout Duration `yaml:"acquire_timeout"`
	// StatementTimeout is PostgreSQL's statement_timeout of the pool's
	// sessions, and the deadline of every database call that has no shorter
	// one (relay, retention, admin API), on both stores. Default 30s.
	StatementTimeout Duration `yaml:"statement_timeout"`
}

// Relay configures delivery of outbox messages.
type Relay struct {
	// Lease is how long a claimed message stays leased to one relay without
	// a heartbeat: it is renewed every Lease/3 while the delivery runs, so a
	// process that dies is noticed, and its messages delivered again, within
	// about Lease. Default 10s.
	Lease Duration `yaml:"lease"`
	// PollInterval is the fallback poll for due messages, besides
	// notifications of new ones. Default 5s.
	PollInterval Duration `yaml:"poll_interval"`
	// Concurrency is the number of deliveries in flight per destination
	// unless the destination sets its own. Default 4.
	Concurrency int `yaml:"concurrency"`
}

// Tenant is one municipality (Gemeinde) and where its submissions go.
type Tenant struct {
	// ID identifies the tenant in routes, portals and outbox topics:
	// lower-case letters, digits and '-'.
	ID string `yaml:"id"`
	// Name is the display name, e.g. "Stadt Musterstadt".
	Name string `yaml:"name"`
	// AGS is the Amtlicher Gemeindeschlüssel: exactly 8 digits.
	AGS string `yaml:"ags"`
	// Behoerdenkennung identifies the sending office (Autor) in the
	// Nachrichtenkopf, e.g. the DVDV identifier "psw:01234567". Required.
	Behoerdenkennung string `yaml:"behoerdenkennung"`
	// Contacts are the tenant's contact addresses.
	Contacts Contacts `yaml:"contacts"`
	// Procedures routes each procedure the tenant accepts to its destinations.
	Procedures []Route `yaml:"procedures"`
}

// Contacts are a tenant's e-mail contacts; both are optional.
type Contacts struct {
	// Office is the Funktionspostfach of the responsible office.
	Office string `yaml:"office"`
	// Technical is the address for operational problems, e.g. dead letters.
	Technical string `yaml:"technical"`
}

// Route sends a tenant's submissions of one procedure to its destinations.
type Route struct {
	// Procedure is the ID of a configured Procedure.
	Procedure string `yaml:"procedure"`
	// Destinations receive every submission of the procedure; each is its
	// own outbox topic, so one failing destination does not delay the others.
	Destinations []Destination `yaml:"destinations"`
	// Notify configures the office mail of the route's submissions.
	Notify RouteNotify `yaml:"notify"`
}

// Destination is one receiver of a route's messages, delivered by the
// adapter named by Type with the settings block of the same name.
//
// Adding a destination type means adding a pointer field for its settings
// block here and one entry in Destination.settingsBlocks.
type Destination struct {
	// ID identifies the destination within its route: lower-case letters,
	// digits and '-'.
	ID string `yaml:"id"`
	// Type names the delivery adapter, one of DestinationTypes().
	Type string `yaml:"type"`
	// Reader identifies the receiving authority (Leser) in the Nachrichtenkopf,
	// e.g. its DVDV kennung; default the tenant's behoerdenkennung.
	Reader string `yaml:"reader"`
	// ReaderName is the receiving authority's name; default the tenant's name.
	ReaderName string `yaml:"reader_name"`
	// Retry is the retry policy of failed deliveries; zero fields use the defaults.
	Retry RetryPolicy `yaml:"retry"`
	// Concurrency is the number of deliveries in flight; 0 means Relay.Concurrency.
	Concurrency int `yaml:"concurrency"`
	// Ordered delivers strictly in FIFO order: a failing message blocks the
	// ones behind it until it is delivered or dead-lettered.
	Ordered bool `yaml:"ordered"`
	// Circuit pauses deliveries to a destination that keeps failing.
	Circuit Circuit `yaml:"circuit"`
	// Format is what the destination receives: "xoev" (default), the
	// procedure's XÖV message; or "xdomea", that message filed as the primary
	// document of an xdomea 3.0.0 message for the E-Akte.
	Format string `yaml:"format"`
	// XDomea holds the settings of format "xdomea"; required with it.
	XDomea *XDomea `yaml:"xdomea"`
	// FileDrop holds the settings of type "filedrop".
	FileDrop *FileDrop `yaml:"filedrop"`
	// HTTP holds the settings of type "http" (HTTP(S) POST, optionally SOAP).
	HTTP *HTTP `yaml:"http"`
	// AMQP holds the settings of type "amqp" (RabbitMQ exchange).
	AMQP *AMQP `yaml:"amqp"`
	// FitConnect holds the settings of type "fitconnect" (a FIT-Connect
	// destination).
	FitConnect *FitConnectDestination `yaml:"fitconnect"`
	// Answers, optional, receives the destination's answers (Eingangs-
	// bestätigung, Aktenzeichen, Bescheid, xdomea import confirmation)
	// over HTTP, a file inbox or AMQP.
	Answers *Answers `yaml:"answers"`
}

// Circuit configures a destination's circuit breaker: after Threshold failed
// attempts in a row, no deliveries for Pause, then one probe; a failed probe
// doubles the pause up to MaxPause. Zero values mean 5, 30s and 10m;
// a negative threshold disables the breaker.
type Circuit struct {
	Threshold int      `yaml:"threshold"`
	Pause     Duration `yaml:"pause"`
	MaxPause  Duration `yaml:"max_pause"`
}

// WithDefaults fills zero fields with the defaults.
func (c Circuit) WithDefaults() Circuit {
	setDefault(&c.Threshold, 5)
	setDefault(&c.Pause.Duration, 30*time.Second)
	setDefault(&c.MaxPause.Duration, 10*time.Minute)
	return c
}

// Destination formats.
const (
	FormatXOEV   = "xoev"
	FormatXDOMEA = "xdomea"
)

// XDomea configures filing into an E-Akte (DMS) with xdomea 3.0.0.
type XDomea struct {
	// Creator is the Erstellerkennung: the DMS user id under which Amtsbote files. Required.
	Creator string `yaml:"creator"`
	// Container is the DMS id of the Akte to file each submission's Vorgang
	// into (IDContainer); "{jahr}" in it stands for the year of receipt.
	// Empty: each message carries its Akte, described by Akte.
	Container string `yaml:"container"`
	// ReceiptRequested asks the DMS for an Empfangsbestätigung besides the import confirmation.
	ReceiptRequested bool `yaml:"receipt_requested"`
	// Ablageort is the directory (or http(s) URL) in which the DMS finds the
	// delivered containers, as the DMS sees it, e.g. \\dms01\import\bau.
	// Default for a filedrop destination: its directory of the tenant and
	// procedure, <filedrop.dir>/<tenant>/<procedure>; otherwise none.
	Ablageort string `yaml:"ablageort"`
	// Akte describes the Akte of the route's Vorgänge; nil means a yearly
	// Akte titled "<procedure name> <year>".
	Akte *XDomeaAkte `yaml:"akte"`
}

// XDomeaAkte describes the Akte into which an xdomea destination files one
// Vorgang per submission. "{jahr}" in any field stands for the four-digit
// year of receipt (Europe/Berlin) and makes the Akte a yearly one.
type XDomeaAkte struct {
	// Betreff is the Aktentitel, e.g. "Bauanträge {jahr}"; default
	// "<procedure name> {jahr}".
	Betreff string `yaml:"betreff"`
	// Aktenzeichen is the Kennzeichen of the Akte, e.g. "63.01.01-{jahr}"; optional.
	Aktenzeichen string `yaml:"aktenzeichen"`
	// Aktenplankennzeichen is the Kennzeichen of the Aktenplaneinheit, e.g. "63.01.01"; optional.
	Aktenplankennzeichen string `yaml:"aktenplankennzeichen"`
	// Typ is the kind of Akte, e.g. "Sammelakte" or "Bauakte"; optional.
	Typ string `yaml:"typ"`
}

// FileDrop writes each message as a file into a directory, for Fachverfahren
// that import from a shared folder.
type FileDrop struct {
	// Dir is the directory the files are written to.
	Dir string `yaml:"dir"`
}

// HTTP posts each message to a Fachverfahren's web service.
type HTTP struct {
	// URL is the http(s) endpoint. It comes only from configuration, never from requests.
	URL string `yaml:"url"`
	// SOAP wraps the message in a SOAP envelope: "" (plain XML body), "1.1" or "1.2".
	SOAP string `yaml:"soap"`
	// SOAPAction is sent as the SOAPAction header (1.1) or action parameter (1.2).
	SOAPAction string `yaml:"soap_action"`
	// Timeout bounds one request. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// Headers are extra request headers, e.g. a tenant header the receiver needs.
	Headers map[string]string `yaml:"headers"`
	// Auth authenticates Amtsbote to the receiver: basic or bearer, or none.
	Auth HTTPAuth `yaml:"auth"`
	// TLS configures the server's CA bundle and a client certificate (mTLS).
	TLS HTTPTLS `yaml:"tls"`
	// Attachments: how a message with attachments (a ZIP payload) is sent:
	// "multipart" (default: one multipart/related request) or "separate" (the
	// message, then one request per file).
	Attachments string `yaml:"attachments"`
}

// HTTPAuth is the credential of an HTTP destination; at most one of Basic and Bearer.
type HTTPAuth struct {
	Basic  *BasicAuth `yaml:"basic"`
	Bearer Secret     `yaml:"bearer"`
}

// BasicAuth is a user name and password for HTTP basic authentication.
type BasicAuth struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

// HTTPTLS configures TLS of an HTTP destination. Files are PEM.
type HTTPTLS struct {
	// CAFile is a bundle of CAs to trust instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mTLS; both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// AMQP publishes each message to a RabbitMQ exchange with publisher confirms.
type AMQP struct {
	// URL is the broker, amqp(s)://user:password@host:port/vhost; a Secret, as it holds a password.
	URL Secret `yaml:"url"`
	// Exchange is the exchange to publish to; it must exist (Amtsbote does not declare it).
	Exchange string `yaml:"exchange"`
	// RoutingKey is the routing key of every message.
	RoutingKey string `yaml:"routing_key"`
	// MaxMessageBytes bounds a message's body, which AMQP publishes whole:
	// a message with attachments is assembled in memory, and a larger one
	// fails permanently. It should not exceed the broker's
	// max_message_size. 0 means 128 MiB; at most 512 MiB.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
}

// Procedure is one Verwaltungsleistung Amtsbote accepts.
type Procedure struct {
	// ID names the procedure as "area.procedure", e.g.
	// "meldewesen.wohnungsgeberbestaetigung" or "bau.baugenehmigung"; it
	// selects the mapper in the transform registry.
	ID string `yaml:"id"`
	// Name is the display name, e.g. "Wohnungsgeberbestätigung (§ 19 BMG)".
	Name string `yaml:"name"`
	// Attachments limits the files a submission of this procedure may carry.
	Attachments AttachmentLimits `yaml:"attachments"`
	// Mail overrides the subject and body templates of the office mail.
	Mail ProcedureMail `yaml:"mail"`
	// Dir, optional, is the directory of a declarative procedure
	// (procedure.yaml, schema.json, mapping.yaml, examples/), relative to the
	// configuration file; its procedure.yaml must name ID. It replaces the
	// built-in mapper of ID, if there is one.
	Dir string `yaml:"dir"`
	// XSDPath lists directories, relative to the configuration file, in which
	// xmllint finds the files that the XSD of a declarative procedure imports
	// by name (such as the XÖV library's xoev-code.xsd), when its examples
	// are validated at startup and by check-config.
	XSDPath []string `yaml:"xsd_path"`
}

// AttachmentLimits bound the attachments (Anlagen) of one submission. Zero
// fields mean "use the default", see WithDefaults.
type AttachmentLimits struct {
	// MaxCount is the number of attachments allowed, at most
	// MaxAttachmentCount; 0 means the default 20 (so 0 cannot forbid
	// attachments).
	MaxCount int `yaml:"max_count"`
	// MaxBytes is the largest size of one attachment, decoded; 0 means the
	// default 5 MiB, at most MaxAttachmentBytes. Attachments sent as parts
	// of a multipart/form-data request are streamed and bounded by this
	// limit alone; sent base64 in a JSON body they are also bounded by
	// server.max_body_bytes, which must leave room for the base64 form (a
	// third larger) and the rest of the submission.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxTotalBytes is the largest size of all attachments of one
	// submission together, decoded; 0 means no limit beyond MaxCount
	// times MaxBytes.
	MaxTotalBytes int64 `yaml:"max_total_bytes"`
	// MIMETypes lists the media types accepted, as "type/subtype" without
	// parameters or wildcards, compared case-insensitively; empty means the
	// default application/pdf, image/jpeg, image/png, image/tiff.
	MIMETypes []string `yaml:"mime_types"`
}

// MaxAttachmentCount is the largest AttachmentLimits.MaxCount Validate accepts.
const MaxAttachmentCount = 1000

// MaxAttachmentBytes is the largest AttachmentLimits.MaxBytes Validate accepts.
const MaxAttachmentBytes = 4 << 30 // 4 GiB

// Portal is a client allowed to submit: an online service portal, identified
// by its API key.
type Portal struct {
	// ID identifies the portal in logs and records: lower-case letters,
	// digits and '-'.
	ID string `yaml:"id"`
	// Name is the display name.
	Name string `yaml:"name"`
	// KeyHash is HashKey of the portal's API key: "sha256:" and 64 lower-case
	// hex digits. The key itself is never configured.
	KeyHash Secret `yaml:"key_hash"`
	// PreviousKey, optional, is the key KeyHash replaced, still accepted
	// until it expires, so that the portal can change over to the new key
	// without an outage.
	PreviousKey *PreviousKey `yaml:"previous_key"`
	// Tenants lists the tenant IDs the portal may submit for; "*" means all.
	Tenants []string `yaml:"tenants"`
	// Procedures lists the procedure IDs the portal may submit; "*" means all.
	Procedures []string `yaml:"procedures"`
	// Callback, optional, receives a signed JSON event on every status
	// change of the portal's submissions.
	Callback *Callback `yaml:"callback"`
	// ClientCert, when set, requires a verified TLS client certificate
	// matching it in addition to the API key (mTLS); it needs
	// server.tls.client_ca_file.
	ClientCert *ClientCert `yaml:"client_cert"`
	// RateLimit, when set, limits the portal's authenticated requests;
	// beyond it they are answered with 429 and Retry-After.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// IdentityToken, when set, verifies the applicant's identity from a
	// signed assertion of the identity provider sent with each submission.
	IdentityToken *IdentityToken `yaml:"identity_token"`
}

// wildcard in Portal.Tenants or Portal.Procedures allows every ID.
const wildcard = "*"

// Tenant returns the tenant with the given ID.
func (c *Config) Tenant(id string) (*Tenant, bool) {
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			return &c.Tenants[i], true
		}
	}
	return nil, false
}

// Portal returns the portal with the given ID.
func (c *Config) Portal(id string) (*Portal, bool) {
	for i := range c.Portals {
		if c.Portals[i].ID == id {
			return &c.Portals[i], true
		}
	}
	return nil, false
}

// Procedure returns the procedure with the given ID.
func (c *Config) Procedure(id string) (*Procedure, bool) {
	for i := range c.Procedures {
		if c.Procedures[i].ID == id {
			return &c.Procedures[i], true
		}
	}
	return nil, false
}

// Route returns the tenant's route for the given procedure ID.
func (t *Tenant) Route(procedure string) (*Route, bool) {
	for i := range t.Procedures {
		if t.Procedures[i].Procedure == procedure {
			return &t.Procedures[i], true
		}
	}
	return nil, false
}

// Allows reports whether the portal may submit the procedure for the tenant.
// It checks the portal's lists only; whether the tenant routes the procedure
// is Tenant.Route's question.
func (p *Portal) Allows(tenant, procedure string) bool {
	return listAllows(p.Tenants, tenant) && listAllows(p.Procedures, procedure)
}

func listAllows(list []string, id string) bool {
	if id == "" {
		return false
	}
	for _, s := range list {
		if s == wildcard || s == id {
			return true
		}
	}
	return false
}

// Topic returns the outbox topic of a destination: "tenant/procedure/destination".
func Topic(tenant, procedure, destination string) string {
	return strings.Join([]string{tenant, procedure, destination}, "/")
}
