package config

import (
	"path/filepath"
	"time"
)

// Defaults of Server and Relay.
const (
	defaultListen            = "127.0.0.1:8080"
	defaultMaxConns          = 16
	defaultReadHeaderTimeout = 5 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = 30 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultMaxBodyBytes      = 10 << 20 // 10 MiB
	defaultShutdownTimeout   = 30 * time.Second
	defaultDrainDelay        = time.Second
	defaultHTTPTimeout       = 30 * time.Second // as adapters/httppost.DefaultTimeout

	defaultLease        = 10 * time.Second
	defaultPollInterval = 5 * time.Second
	defaultConcurrency  = 4
)

// Defaults of AttachmentLimits.
const (
	// DefaultAttachmentMaxCount is the default of AttachmentLimits.MaxCount.
	DefaultAttachmentMaxCount = 20
	// DefaultAttachmentMaxBytes is the default of AttachmentLimits.MaxBytes.
	DefaultAttachmentMaxBytes = 5 << 20 // 5 MiB
)

// DefaultAttachmentMIMETypes returns the default of
// AttachmentLimits.MIMETypes, a new slice on every call.
func DefaultAttachmentMIMETypes() []string {
	return []string{"application/pdf", "image/jpeg", "image/png", "image/tiff"}
}

// WithDefaults returns l with every zero field set to its default. The
// MIMETypes of the result never share memory with the defaults of another call.
func (l AttachmentLimits) WithDefaults() AttachmentLimits {
	setDefault(&l.MaxCount, DefaultAttachmentMaxCount)
	setDefault(&l.MaxBytes, DefaultAttachmentMaxBytes)
	if len(l.MIMETypes) == 0 {
		l.MIMETypes = DefaultAttachmentMIMETypes()
	}
	return l
}

// ApplyDefaults sets every unset (zero) field that has a default, so the
// Config shows the effective values: Server and Relay settings, each
// destination's retry policy (RetryPolicy.WithDefaults) and concurrency
// (Relay.Concurrency), and each procedure's attachment limits
// (AttachmentLimits.WithDefaults). Set fields, also invalid ones, are left
// for Validate.
func (c *Config) ApplyDefaults() {
	s := &c.Server
	setDefault(&s.Listen, defaultListen)
	setDefault(&s.ReadHeaderTimeout.Duration, defaultReadHeaderTimeout)
	setDefault(&s.ReadTimeout.Duration, defaultReadTimeout)
	setDefault(&s.WriteTimeout.Duration, defaultWriteTimeout)
	setDefault(&s.IdleTimeout.Duration, defaultIdleTimeout)
	setDefault(&s.MaxBodyBytes, defaultMaxBodyBytes)
	setDefault(&s.ShutdownTimeout.Duration, defaultShutdownTimeout)
	if s.DrainDelay == nil {
		s.DrainDelay = &Duration{defaultDrainDelay}
	}

	c.Admin.applyDefaults()
	setDefault(&c.Database.MaxConns, defaultMaxConns)
	s.Intake.applyDefaults(s.MaxBodyBytes)
	setDefault(&c.Database.RequestTimeout.Duration, min(defaultRequestTimeout, s.WriteTimeout.Duration/2))
	setDefault(&c.Database.AcquireTimeout.Duration, min(defaultAcquireTimeout, c.Database.RequestTimeout.Duration))
	setDefault(&c.Database.StatementTimeout.Duration, defaultStatementTimeout)

	r := &c.Relay
	setDefault(&r.Lease.Duration, defaultLease)
	setDefault(&r.PollInterval.Duration, defaultPollInterval)
	setDefault(&r.Concurrency, defaultConcurrency)
	c.Retention.applyDefaults()
	c.FitConnect.applyDefaults()

	for i := range c.Procedures {
		c.Procedures[i].Attachments = c.Procedures[i].Attachments.WithDefaults()
	}

	for ti := range c.Tenants {
		for ri := range c.Tenants[ti].Procedures {
			dests := c.Tenants[ti].Procedures[ri].Destinations
			for di := range dests {
				dests[di].Retry = dests[di].Retry.WithDefaults()
				if dests[di].FitConnect != nil {
					dests[di].FitConnect.applyDefaults()
				}
				if dests[di].Answers != nil {
					dests[di].Answers.applyDefaults()
				}
				setDefault(&dests[di].Format, FormatXOEV)
				dests[di].Circuit = dests[di].Circuit.WithDefaults()
				if r.Concurrency > 0 { // a bad relay value is Validate's to report, once
					setDefault(&dests[di].Concurrency, r.Concurrency)
				}
			}
		}
	}
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Demo returns the built-in configuration `serve` uses without --config: the
// tenant "musterstadt" accepting Wohnungsgeberbestätigungen, Bauanträge and
// Gewerbeanmeldungen from "demo-portal" (API key hash portalKeyHash, see
// HashKey), dropping each procedure's XÖV message into dataDir/drop and filing
// Bauanträge and Gewerbeanmeldungen as xdomea ZIP containers into
// dataDir/eakte. Defaults are applied; it passes Validate when portalKeyHash
// is well-formed.
func Demo(dataDir string, portalKeyHash string) *Config {
	drop := filepath.Join(dataDir, "drop")
	fachverfahren := func(reader string) Destination {
		return Destination{ID: "fachverfahren", Type: "filedrop", Reader: reader, FileDrop: &FileDrop{Dir: drop}}
	}
	eakte := Destination{
		ID: "eakte", Type: "filedrop", Format: FormatXDOMEA,
		XDomea:   &XDomea{Creator: "amtsbote"},
		FileDrop: &FileDrop{Dir: filepath.Join(dataDir, "eakte")},
	}
	cfg := &Config{
		Procedures: []Procedure{
			{ID: "meldewesen.wohnungsgeberbestaetigung", Name: "Wohnungsgeberbestätigung (§ 19 BMG)"},
			{ID: "bau.baugenehmigung", Name: "Bauantrag (Baugenehmigung)"},
			{ID: "gewerbe.anmeldung", Name: "Gewerbeanmeldung"},
			{ID: "schule.schueleranmeldung", Name: "Schüler Online (Anmeldung an weiterführenden Schulen und Berufskollegs)"},
		},
		Tenants: []Tenant{{
			ID:   "musterstadt",
			Name: "Stadt Musterstadt",
			// Illustrative only: any 8-digit Amtlicher Gemeindeschlüssel
			// passes; this one does not claim to be Musterstadt's.
			AGS:              "09162000",
			Behoerdenkennung: "psw:09162000",
			Contacts: Contacts{
				Office:    "buergerbuero@musterstadt.example",
				Technical: "it@musterstadt.example",
			},
			Procedures: []Route{
				{Procedure: "meldewesen.wohnungsgeberbestaetigung", Destinations: []Destination{fachverfahren("psw:09162000-meldewesen")}},
				{Procedure: "bau.baugenehmigung", Destinations: []Destination{fachverfahren("psw:09162000-bauaufsicht"), eakte}},
				{Procedure: "gewerbe.anmeldung", Destinations: []Destination{fachverfahren("psw:09162000-gewerbe"), eakte}},
				{Procedure: "schule.schueleranmeldung", Destinations: []Destination{fachverfahren("psw:09162000-schulen")}},
			},
		}},
		Portals: []Portal{{
			ID:         "demo-portal",
			Name:       "Demo-Portal",
			KeyHash:    NewSecret(portalKeyHash),
			Tenants:    []string{"musterstadt"},
			Procedures: []string{"*"},
		}},
	}
	cfg.ApplyDefaults()
	return cfg
}
