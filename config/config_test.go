package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// envOf returns a lookupEnv over m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// filesOf returns a readFile over m; other paths do not exist.
func filesOf(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		v, ok := m[name]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return []byte(v), nil
	}
}

var noEnv = envOf(nil)
var noFiles = filesOf(nil)

// problemPaths returns the paths of err's problems, failing the test if err
// is not a *ValidationError.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	if len(verr.Problems) == 0 {
		t.Fatal("ValidationError without problems")
	}
	paths := make([]string, len(verr.Problems))
	for i, p := range verr.Problems {
		paths[i] = p.Path
	}
	return paths
}

func dur(d time.Duration) Duration { return Duration{d} }

// validConfig is a valid configuration with defaults applied, for the
// validation cases to break one thing at a time. Procedure
// "gewerbe.gewerbeanmeldung" is referenced nowhere, so breaking it reports
// exactly one problem.
func validConfig() *Config {
	cfg := &Config{
		Procedures: []Procedure{
			{ID: "meldewesen.wohnungsgeberbestaetigung", Name: "Wohnungsgeberbestätigung"},
			{ID: "bau.baugenehmigung", Name: "Baugenehmigung"},
			{ID: "gewerbe.gewerbeanmeldung", Name: "Gewerbeanmeldung"},
		},
		Tenants: []Tenant{
			{
				ID: "musterstadt", Name: "Stadt Musterstadt", AGS: "09162000",
				Behoerdenkennung: "psw:09162000",
				Contacts:         Contacts{Office: "buergerbuero@musterstadt.example", Technical: "IT <it@musterstadt.example>"},
				Procedures: []Route{
					{Procedure: "meldewesen.wohnungsgeberbestaetigung", Destinations: []Destination{
						{ID: "fachverfahren", Type: "filedrop", Reader: "psw:09162000-meldewesen", FileDrop: &FileDrop{Dir: "/srv/drop/melde"}},
					}},
					{Procedure: "bau.baugenehmigung", Destinations: []Destination{
						{ID: "bauamt", Type: "filedrop", FileDrop: &FileDrop{Dir: "/srv/drop/bau"}},
						{ID: "archiv", Type: "filedrop", Ordered: true, FileDrop: &FileDrop{Dir: "/srv/drop/archiv"}},
					}},
				},
			},
			{ID: "beispielhausen", Name: "Gemeinde Beispielhausen", AGS: "03241001", Behoerdenkennung: "psw:03241001"},
		},
		Portals: []Portal{
			{ID: "buergerportal", KeyHash: NewSecret(HashKey("key-a")), Tenants: []string{"*"}, Procedures: []string{"*"}},
			{ID: "gewerbeportal", KeyHash: NewSecret(HashKey("key-b")), Tenants: []string{"beispielhausen"}, Procedures: []string{"bau.baugenehmigung"}},
		},
	}
	cfg.ApplyDefaults()
	return cfg
}

func TestValidConfigIsValid(t *testing.T) {
	t.Parallel()
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	const (
		t0  = "tenants[0]"
		r0  = "tenants[0].procedures[0]"
		r1  = "tenants[0].procedures[1]"
		d00 = "tenants[0].procedures[0].destinations[0]"
		d11 = "tenants[0].procedures[1].destinations[1]"
		a2  = "procedures[2].attachments"
	)
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // exact problem paths, in order; nil means valid
	}{
		// Server.
		{"listen empty", func(c *Config) { c.Server.Listen = "" }, []string{"server.listen"}},
		{"listen without port", func(c *Config) { c.Server.Listen = "localhost" }, []string{"server.listen"}},
		{"listen all interfaces", func(c *Config) { c.Server.Listen = ":8080" }, nil},
		{"read header timeout zero", func(c *Config) { c.Server.ReadHeaderTimeout = dur(0) }, []string{"server.read_header_timeout"}},
		{"read timeout negative", func(c *Config) { c.Server.ReadTimeout = dur(-time.Second) }, []string{"server.read_timeout"}},
		{"write timeout negative", func(c *Config) { c.Server.WriteTimeout = dur(-time.Second) }, []string{"server.write_timeout"}},
		{"idle timeout negative", func(c *Config) { c.Server.IdleTimeout = dur(-time.Second) }, []string{"server.idle_timeout"}},
		{"shutdown timeout zero", func(c *Config) { c.Server.ShutdownTimeout = dur(0) }, []string{"server.shutdown_timeout"}},
		{"drain delay negative", func(c *Config) { d := dur(-time.Second); c.Server.DrainDelay = &d }, []string{"server.drain_delay"}},
		{"drain delay zero", func(c *Config) { d := dur(0); c.Server.DrainDelay = &d }, nil},
		{"drain delay above shutdown timeout", func(c *Config) { d := dur(time.Hour); c.Server.DrainDelay = &d }, []string{"server.drain_delay"}},
		{"max body bytes zero", func(c *Config) { c.Server.MaxBodyBytes = 0 }, []string{"server.max_body_bytes"}},
		{"max body bytes negative", func(c *Config) { c.Server.MaxBodyBytes = -1 }, []string{"server.max_body_bytes"}},

		// Database.
		{"database postgres", func(c *Config) { c.Database.URL = "postgres://u:p@db:5432/amtsbote" }, nil},
		{"database postgresql", func(c *Config) { c.Database.URL = "postgresql://db/amtsbote?sslmode=disable" }, nil},
		{"database other scheme", func(c *Config) { c.Database.URL = "mysql://db/amtsbote" }, []string{"database.url"}},
		{"database no scheme", func(c *Config) { c.Database.URL = "db.internal:5432" }, []string{"database.url"}},
		{"database unparsable", func(c *Config) { c.Database.URL = "postgres://db/%zz" }, []string{"database.url"}},

		// Relay.
		{"lease zero", func(c *Config) { c.Relay.Lease = dur(0) }, []string{"relay.lease"}},
		{"lease below a second", func(c *Config) { c.Relay.Lease = dur(2 * time.Nanosecond) }, []string{"relay.lease"}},
		{"lease of a second", func(c *Config) { c.Relay.Lease = dur(time.Second) }, nil},
		{"poll interval negative", func(c *Config) { c.Relay.PollInterval = dur(-time.Second) }, []string{"relay.poll_interval"}},
		{"relay concurrency zero", func(c *Config) { c.Relay.Concurrency = 0 }, []string{"relay.concurrency"}},

		// Procedures.
		{"no procedures", func(c *Config) { c.Procedures = nil },
			[]string{"procedures", r0 + ".procedure", r1 + ".procedure", "portals[1].procedures[0]"}},
		{"procedure id empty", func(c *Config) { c.Procedures[2].ID = "" }, []string{"procedures[2].id"}},
		{"procedure id one segment", func(c *Config) { c.Procedures[2].ID = "gewerbe" }, []string{"procedures[2].id"}},
		{"procedure id upper case", func(c *Config) { c.Procedures[2].ID = "Gewerbe.Anmeldung" }, []string{"procedures[2].id"}},
		{"procedure id trailing dot", func(c *Config) { c.Procedures[2].ID = "gewerbe." }, []string{"procedures[2].id"}},
		{"procedure id leading dot", func(c *Config) { c.Procedures[2].ID = ".gewerbe" }, []string{"procedures[2].id"}},
		{"procedure id empty segment", func(c *Config) { c.Procedures[2].ID = "gewerbe..anmeldung" }, []string{"procedures[2].id"}},
		{"procedure id hyphen in area", func(c *Config) { c.Procedures[2].ID = "ge-werbe.anmeldung" }, []string{"procedures[2].id"}},
		{"procedure id slash", func(c *Config) { c.Procedures[2].ID = "gewerbe.an/meldung" }, []string{"procedures[2].id"}},
		{"procedure id hyphens and depth", func(c *Config) { c.Procedures[2].ID = "gewerbe.gewerbe-anmeldung.v2" }, nil},
		{"procedure id duplicate", func(c *Config) { c.Procedures[2].ID = c.Procedures[0].ID }, []string{"procedures[2].id"}},

		// Attachment limits.
		{"attachments zero after defaults", func(c *Config) { c.Procedures[2].Attachments = AttachmentLimits{}.WithDefaults() }, nil},
		{"attachments max count negative", func(c *Config) { c.Procedures[2].Attachments.MaxCount = -1 }, []string{a2 + ".max_count"}},
		{"attachments max count 1000", func(c *Config) { c.Procedures[2].Attachments.MaxCount = 1000 }, nil},
		{"attachments max count 1001", func(c *Config) { c.Procedures[2].Attachments.MaxCount = 1001 }, []string{a2 + ".max_count"}},
		{"attachments max count 0 before defaults", func(c *Config) { c.Procedures[2].Attachments.MaxCount = 0 }, nil},
		{"attachments max bytes zero", func(c *Config) { c.Procedures[2].Attachments.MaxBytes = 0 }, []string{a2 + ".max_bytes"}},
		{"attachments max bytes negative", func(c *Config) { c.Procedures[2].Attachments.MaxBytes = -1 }, []string{a2 + ".max_bytes"}},
		{"attachments max bytes above body limit (streamed as parts)", func(c *Config) { c.Procedures[2].Attachments.MaxBytes = c.Server.MaxBodyBytes + 1 }, nil},
		{"attachments max bytes at the limit", func(c *Config) { c.Procedures[2].Attachments.MaxBytes = MaxAttachmentBytes }, nil},
		{"attachments max bytes above the limit", func(c *Config) { c.Procedures[2].Attachments.MaxBytes = MaxAttachmentBytes + 1 }, []string{a2 + ".max_bytes"}},
		{"attachments max total bytes negative", func(c *Config) { c.Procedures[2].Attachments.MaxTotalBytes = -1 }, []string{a2 + ".max_total_bytes"}},
		{"attachments max total bytes set", func(c *Config) { c.Procedures[2].Attachments.MaxTotalBytes = 50 << 20 }, nil},
		{"attachments max bytes with invalid body limit", func(c *Config) { c.Server.MaxBodyBytes = -1 }, []string{"server.max_body_bytes"}},
		{"attachments mime types custom", func(c *Config) {
			c.Procedures[2].Attachments.MIMETypes = []string{"Application/PDF", "application/vnd.oasis.opendocument.text", "text/plain"}
		}, nil},
		{"attachments mime type with parameter", func(c *Config) {
			c.Procedures[2].Attachments.MIMETypes = []string{"application/pdf", "text/plain; charset=utf-8"}
		}, []string{a2 + ".mime_types[1]"}},
		{"attachments mime type with empty parameters", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{"text/plain;"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type without subtype", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{"pdf"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type empty subtype", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{"image/"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type two slashes", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{"image/png/x"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type wildcard", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{"image/*"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type all wildcard", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{"*/*"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type empty", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{""} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type padded", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{" image/png"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type space inside", func(c *Config) { c.Procedures[2].Attachments.MIMETypes = []string{"image/ png"} }, []string{a2 + ".mime_types[0]"}},
		{"attachments mime type duplicate", func(c *Config) {
			c.Procedures[2].Attachments.MIMETypes = []string{"image/png", "application/pdf", "IMAGE/PNG"}
		}, []string{a2 + ".mime_types[2]"}},
		{"attachments every problem", func(c *Config) {
			c.Procedures[0].Attachments = AttachmentLimits{MaxCount: 5000, MaxBytes: -5, MIMETypes: []string{"x"}}
		}, []string{"procedures[0].attachments.max_count", "procedures[0].attachments.max_bytes", "procedures[0].attachments.mime_types[0]"}},

		// Tenants.
		{"no tenants", func(c *Config) { c.Tenants = nil }, []string{"tenants", "portals[1].tenants[0]"}},
		{"tenant id empty", func(c *Config) { c.Tenants[0].ID = "" }, []string{t0 + ".id"}},
		{"tenant id upper case", func(c *Config) { c.Tenants[0].ID = "Musterstadt" }, []string{t0 + ".id"}},
		{"tenant id leading hyphen", func(c *Config) { c.Tenants[0].ID = "-musterstadt" }, []string{t0 + ".id"}},
		{"tenant id underscore", func(c *Config) { c.Tenants[0].ID = "muster_stadt" }, []string{t0 + ".id"}},
		{"tenant id duplicate", func(c *Config) { c.Tenants[1].ID = "musterstadt" },
			[]string{"tenants[1].id", "portals[1].tenants[0]"}},
		{"ags empty", func(c *Config) { c.Tenants[0].AGS = "" }, []string{t0 + ".ags"}},
		{"ags seven digits", func(c *Config) { c.Tenants[0].AGS = "0916200" }, []string{t0 + ".ags"}},
		{"ags nine digits", func(c *Config) { c.Tenants[0].AGS = "091620001" }, []string{t0 + ".ags"}},
		{"ags letter", func(c *Config) { c.Tenants[0].AGS = "0916200a" }, []string{t0 + ".ags"}},
		{"ags non-ascii digit", func(c *Config) { c.Tenants[0].AGS = "0916200٣" }, []string{t0 + ".ags"}},
		{"behoerdenkennung empty", func(c *Config) { c.Tenants[0].Behoerdenkennung = "" }, []string{t0 + ".behoerdenkennung"}},
		{"behoerdenkennung space", func(c *Config) { c.Tenants[0].Behoerdenkennung = "psw: 0916" }, []string{t0 + ".behoerdenkennung"}},
		{"contacts empty", func(c *Config) { c.Tenants[0].Contacts = Contacts{} }, nil},
		{"office not an address", func(c *Config) { c.Tenants[0].Contacts.Office = "Bürgerbüro" }, []string{t0 + ".contacts.office"}},
		{"technical not an address", func(c *Config) { c.Tenants[0].Contacts.Technical = "it@" }, []string{t0 + ".contacts.technical"}},

		// Routes.
		{"route procedure empty", func(c *Config) { c.Tenants[0].Procedures[0].Procedure = "" }, []string{r0 + ".procedure"}},
		{"route procedure unknown", func(c *Config) { c.Tenants[0].Procedures[0].Procedure = "meldewesen.anmeldung" }, []string{r0 + ".procedure"}},
		{"route procedure duplicate", func(c *Config) { c.Tenants[0].Procedures[1].Procedure = c.Tenants[0].Procedures[0].Procedure }, []string{r1 + ".procedure"}},
		{"same procedure in two tenants", func(c *Config) {
			c.Tenants[1].Procedures = []Route{{Procedure: "bau.baugenehmigung", Destinations: []Destination{{ID: "bauamt", Type: "filedrop", FileDrop: &FileDrop{Dir: "/b"}}}}}
		}, nil},
		{"route without destinations", func(c *Config) { c.Tenants[0].Procedures[0].Destinations = nil }, []string{r0 + ".destinations"}},

		// Destinations.
		{"destination id empty", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].ID = "" }, []string{d00 + ".id"}},
		{"destination id bad", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].ID = "Fach verfahren" }, []string{d00 + ".id"}},
		{"destination id duplicate", func(c *Config) { c.Tenants[0].Procedures[1].Destinations[1].ID = "bauamt" }, []string{d11 + ".id"}},
		{"destination id reused in other route", func(c *Config) { c.Tenants[0].Procedures[1].Destinations[1].ID = "fachverfahren" }, nil},
		{"type empty", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Type = "" }, []string{d00 + ".type"}},
		{"type unknown", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Type = "fildrop" }, []string{d00 + ".type"}},
		{"filedrop block missing", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].FileDrop = nil }, []string{d00 + ".filedrop"}},
		{"filedrop dir empty", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].FileDrop.Dir = "" }, []string{d00 + ".filedrop.dir"}},
		{"reader space", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Reader = "psw 1" }, []string{d00 + ".reader"}},
		{"http valid", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "http", nil
			d.HTTP = &HTTP{URL: "https://fv.example/api", SOAP: "1.2", SOAPAction: "urn:einreichen",
				Auth: HTTPAuth{Basic: &BasicAuth{Username: "u", Password: NewSecret("p")}}, TLS: HTTPTLS{CertFile: "c.pem", KeyFile: "k.pem"}}
		}, nil},
		{"http invalid", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "http", nil
			d.HTTP = &HTTP{URL: "ftp://x", SOAP: "2.0", Auth: HTTPAuth{Basic: &BasicAuth{}, Bearer: NewSecret("t")},
				TLS: HTTPTLS{CertFile: "c.pem"}, Attachments: "fax"}
		}, []string{d00 + ".http.url", d00 + ".http.soap", d00 + ".http.auth", d00 + ".http.auth.basic", d00 + ".http.tls", d00 + ".http.attachments"}},
		{"http rules of the adapter", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "http", nil
			d.HTTP = &HTTP{URL: "https://u:p@fv.example/api", SOAP: "1.1", SOAPAction: `urn:"x`,
				Auth:    HTTPAuth{Basic: &BasicAuth{Username: "u:x", Password: NewSecret("")}},
				Headers: map[string]string{"Authorization": "x", "Connection": "close", "X Y": "1", "X-Z": "a\nb"}}
		}, []string{d00 + ".http.url", d00 + ".http.soap_action", d00 + ".http.auth.basic.username", d00 + ".http.auth.basic.password",
			d00 + ".http.headers", d00 + ".http.headers", d00 + ".http.headers", d00 + ".http.headers"}},
		{"http timeout beyond the lease", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "http", nil
			// Fine: the lease is renewed while a delivery runs.
			d.HTTP = &HTTP{URL: "https://fv.example/api", Timeout: dur(time.Minute)}
		}, nil},
		{"amqp valid", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "amqp", nil
			d.AMQP = &AMQP{URL: NewSecret("amqp://guest:guest@127.0.0.1:5672/"), Exchange: "fachverfahren"}
		}, nil},
		{"amqp invalid", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "amqp", nil
			d.AMQP = &AMQP{URL: NewSecret("http://x"), MaxMessageBytes: -1}
		}, []string{d00 + ".amqp.url", d00 + ".amqp.exchange", d00 + ".amqp.max_message_bytes"}},
		{"amqp message size at the limit", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "amqp", nil
			d.AMQP = &AMQP{URL: NewSecret("amqp://guest:guest@127.0.0.1:5672/"), Exchange: "fachverfahren", MaxMessageBytes: 512 << 20}
		}, nil},
		{"amqp message size over the limit", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Type, d.FileDrop = "amqp", nil
			d.AMQP = &AMQP{URL: NewSecret("amqp://guest:guest@127.0.0.1:5672/"), Exchange: "fachverfahren", MaxMessageBytes: 512<<20 + 1}
		}, []string{d00 + ".amqp.max_message_bytes"}},
		{"reader without praefix", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Reader = "09162000" }, []string{d00 + ".reader"}},
		{"behoerdenkennung without praefix", func(c *Config) { c.Tenants[0].Behoerdenkennung = "09162000" }, []string{t0 + ".behoerdenkennung"}},
		{"behoerdenkennung empty kennung", func(c *Config) { c.Tenants[0].Behoerdenkennung = "psw:" }, []string{t0 + ".behoerdenkennung"}},
		{"concurrency negative", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Concurrency = -1 }, []string{d00 + ".concurrency"}},
		{"format xdomea", func(c *Config) {
			c.Tenants[0].Procedures[0].Destinations[0].Format = FormatXDOMEA
			c.Tenants[0].Procedures[0].Destinations[0].XDomea = &XDomea{Creator: "amtsbote"}
		}, nil},
		{"format xdomea without settings", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Format = FormatXDOMEA }, []string{d00 + ".xdomea"}},
		{"format xdomea without creator", func(c *Config) {
			c.Tenants[0].Procedures[0].Destinations[0].Format = FormatXDOMEA
			c.Tenants[0].Procedures[0].Destinations[0].XDomea = &XDomea{}
		}, []string{d00 + ".xdomea.creator"}},
		{"xdomea akte and ablageort", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			d.XDomea = &XDomea{Creator: "amtsbote", Ablageort: `\\dms01\import`,
				Akte: &XDomeaAkte{Betreff: "Bauanträge {jahr}", Aktenzeichen: "63.01.01-{jahr}", Aktenplankennzeichen: "63.01.01", Typ: "Sammelakte"}}
		}, nil},
		{"xdomea container with akte betreff", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			d.XDomea = &XDomea{Creator: "amtsbote", Container: "AKTE-{jahr}", Akte: &XDomeaAkte{Betreff: "Bauanträge {jahr}"}}
		}, nil},
		{"xdomea container with the fields of a new akte", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			d.XDomea = &XDomea{Creator: "amtsbote", Container: "AKTE-{jahr}",
				Akte: &XDomeaAkte{Betreff: "Bauanträge {jahr}", Aktenzeichen: "63.01.01-{jahr}", Aktenplankennzeichen: "63.01.01", Typ: "Sammelakte"}}
		}, []string{d00 + ".xdomea.akte.aktenzeichen", d00 + ".xdomea.akte.aktenplankennzeichen", d00 + ".xdomea.akte.typ"}},
		{"xdomea texts outside DIN SPEC 91379", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			// "…" (U+2026), "→" and an emoji are outside datatype C: xdomea.Build
			// would refuse every submission of the route.
			d.XDomea = &XDomea{Creator: "amtsbote\u2026", Container: "AKTE \u2192 {jahr}", Ablageort: "/srv/import/\U0001F4C1",
				Akte: &XDomeaAkte{Betreff: "Bauanträge \u2026 {jahr}"}}
		}, []string{d00 + ".xdomea.creator", d00 + ".xdomea.container", d00 + ".xdomea.ablageort", d00 + ".xdomea.akte.betreff"}},
		{"xdomea akte fields outside DIN SPEC 91379", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			d.XDomea = &XDomea{Creator: "amtsbote",
				Akte: &XDomeaAkte{Aktenzeichen: "63\u202601", Aktenplankennzeichen: "63\u219201", Typ: "Bauakte \u2713"}}
		}, []string{d00 + ".xdomea.akte.aktenzeichen", d00 + ".xdomea.akte.aktenplankennzeichen", d00 + ".xdomea.akte.typ"}},
		{"xdomea destination of a tenant without name", func(c *Config) {
			c.Tenants[0].Name = ""
			c.Tenants[0].Procedures[0].Destinations[0].Format = FormatXDOMEA
			c.Tenants[0].Procedures[0].Destinations[0].XDomea = &XDomea{Creator: "amtsbote"}
		}, []string{t0 + ".name"}},
		{"tenant without name", func(c *Config) { c.Tenants[0].Name = "" }, []string{t0 + ".name"}},
		{"names outside DIN SPEC 91379", func(c *Config) {
			c.Tenants[0].Name = "Stadt Musterstadt \u2026"
			c.Procedures[0].Name = "Wohnungsgeberbest\u00e4tigung \u2192 Meldebeh\u00f6rde"
			c.Tenants[0].Procedures[0].Destinations[0].ReaderName = "B\u00fcrgeramt \u2022 Mitte"
		}, []string{"procedures[0].name", t0 + ".name", d00 + ".reader_name"}},
		{"xdomea ablageort forms", func(c *Config) {
			for i, a := range []string{"/srv/import", `D:\import`, "c:/import", "https://dms.example/webdav/import"} {
				d := Destination{ID: fmt.Sprintf("eakte-%d", i), Type: "filedrop", FileDrop: &FileDrop{Dir: "/srv"},
					Format: FormatXDOMEA, XDomea: &XDomea{Creator: "amtsbote", Ablageort: a}}
				c.Tenants[0].Procedures[0].Destinations = append(c.Tenants[0].Procedures[0].Destinations, d)
			}
		}, nil},
		{"xdomea bad akte and ablageort", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			d.XDomea = &XDomea{Creator: "amtsbote", Ablageort: "import/eakte",
				Akte: &XDomeaAkte{Betreff: "Bau\nanträge", Aktenzeichen: strings.Repeat("6", 256), Aktenplankennzeichen: "{jahr}{monat}", Typ: "Akte\x00"}}
		}, []string{d00 + ".xdomea.akte.betreff", d00 + ".xdomea.akte.aktenzeichen",
			d00 + ".xdomea.akte.aktenplankennzeichen", d00 + ".xdomea.akte.typ", d00 + ".xdomea.ablageort"}},
		{"xdomea container with an unknown placeholder", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			d.XDomea = &XDomea{Creator: "amtsbote", Container: "AKTE-{year}"}
		}, []string{d00 + ".xdomea.container"}},
		{"xdomea ablageort relative or other scheme", func(c *Config) {
			d := &c.Tenants[0].Procedures[0].Destinations[0]
			d.Format = FormatXDOMEA
			d.XDomea = &XDomea{Creator: "amtsbote", Ablageort: "ftp://dms/import"}
		}, []string{d00 + ".xdomea.ablageort"}},
		{"xdomea settings without format", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].XDomea = &XDomea{Creator: "x"} }, []string{d00 + ".xdomea"}},
		{"format unknown", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Format = "pdf" }, []string{d00 + ".format"}},
		{"concurrency zero", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Concurrency = 0 }, nil},

		// Retry policies.
		{"retry zero uses defaults", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Retry = RetryPolicy{} }, nil},
		{"retry initial negative", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Retry.InitialInterval = dur(-time.Second) }, []string{d00 + ".retry.initial_interval"}},
		{"retry max negative", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Retry.MaxInterval = dur(-time.Second) }, []string{d00 + ".retry.max_interval"}},
		{"retry max elapsed negative", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Retry.MaxElapsedTime = dur(-time.Second) }, []string{d00 + ".retry.max_elapsed_time"}},
		{"retry multiplier below 1", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Retry.Multiplier = 0.5 }, []string{d00 + ".retry.multiplier"}},
		{"retry multiplier 1", func(c *Config) { c.Tenants[0].Procedures[0].Destinations[0].Retry.Multiplier = 1 }, nil},
		{"retry initial above max", func(c *Config) {
			c.Tenants[0].Procedures[0].Destinations[0].Retry = RetryPolicy{InitialInterval: dur(2 * time.Hour), MaxInterval: dur(time.Hour)}
		}, []string{d00 + ".retry.initial_interval"}},
		{"retry initial above default max", func(c *Config) {
			c.Tenants[0].Procedures[0].Destinations[0].Retry = RetryPolicy{InitialInterval: dur(2 * time.Hour)}
		}, []string{d00 + ".retry.initial_interval"}},
		{"retry initial equals max", func(c *Config) {
			c.Tenants[0].Procedures[0].Destinations[0].Retry = RetryPolicy{InitialInterval: dur(time.Hour), MaxInterval: dur(time.Hour)}
		}, nil},

		// Portals.
		{"no portals", func(c *Config) { c.Portals = nil }, []string{"portals"}},
		{"portal id empty", func(c *Config) { c.Portals[0].ID = "" }, []string{"portals[0].id"}},
		{"portal id bad", func(c *Config) { c.Portals[0].ID = "bürgerportal" }, []string{"portals[0].id"}},
		{"portal id duplicate", func(c *Config) { c.Portals[1].ID = c.Portals[0].ID }, []string{"portals[1].id"}},
		{"key hash missing", func(c *Config) { c.Portals[0].KeyHash = Secret{} }, []string{"portals[0].key_hash"}},
		{"key hash empty", func(c *Config) { c.Portals[0].KeyHash = NewSecret("") }, []string{"portals[0].key_hash"}},
		{"key hash is the key", func(c *Config) { c.Portals[0].KeyHash = NewSecret("key-a") }, []string{"portals[0].key_hash"}},
		{"key hash upper case", func(c *Config) { c.Portals[0].KeyHash = NewSecret(strings.ToUpper(HashKey("key-a"))) }, []string{"portals[0].key_hash"}},
		{"key hash upper case hex", func(c *Config) {
			c.Portals[0].KeyHash = NewSecret("sha256:" + strings.ToUpper(strings.TrimPrefix(HashKey("key-a"), "sha256:")))
		}, []string{"portals[0].key_hash"}},
		{"key hash short", func(c *Config) { c.Portals[0].KeyHash = NewSecret(HashKey("key-a")[:70]) }, []string{"portals[0].key_hash"}},
		{"key hash not hex", func(c *Config) { c.Portals[0].KeyHash = NewSecret("sha256:" + strings.Repeat("g", 64)) }, []string{"portals[0].key_hash"}},
		{"key hash other algorithm", func(c *Config) { c.Portals[0].KeyHash = NewSecret("sha512:" + strings.Repeat("a", 64)) }, []string{"portals[0].key_hash"}},
		{"key hash shared", func(c *Config) { c.Portals[1].KeyHash = c.Portals[0].KeyHash }, []string{"portals[1].key_hash"}},
		{"previous key", func(c *Config) {
			c.Portals[0].PreviousKey = &PreviousKey{Hash: NewSecret(HashKey("old-key-a")), Expires: Timestamp{time.Now().Add(time.Hour)}}
		}, nil},
		{"previous key expired", func(c *Config) {
			// Accepted: an expired previous key is refused at login, and a
			// restart must not fail over it.
			c.Portals[0].PreviousKey = &PreviousKey{Hash: NewSecret(HashKey("old-key-a")), Expires: Timestamp{time.Now().Add(-time.Hour)}}
		}, nil},
		{"previous key without hash", func(c *Config) {
			c.Portals[0].PreviousKey = &PreviousKey{Expires: Timestamp{time.Now().Add(time.Hour)}}
		}, []string{"portals[0].previous_key.hash"}},
		{"previous key hash is the key", func(c *Config) {
			c.Portals[0].PreviousKey = &PreviousKey{Hash: NewSecret("old-key-a"), Expires: Timestamp{time.Now().Add(time.Hour)}}
		}, []string{"portals[0].previous_key.hash"}},
		{"previous key without expiry", func(c *Config) {
			c.Portals[0].PreviousKey = &PreviousKey{Hash: NewSecret(HashKey("old-key-a"))}
		}, []string{"portals[0].previous_key.expires"}},
		{"previous key is the current key", func(c *Config) {
			c.Portals[0].PreviousKey = &PreviousKey{Hash: c.Portals[0].KeyHash, Expires: Timestamp{time.Now().Add(time.Hour)}}
		}, []string{"portals[0].previous_key.hash"}},
		{"previous key is another portal's key", func(c *Config) {
			c.Portals[1].PreviousKey = &PreviousKey{Hash: c.Portals[0].KeyHash, Expires: Timestamp{time.Now().Add(time.Hour)}}
		}, []string{"portals[1].previous_key.hash"}},
		{"portal tenants empty", func(c *Config) { c.Portals[0].Tenants = nil }, []string{"portals[0].tenants"}},
		{"portal tenant unknown", func(c *Config) { c.Portals[1].Tenants = []string{"beispielhausen", "musterdorf"} }, []string{"portals[1].tenants[1]"}},
		{"portal procedures empty", func(c *Config) { c.Portals[0].Procedures = []string{} }, []string{"portals[0].procedures"}},
		{"portal procedure unknown", func(c *Config) { c.Portals[1].Procedures = []string{"bau.abriss"} }, []string{"portals[1].procedures[0]"}},
		{"portal explicit lists", func(c *Config) {
			c.Portals[0].Tenants = []string{"musterstadt", "beispielhausen"}
			c.Portals[0].Procedures = []string{"bau.baugenehmigung", "gewerbe.gewerbeanmeldung"}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tt.mutate(cfg)
			err := cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if got := problemPaths(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problem paths = %q, want %q\nerror:\n%v", got, tt.want, err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.Server.Listen = ""
	cfg.Tenants[0].AGS = "123"
	cfg.Tenants[0].Procedures[1].Destinations[1].FileDrop.Dir = ""
	cfg.Tenants[1].Contacts.Office = "nope"
	cfg.Portals[1].KeyHash = NewSecret("plain-api-key")
	cfg.Portals[1].Procedures = []string{"bau.abriss"}

	err := cfg.Validate()
	want := []string{
		"server.listen",
		"tenants[0].ags",
		"tenants[0].procedures[1].destinations[1].filedrop.dir",
		"tenants[1].contacts.office",
		"portals[1].key_hash",
		"portals[1].procedures[0]",
	}
	if got := problemPaths(t, err); !slices.Equal(got, want) {
		t.Fatalf("problem paths = %q, want %q", got, want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Error() has %d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, line := range lines {
		if !strings.HasPrefix(line, want[i]+": ") {
			t.Errorf("line %d = %q, want prefix %q", i, line, want[i]+": ")
		}
	}
	if strings.Contains(err.Error(), "plain-api-key") {
		t.Errorf("Error() prints the key hash value:\n%s", err)
	}
}

func TestValidateMessagesHideSecrets(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.Database.URL = "mysql://amtsbote:hunter2@db/amtsbote"
	cfg.Portals[0].KeyHash = NewSecret("hunter3")
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want problems")
	}
	for _, secret := range []string{"hunter2", "hunter3"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Error() contains %q:\n%s", secret, err)
		}
	}
	cfg.Database.URL = "postgres://amtsbote:hunter2@db:port/amtsbote"
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Validate() = %v, want problems without the password", err)
	}
}

// defaultDatabase is the database block of an empty configuration.
var defaultDatabase = Database{MaxConns: 16, RequestTimeout: dur(5 * time.Second), AcquireTimeout: dur(3 * time.Second),
	StatementTimeout: dur(30 * time.Second)}

func TestApplyDefaults(t *testing.T) {
	t.Parallel()
	cfg := &Config{
		Relay:   Relay{Concurrency: 2},
		Tenants: []Tenant{{Procedures: []Route{{Destinations: []Destination{{}, {Concurrency: 7, Retry: RetryPolicy{MaxInterval: dur(time.Minute)}}}}}}},
	}
	cfg.Server.ReadTimeout = dur(time.Minute)
	cfg.ApplyDefaults()

	want := Server{
		Listen:            "127.0.0.1:8080",
		ReadHeaderTimeout: dur(5 * time.Second),
		ReadTimeout:       dur(time.Minute), // set, kept
		WriteTimeout:      dur(30 * time.Second),
		IdleTimeout:       dur(120 * time.Second),
		MaxBodyBytes:      10 << 20,
		ShutdownTimeout:   dur(30 * time.Second),
		Intake: Intake{MaxInflightBytes: 40 << 20, PortalInflightBytes: 20 << 20, InflightWait: dur(10 * time.Second),
			MaxUploads: 256, PortalMaxUploads: 32, MinBodyRate: 1024, BodyRateGrace: dur(10 * time.Second),
			BodyBufferBytes: 256 << 10},
	}
	if cfg.Server.DrainDelay == nil || cfg.Server.DrainDelay.Duration != time.Second {
		t.Errorf("DrainDelay = %v, want 1s", cfg.Server.DrainDelay)
	}
	cfg.Server.DrainDelay = nil
	if cfg.Server != want {
		t.Errorf("Server = %+v, want %+v", cfg.Server, want)
	}
	if want := (Relay{Lease: dur(10 * time.Second), PollInterval: dur(5 * time.Second), Concurrency: 2}); cfg.Relay != want {
		t.Errorf("Relay = %+v, want %+v", cfg.Relay, want)
	}
	dests := cfg.Tenants[0].Procedures[0].Destinations
	defaultRetry := RetryPolicy{InitialInterval: dur(30 * time.Second), MaxInterval: dur(time.Hour), Multiplier: 2, MaxElapsedTime: dur(168 * time.Hour)}
	if dests[0].Retry != defaultRetry || dests[0].Concurrency != 2 {
		t.Errorf("destination 0 = retry %+v concurrency %d, want %+v and 2", dests[0].Retry, dests[0].Concurrency, defaultRetry)
	}
	wantRetry := defaultRetry
	wantRetry.MaxInterval = dur(time.Minute)
	if dests[1].Retry != wantRetry || dests[1].Concurrency != 7 {
		t.Errorf("destination 1 = retry %+v concurrency %d, want %+v and 7", dests[1].Retry, dests[1].Concurrency, wantRetry)
	}
	if defaultDatabase != cfg.Database {
		t.Errorf("Database = %+v, want only the default max_conns and timeouts", cfg.Database)
	}
}

func TestApplyDefaultsAttachmentLimits(t *testing.T) {
	t.Parallel()
	cfg := &Config{Procedures: []Procedure{
		{ID: "a.unset"},
		{ID: "b.set", Attachments: AttachmentLimits{MaxCount: 3, MaxBytes: 1000, MIMETypes: []string{"text/plain"}}},
		{ID: "c.some", Attachments: AttachmentLimits{MaxBytes: 42}},
		{ID: "d.unset"},
	}}
	cfg.ApplyDefaults()
	defaults := []string{"application/pdf", "image/jpeg", "image/png", "image/tiff"}
	for i, want := range []AttachmentLimits{
		{MaxCount: 20, MaxBytes: 5 << 20, MIMETypes: defaults},
		{MaxCount: 3, MaxBytes: 1000, MIMETypes: []string{"text/plain"}},
		{MaxCount: 20, MaxBytes: 42, MIMETypes: defaults},
		{MaxCount: 20, MaxBytes: 5 << 20, MIMETypes: defaults},
	} {
		got := cfg.Procedures[i].Attachments
		if got.MaxCount != want.MaxCount || got.MaxBytes != want.MaxBytes || !slices.Equal(got.MIMETypes, want.MIMETypes) {
			t.Errorf("procedure %s: attachments = %+v, want %+v", cfg.Procedures[i].ID, got, want)
		}
	}
	// Each procedure owns its list: changing one changes no other, nor the defaults.
	cfg.Procedures[0].Attachments.MIMETypes[0] = "text/html"
	if cfg.Procedures[3].Attachments.MIMETypes[0] != "application/pdf" || DefaultAttachmentMIMETypes()[0] != "application/pdf" {
		t.Error("procedures share the default MIME type list")
	}
	if err := cfg.Validate(); err != nil {
		var verr *ValidationError
		if errors.As(err, &verr) {
			for _, p := range verr.Problems {
				if strings.Contains(p.Path, ".attachments") {
					t.Errorf("defaults are invalid: %s", p)
				}
			}
		}
	}
}

func TestRetryPolicyWithDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   RetryPolicy
		want RetryPolicy
	}{
		{"zero", RetryPolicy{}, RetryPolicy{dur(30 * time.Second), dur(time.Hour), 2, dur(7 * 24 * time.Hour)}},
		{"all set", RetryPolicy{dur(time.Second), dur(time.Minute), 1.5, dur(time.Hour)}, RetryPolicy{dur(time.Second), dur(time.Minute), 1.5, dur(time.Hour)}},
		{"some set", RetryPolicy{Multiplier: 3}, RetryPolicy{dur(30 * time.Second), dur(time.Hour), 3, dur(7 * 24 * time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.in.WithDefaults(); got != tt.want {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fullEnv and fullFiles satisfy testdata/full.yaml.
func fullEnv() map[string]string {
	return map[string]string{
		"AMTSBOTE_DB_PASSWORD":                     "s3cr3t",
		"AMTSBOTE_DROP_ROOT":                       "/srv/amtsbote",
		"AMTSBOTE_BUERGERPORTAL_KEY_HASH":          HashKey("buergerportal-key"),
		"AMTSBOTE_BUERGERPORTAL_PREVIOUS_KEY_HASH": HashKey("buergerportal-old-key"),
	}
}

func fullFiles() map[string]string {
	return map[string]string{"/run/secrets/gewerbeportal_key_hash": HashKey("gewerbeportal-key") + "\n"}
}

func TestParseFull(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(readTestdata(t, "full.yaml"), envOf(fullEnv()), filesOf(fullFiles()))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}

	checks := []struct {
		name string
		got  any
		want any
	}{
		{"server.listen", cfg.Server.Listen, "0.0.0.0:8443"},
		{"server.read_timeout", cfg.Server.ReadTimeout, dur(time.Minute)},
		{"server.max_body_bytes", cfg.Server.MaxBodyBytes, int64(25 << 20)},
		{"server.shutdown_timeout", cfg.Server.ShutdownTimeout, dur(45 * time.Second)},
		{"database.url", cfg.Database.URL, "postgres://amtsbote:s3cr3t@db.internal:5432/amtsbote?sslmode=verify-full"},
		{"relay", cfg.Relay, Relay{Lease: dur(5 * time.Minute), PollInterval: dur(10 * time.Second), Concurrency: 8}},
		{"procedures", len(cfg.Procedures), 3},
		{"procedures[0].name", cfg.Procedures[0].Name, "Wohnungsgeberbestätigung (§ 19 BMG)"},
		{"tenants", len(cfg.Tenants), 2},
		{"tenants[0].ags", cfg.Tenants[0].AGS, "09162000"},
		{"tenants[0].behoerdenkennung", cfg.Tenants[0].Behoerdenkennung, "psw:09162000"},
		{"tenants[0].contacts", cfg.Tenants[0].Contacts, Contacts{Office: "buergerbuero@musterstadt.example", Technical: "IT-Betrieb <it@musterstadt.example>"}},
		{"tenants[1].contacts.technical", cfg.Tenants[1].Contacts.Technical, ""},
		{"tenants[0].procedures[0].destinations[0].filedrop.dir", cfg.Tenants[0].Procedures[0].Destinations[0].FileDrop.Dir, "/srv/amtsbote/musterstadt/meldewesen"},
		{"tenants[0].procedures[0].destinations[0].ordered", cfg.Tenants[0].Procedures[0].Destinations[0].Ordered, true},
		{"tenants[0].procedures[0].destinations[0].reader", cfg.Tenants[0].Procedures[0].Destinations[0].Reader, "psw:09162000-meldewesen"},
		{"tenants[0].procedures[0].destinations[0].concurrency (relay)", cfg.Tenants[0].Procedures[0].Destinations[0].Concurrency, 8},
		{"tenants[0].procedures[0].destinations[1].concurrency", cfg.Tenants[0].Procedures[0].Destinations[1].Concurrency, 1},
		{"tenants[0].procedures[0].destinations[1].retry", cfg.Tenants[0].Procedures[0].Destinations[1].Retry,
			RetryPolicy{InitialInterval: dur(time.Minute), MaxInterval: dur(6 * time.Hour), Multiplier: 3, MaxElapsedTime: dur(14 * 24 * time.Hour)}},
		{"tenants[1].procedures[0].destinations[0].retry (defaults)", cfg.Tenants[1].Procedures[0].Destinations[0].Retry, RetryPolicy{}.WithDefaults()},
		{"portals[0].key_hash (env)", cfg.Portals[0].KeyHash.Value(), HashKey("buergerportal-key")},
		{"portals[1].key_hash (file)", cfg.Portals[1].KeyHash.Value(), HashKey("gewerbeportal-key")},
		{"portals[0] allows musterstadt bau", cfg.Portals[0].Allows("musterstadt", "bau.baugenehmigung"), true},
		{"portals[0] denies gewerbe", cfg.Portals[0].Allows("beispielhausen", "gewerbe.gewerbeanmeldung"), false},
		{"portals[1] allows beispielhausen gewerbe", cfg.Portals[1].Allows("beispielhausen", "gewerbe.gewerbeanmeldung"), true},
		{"portals[1] denies musterstadt", cfg.Portals[1].Allows("musterstadt", "gewerbe.gewerbeanmeldung"), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	for i, want := range []AttachmentLimits{
		AttachmentLimits{}.WithDefaults(),
		{MaxCount: 60, MaxBytes: 20 << 20, MIMETypes: []string{"application/pdf", "image/tiff"}},
		AttachmentLimits{}.WithDefaults(),
	} {
		got := cfg.Procedures[i].Attachments
		if got.MaxCount != want.MaxCount || got.MaxBytes != want.MaxBytes || !slices.Equal(got.MIMETypes, want.MIMETypes) {
			t.Errorf("procedures[%d].attachments = %+v, want %+v", i, got, want)
		}
	}
	if p, use := cfg.PortalByKey("gewerbeportal-key", time.Now()); use != KeyCurrent || p.ID != "gewerbeportal" {
		t.Errorf("PortalByKey(gewerbeportal-key) = %v, %d, want gewerbeportal's current key", p, use)
	}
	expires := time.Date(2026, 12, 31, 0, 0, 0, 0, time.FixedZone("", 3600))
	if k := cfg.Portals[0].PreviousKey; k == nil || !k.Expires.Equal(expires) || k.Hash.Value() != HashKey("buergerportal-old-key") {
		t.Fatalf("portals[0].previous_key = %+v, want the hash from the environment, expiring %v", k, expires)
	}
	for _, tt := range []struct {
		key  string
		at   time.Time
		want KeyUse
	}{
		{"buergerportal-old-key", expires.Add(-time.Second), KeyPrevious},
		{"buergerportal-old-key", expires, KeyNone},
		{"buergerportal-key", expires.Add(-time.Second), KeyCurrent},
		{"buergerportal-key", expires.Add(time.Hour), KeyCurrent},
	} {
		p, use := cfg.PortalByKey(tt.key, tt.at)
		if use != tt.want || (use != KeyNone) != (p != nil) || (p != nil && p.ID != "buergerportal") {
			t.Errorf("PortalByKey(%s, %v) = %v, %d, want buergerportal with key use %d", tt.key, tt.at, p, use, tt.want)
		}
	}
}

// minimalYAML is the smallest valid configuration file; KEYHASH stands for
// the portal's key hash, which withHash fills in.
const minimalYAML = `
procedures: [{id: bau.baugenehmigung}]
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: bau.baugenehmigung
        destinations: [{id: bauamt, type: filedrop, filedrop: {dir: /drop}}]
portals:
  - {id: p, key_hash: KEYHASH, tenants: ["*"], procedures: ["*"]}
`

// withHash replaces KEYHASH in s with HashKey("k").
func withHash(s string) []byte {
	return []byte(strings.ReplaceAll(s, "KEYHASH", HashKey("k")))
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		data  string
		env   map[string]string
		files map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "minimal gets defaults",
			data: minimalYAML,
			check: func(t *testing.T, c *Config) {
				if c.Server.Listen != "127.0.0.1:8080" || c.Relay.Concurrency != 4 || c.Relay.Lease != dur(10*time.Second) {
					t.Errorf("defaults not applied: server %+v relay %+v", c.Server, c.Relay)
				}
				if c.Database != defaultDatabase {
					t.Errorf("Database = %+v, want SQLite with the default max_conns", c.Database)
				}
			},
		},
		{
			name: "expands braced variables and $$",
			data: minimalYAML + "database: {path: \"${DATA}/amts$$bote.db\", url: \"\"}\n",
			env:  map[string]string{"DATA": "/var/lib/amtsbote"},
			check: func(t *testing.T, c *Config) {
				if want := "/var/lib/amtsbote/amts$bote.db"; c.Database.Path != want {
					t.Errorf("database.path = %q, want %q", c.Database.Path, want)
				}
			},
		},
		{
			name: "keeps other dollar signs",
			data: minimalYAML + "database: {path: \"/data/$HOME/a$\"}\n",
			check: func(t *testing.T, c *Config) {
				if want := "/data/$HOME/a$"; c.Database.Path != want {
					t.Errorf("database.path = %q, want %q", c.Database.Path, want)
				}
			},
		},
		{
			name: "variable set to empty",
			data: minimalYAML + "database: {path: \"${EMPTY}\"}\n",
			env:  map[string]string{"EMPTY": ""},
			check: func(t *testing.T, c *Config) {
				if c.Database.Path != "" {
					t.Errorf("database.path = %q, want empty", c.Database.Path)
				}
			},
		},
		{
			name: "AMTSBOTE_DATABASE_URL overrides database.url",
			data: minimalYAML + "database: {url: \"postgres://file/db\"}\n",
			env:  map[string]string{"AMTSBOTE_DATABASE_URL": "postgresql://env/db"},
			check: func(t *testing.T, c *Config) {
				if want := "postgresql://env/db"; c.Database.URL != want {
					t.Errorf("database.url = %q, want %q", c.Database.URL, want)
				}
			},
		},
		{
			name: "AMTSBOTE_DATABASE_URL sets database.url",
			data: minimalYAML,
			env:  map[string]string{"AMTSBOTE_DATABASE_URL": "postgres://env/db"},
			check: func(t *testing.T, c *Config) {
				if want := "postgres://env/db"; c.Database.URL != want {
					t.Errorf("database.url = %q, want %q", c.Database.URL, want)
				}
			},
		},
		{
			name: "empty AMTSBOTE_DATABASE_URL does not override",
			data: minimalYAML + "database: {url: \"postgres://file/db\"}\n",
			env:  map[string]string{"AMTSBOTE_DATABASE_URL": ""},
			check: func(t *testing.T, c *Config) {
				if want := "postgres://file/db"; c.Database.URL != want {
					t.Errorf("database.url = %q, want %q", c.Database.URL, want)
				}
			},
		},
		{
			name: "secret from env",
			data: strings.Replace(minimalYAML, "key_hash: KEYHASH", "key_hash: {env: PORTAL_HASH}", 1),
			env:  map[string]string{"PORTAL_HASH": HashKey("from-env")},
			check: func(t *testing.T, c *Config) {
				if !c.Portals[0].KeyMatches("from-env") {
					t.Errorf("key_hash = %q, want HashKey(from-env)", c.Portals[0].KeyHash.Value())
				}
			},
		},
		{
			name:  "secret from file without trailing newlines",
			data:  strings.Replace(minimalYAML, "key_hash: KEYHASH", "key_hash: {file: /run/secrets/h}", 1),
			files: map[string]string{"/run/secrets/h": HashKey("from-file") + "\r\n\n"},
			check: func(t *testing.T, c *Config) {
				if got, want := c.Portals[0].KeyHash.Value(), HashKey("from-file"); got != want {
					t.Errorf("key_hash = %q, want %q", got, want)
				}
			},
		},
		{
			name: "xdomea akte and ablageort",
			data: strings.Replace(minimalYAML,
				"destinations: [{id: bauamt, type: filedrop, filedrop: {dir: /drop}}]", `destinations:
          - id: eakte
            type: filedrop
            filedrop: {dir: /drop}
            format: xdomea
            xdomea:
              creator: amtsbote
              ablageort: '\\dms01\import'
              akte: {betreff: "Bauanträge {jahr}", aktenzeichen: "63.01.01-{jahr}", aktenplankennzeichen: "63.01.01", typ: Sammelakte}`, 1),
			check: func(t *testing.T, c *Config) {
				x := c.Tenants[0].Procedures[0].Destinations[0].XDomea
				want := XDomeaAkte{Betreff: "Bauanträge {jahr}", Aktenzeichen: "63.01.01-{jahr}", Aktenplankennzeichen: "63.01.01", Typ: "Sammelakte"}
				if x == nil || x.Akte == nil || *x.Akte != want || x.Ablageort != `\\dms01\import` {
					t.Errorf("xdomea = %+v", x)
				}
			},
		},
		{
			name: "durations with days",
			data: minimalYAML + "relay: {lease: 1d, poll_interval: 1h30m}\n",
			check: func(t *testing.T, c *Config) {
				if c.Relay.Lease != dur(24*time.Hour) || c.Relay.PollInterval != dur(90*time.Minute) {
					t.Errorf("relay = %+v, want lease 24h, poll 1h30m", c.Relay)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse(withHash(tt.data), envOf(tt.env), filesOf(tt.files))
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	// valid is a complete configuration; cases append to or edit it.
	valid := `procedures: [{id: bau.baugenehmigung}]
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: bau.baugenehmigung
        destinations: [{id: bauamt, type: filedrop, filedrop: {dir: /drop}}]
portals:
  - id: p
    key_hash: ` + HashKey("k") + `
    tenants: ["*"]
    procedures: ["*"]
`
	// line 11 is the key_hash line.
	withKeyHash := func(s string) string {
		return strings.Replace(valid, "key_hash: "+HashKey("k"), "key_hash: "+s, 1)
	}
	tests := []struct {
		name    string
		data    string
		env     map[string]string
		files   map[string]string
		want    []string // exact problem paths
		message string   // substring of the first problem's message
	}{
		{
			name: "unset variable",
			data: "server: {listen: \"${LISTEN}\"}\n" + valid,
			want: []string{"line 1"}, message: "environment variable LISTEN is not set",
		},
		{
			name: "every unset variable",
			data: "server:\n  listen: \"${HOST}:${PORT}\"\ndatabase:\n  path: ${DATA}/db\n" + valid,
			env:  map[string]string{"PORT": "8080"},
			want: []string{"line 2", "line 4"}, message: "HOST",
		},
		{
			name: "invalid variable name",
			data: "server: {listen: \"${1HOST}\"}\n" + valid,
			want: []string{"line 1"}, message: "invalid variable reference ${1HOST}",
		},
		{
			name: "unterminated reference",
			data: "database:\n  path: ${DATA\n" + valid,
			env:  map[string]string{"DATA": "/d"},
			want: []string{"line 2"}, message: "unterminated",
		},
		{
			name: "unknown field",
			data: "server:\n  listn: \":8080\"\n" + valid,
			want: []string{"line 2"}, message: "field listn not found",
		},
		{
			name: "unknown field in destination",
			data: strings.Replace(valid, "filedrop: {dir: /drop}", "filedrop: {directory: /drop}", 1),
			want: []string{"line 9"}, message: "field directory not found",
		},
		{
			name: "duplicate key",
			data: "relay: {lease: 1m}\nrelay: {lease: 2m}\n" + valid,
			want: []string{"line 2"}, message: "already defined",
		},
		{
			name: "wrong type",
			data: "relay: {concurrency: many}\n" + valid,
			want: []string{"line 1"}, message: "cannot unmarshal",
		},
		{
			name: "duration without unit",
			data: "relay:\n  lease: 30\n  poll_interval: 1.5d\n" + valid,
			want: []string{"line 2", "line 3"}, message: "invalid duration \"30\"",
		},
		{
			name: "duration not a scalar",
			data: "relay: {lease: [1m]}\n" + valid,
			want: []string{"line 1"}, message: "duration must be a string",
		},
		{
			name: "secret with env and file",
			data: withKeyHash("{env: A, file: /b}"),
			want: []string{"line 12"}, message: "exactly one of env or file",
		},
		{
			name: "secret with unknown source",
			data: withKeyHash("{vault: kv/portal}"),
			want: []string{"line 12"}, message: "unknown secret source \"vault\"",
		},
		{
			name: "secret source empty",
			data: withKeyHash("{env: \"\"}"),
			want: []string{"line 12"}, message: "non-empty string",
		},
		{
			name: "secret as a list",
			data: withKeyHash("[a, b]"),
			want: []string{"line 12"}, message: "secret must be a string or a mapping",
		},
		{
			name: "secret env unset",
			data: withKeyHash("{env: PORTAL_HASH}"),
			want: []string{"portals[0].key_hash"}, message: "environment variable PORTAL_HASH is not set",
		},
		{
			name: "secret env empty",
			data: withKeyHash("{env: PORTAL_HASH}"),
			env:  map[string]string{"PORTAL_HASH": ""},
			want: []string{"portals[0].key_hash"}, message: "environment variable PORTAL_HASH is empty",
		},
		{
			name: "secret file missing",
			data: withKeyHash("{file: /run/secrets/nope}"),
			want: []string{"portals[0].key_hash"}, message: "/run/secrets/nope",
		},
		{
			name:  "secret file empty",
			data:  withKeyHash("{file: /run/secrets/h}"),
			files: map[string]string{"/run/secrets/h": "\n"},
			want:  []string{"portals[0].key_hash"}, message: "is empty",
		},
		{
			name:  "secret resolved but malformed",
			data:  withKeyHash("{file: /run/secrets/h}"),
			files: map[string]string{"/run/secrets/h": "the-plain-key\n"},
			want:  []string{"portals[0].key_hash"}, message: "lower-case hex",
		},
		{
			name: "secret and validation problems together",
			data: strings.Replace(withKeyHash("{env: PORTAL_HASH}"), `ags: "09162000"`, `ags: "0916"`, 1),
			want: []string{"portals[0].key_hash", "tenants[0].ags"}, message: "PORTAL_HASH",
		},
		{
			name: "validation problems",
			data: strings.Replace(valid, "type: filedrop", "type: smtp", 1) + "relay: {concurrency: -1}\n",
			want: []string{"relay.concurrency", "tenants[0].procedures[0].destinations[0].type"}, message: "must be positive",
		},
		{
			name: "database url from environment is validated",
			data: valid,
			env:  map[string]string{"AMTSBOTE_DATABASE_URL": "mysql://db/x"},
			want: []string{"database.url"}, message: "scheme must be postgres or postgresql",
		},
		{
			name: "empty lists",
			data: "server: {listen: \":8080\"}\n",
			want: []string{"procedures", "tenants", "portals"}, message: "at least one procedure",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.data), envOf(tt.env), filesOf(tt.files))
			if cfg != nil {
				t.Errorf("Parse() returned a config with error %v", err)
			}
			got := problemPaths(t, err)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("problem paths = %q, want %q\nerror:\n%v", got, tt.want, err)
			}
			var verr *ValidationError
			errors.As(err, &verr)
			if msg := verr.Problems[0].Message; !strings.Contains(msg, tt.message) {
				t.Errorf("first message = %q, want it to contain %q", msg, tt.message)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "config is empty"},
		{"only comments", "# nothing here\n", "config is empty"},
		{"syntax", "tenants: [\n", "parse config"},
		{"two documents", "relay: {}\n---\nrelay: {}\n", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.data), noEnv, noFiles)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

// TestLoad uses the process environment, so it does not run in parallel.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "key_hash")
	if err := os.WriteFile(secret, []byte(HashKey("gewerbeportal-key")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := strings.ReplaceAll(string(readTestdata(t, "full.yaml")), "/run/secrets/gewerbeportal_key_hash", secret)
	path := filepath.Join(dir, "amtsbote.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range fullEnv() {
		t.Setenv(k, v)
	}
	t.Setenv("AMTSBOTE_DATABASE_URL", "postgres://override/amtsbote")

	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if cfg.Database.URL != "postgres://override/amtsbote" {
		t.Errorf("database.url = %q, want the AMTSBOTE_DATABASE_URL override", cfg.Database.URL)
	}
	if !cfg.Portals[1].KeyMatches("gewerbeportal-key") {
		t.Error("portals[1].key_hash was not read from the file")
	}

	t.Run("problems", func(t *testing.T) {
		t.Setenv("AMTSBOTE_BUERGERPORTAL_KEY_HASH", "not-a-hash")
		_, err := Load(path)
		if got, want := problemPaths(t, err), []string{"portals[0].key_hash"}; !slices.Equal(got, want) {
			t.Errorf("problem paths = %q, want %q", got, want)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Load() error %q does not name the file", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load() = %v, want fs.ErrNotExist", err)
		}
	})
}

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "0", want: 0},
		{in: "-5s", want: -5 * time.Second}, // parses; Validate rejects it where it matters
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "0d", want: 0},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "2d30m15s", want: 48*time.Hour + 30*time.Minute + 15*time.Second},
		{in: " 7d ", want: 7 * 24 * time.Hour},
		{in: "", wantErr: true},
		{in: "30", wantErr: true},
		{in: "d", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "-1d", wantErr: true},
		{in: "+1d", wantErr: true},
		{in: "7dd", wantErr: true},
		{in: "1d-2h", wantErr: true},
		{in: "1w", wantErr: true},
		{in: "thirty seconds", wantErr: true},
		{in: "106752d", wantErr: true}, // beyond time.Duration
		{in: "106751d23h47m16s", want: 106751*24*time.Hour + 23*time.Hour + 47*time.Minute + 16*time.Second},
		{in: "106751d23h48m", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDuration(%q) = %v", tt.in, err)
			}
			if got.Duration != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
			// What Duration marshals, it parses back.
			out, err := yaml.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var back Duration
			if err := yaml.Unmarshal(out, &back); err != nil || back != got {
				t.Errorf("round trip via %q = %v, %v; want %v", out, back, err, got)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	in := struct{ D Duration }{dur(36 * time.Hour)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"D":"36h0m0s"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out struct{ D Duration }
	if err := json.Unmarshal([]byte(`{"D":"1d12h"}`), &out); err != nil || out != in {
		t.Errorf("json.Unmarshal = %+v, %v, want %+v", out, err, in)
	}
}

func TestSecretValue(t *testing.T) {
	t.Parallel()
	const doc = "inline: hunter2\nnumber: 123456\nenv: {env: PW}\nfile: {file: /pw}\n"
	var got struct {
		Inline Secret `yaml:"inline"`
		Number Secret `yaml:"number"`
		Env    Secret `yaml:"env"`
		File   Secret `yaml:"file"`
		Unset  Secret `yaml:"unset"`
	}
	if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatal(err)
	}
	if got.Env.Value() != "" || got.File.Value() != "" {
		t.Fatalf("references resolved before resolve: %q %q", got.Env.Value(), got.File.Value())
	}
	for _, s := range []*Secret{&got.Env, &got.File} {
		if err := s.resolve(envOf(map[string]string{"PW": "from-env"}), filesOf(map[string]string{"/pw": "from-file\n"})); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		s        Secret
		want     string
		wantZero bool
	}{
		{name: "inline", s: got.Inline, want: "hunter2"},
		{name: "number is a string", s: got.Number, want: "123456"},
		{name: "env", s: got.Env, want: "from-env"},
		{name: "file", s: got.File, want: "from-file"},
		{name: "unset", s: got.Unset, want: "", wantZero: true},
		{name: "NewSecret", s: NewSecret("x"), want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if v := tt.s.Value(); v != tt.want {
				t.Errorf("Value() = %q, want %q", v, tt.want)
			}
			if z := tt.s.IsZero(); z != tt.wantZero {
				t.Errorf("IsZero() = %t, want %t", z, tt.wantZero)
			}
		})
	}
}

func TestSecretRedaction(t *testing.T) {
	t.Parallel()
	const value = "hunter2-secret-value"
	inline := NewSecret(value)
	fromEnv := Secret{env: "PW", value: value, resolved: true}
	portal := Portal{ID: "p", KeyHash: inline, Tenants: []string{"*"}}

	outputs := map[string]func() string{
		"Sprint":     func() string { return fmt.Sprint(inline) },
		"%v":         func() string { return fmt.Sprintf("%v", inline) },
		"%+v":        func() string { return fmt.Sprintf("%+v", inline) },
		"%#v":        func() string { return fmt.Sprintf("%#v", inline) },
		"%s":         func() string { return fmt.Sprintf("%s", inline) },
		"%q":         func() string { return fmt.Sprintf("%q", inline) },
		"%x":         func() string { return fmt.Sprintf("%x", inline) },
		"%d":         func() string { return fmt.Sprintf("%d", inline) },
		"pointer %v": func() string { return fmt.Sprintf("%v", &inline) },
		"portal %+v": func() string { return fmt.Sprintf("%+v", portal) },
		"portal %#v": func() string { return fmt.Sprintf("%#v", portal) },
		"env %+v":    func() string { return fmt.Sprintf("%+v", fromEnv) },
		"String":     inline.String,
		"GoString":   inline.GoString,
		"errorf":     func() string { return fmt.Errorf("bad %v", inline).Error() },
		"slog text": func() string {
			return logOutput(textHandler, slog.Any("secret", inline), slog.Any("portal", portal))
		},
		"slog json": func() string {
			return logOutput(jsonHandler, slog.Any("secret", inline), slog.Any("portal", portal))
		},
		"slog text env": func() string { return logOutput(textHandler, slog.Any("secret", fromEnv)) },
		"json": func() string {
			b, err := json.Marshal(portal)
			if err != nil {
				return err.Error()
			}
			return string(b)
		},
		"yaml": func() string {
			b, err := yaml.Marshal(portal)
			if err != nil {
				return err.Error()
			}
			return string(b)
		},
		"yaml env": func() string {
			b, err := yaml.Marshal(fromEnv)
			if err != nil {
				return err.Error()
			}
			return string(b)
		},
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := out()
			if strings.Contains(got, value) {
				t.Errorf("output contains the secret: %s", got)
			}
			if !strings.Contains(got, "[redacted]") && !strings.Contains(got, "env: PW") {
				t.Errorf("output = %q, want [redacted] or the env reference", got)
			}
		})
	}
}

func textHandler(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }
func jsonHandler(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }

// logOutput logs attrs through the handler and returns what it wrote.
func logOutput(newHandler func(io.Writer) slog.Handler, attrs ...slog.Attr) string {
	var buf bytes.Buffer
	slog.New(newHandler(&buf)).LogAttrs(context.Background(), slog.LevelInfo, "portal", attrs...)
	return buf.String()
}

func TestHashKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, want string }{
		{"", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			if got := HashKey(tt.key); got != tt.want {
				t.Errorf("HashKey(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestKeyMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hash Secret
		key  string
		want bool
	}{
		{"right key", NewSecret(HashKey("right")), "right", true},
		{"wrong key", NewSecret(HashKey("right")), "wrong", false},
		{"empty key", NewSecret(HashKey("right")), "", false},
		{"key differs in case", NewSecret(HashKey("right")), "Right", false},
		{"no hash", Secret{}, "", false},
		{"hash is the plain key", NewSecret("right"), "right", false},
		{"upper-case hash", NewSecret(strings.ToUpper(HashKey("right"))), "right", false},
		{"hash of the hash", NewSecret(HashKey(HashKey("right"))), HashKey("right"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Portal{ID: "p", KeyHash: tt.hash}
			if got := p.KeyMatches(tt.key); got != tt.want {
				t.Errorf("KeyMatches(%q) = %t, want %t", tt.key, got, tt.want)
			}
		})
	}
}

func TestPortalByKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cfg := &Config{Portals: []Portal{
		{ID: "a", KeyHash: NewSecret(HashKey("key-a"))},
		{ID: "broken", KeyHash: NewSecret("key-b")},
		{ID: "b", KeyHash: NewSecret(HashKey("key-b")),
			PreviousKey: &PreviousKey{Hash: NewSecret(HashKey("old-key-b")), Expires: Timestamp{now.Add(time.Hour)}}},
		{ID: "c", KeyHash: NewSecret(HashKey("key-c")),
			PreviousKey: &PreviousKey{Hash: NewSecret(HashKey("old-key-c")), Expires: Timestamp{now}}},
		{ID: "d", KeyHash: NewSecret(HashKey("key-d")),
			PreviousKey: &PreviousKey{Hash: NewSecret("old-key-d"), Expires: Timestamp{now.Add(time.Hour)}}},
	}}
	tests := []struct {
		key    string
		wantID string // "" means no portal
		use    KeyUse
	}{
		{"key-a", "a", KeyCurrent},
		{"key-b", "b", KeyCurrent},
		{"old-key-b", "b", KeyPrevious},
		{"key-c", "c", KeyCurrent},
		{"old-key-c", "", KeyNone}, // expired at now
		{"key-d", "d", KeyCurrent},
		{"old-key-d", "", KeyNone}, // malformed previous hash
		{"key-e", "", KeyNone},
		{"", "", KeyNone},
		{HashKey("key-a"), "", KeyNone},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			p, use := cfg.PortalByKey(tt.key, now)
			if tt.wantID == "" {
				if use != KeyNone || p != nil {
					t.Fatalf("PortalByKey(%q) = %v, %d, want none", tt.key, p, use)
				}
				return
			}
			if use != tt.use || p == nil || p.ID != tt.wantID {
				t.Fatalf("PortalByKey(%q) = %v, %d, want %s with key use %d", tt.key, p, use, tt.wantID, tt.use)
			}
			if p != &cfg.Portals[slices.IndexFunc(cfg.Portals, func(q Portal) bool { return q.ID == tt.wantID })] {
				t.Error("PortalByKey returned a copy, want a pointer into Config.Portals")
			}
		})
	}
	if p, use := (&Config{}).PortalByKey("key-a", now); use != KeyNone || p != nil {
		t.Error("PortalByKey on a config without portals found one")
	}
	if (&Portal{KeyHash: NewSecret(HashKey("key-b")), PreviousKey: cfg.Portals[2].PreviousKey}).KeyMatches("old-key-b") {
		t.Error("KeyMatches accepted the previous key; it checks the current key only")
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	cfg := validConfig()

	if tn, ok := cfg.Tenant("beispielhausen"); !ok || tn != &cfg.Tenants[1] {
		t.Errorf("Tenant(beispielhausen) = %v, %t", tn, ok)
	}
	if tn, ok := cfg.Tenant("nowhere"); ok || tn != nil {
		t.Errorf("Tenant(nowhere) = %v, %t, want none", tn, ok)
	}
	if p, ok := cfg.Portal("gewerbeportal"); !ok || p != &cfg.Portals[1] {
		t.Errorf("Portal(gewerbeportal) = %v, %t", p, ok)
	}
	if p, ok := cfg.Portal(""); ok || p != nil {
		t.Errorf("Portal(\"\") = %v, %t, want none", p, ok)
	}
	if p, ok := cfg.Procedure("bau.baugenehmigung"); !ok || p != &cfg.Procedures[1] {
		t.Errorf("Procedure(bau.baugenehmigung) = %v, %t", p, ok)
	}
	if p, ok := cfg.Procedure("bau"); ok || p != nil {
		t.Errorf("Procedure(bau) = %v, %t, want none", p, ok)
	}
	tn := &cfg.Tenants[0]
	if r, ok := tn.Route("bau.baugenehmigung"); !ok || r != &tn.Procedures[1] || len(r.Destinations) != 2 {
		t.Errorf("Route(bau.baugenehmigung) = %v, %t", r, ok)
	}
	if r, ok := tn.Route("gewerbe.gewerbeanmeldung"); ok || r != nil {
		t.Errorf("Route(gewerbe.gewerbeanmeldung) = %v, %t, want none", r, ok)
	}
	if r, ok := cfg.Tenants[1].Route("bau.baugenehmigung"); ok || r != nil {
		t.Errorf("tenant without routes: Route = %v, %t, want none", r, ok)
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	all := Portal{Tenants: []string{"*"}, Procedures: []string{"*"}}
	some := Portal{Tenants: []string{"musterstadt", "beispielhausen"}, Procedures: []string{"bau.baugenehmigung"}}
	anyTenant := Portal{Tenants: []string{"*"}, Procedures: []string{"bau.baugenehmigung"}}
	tests := []struct {
		name              string
		portal            Portal
		tenant, procedure string
		want              bool
	}{
		{"wildcards", all, "musterstadt", "bau.baugenehmigung", true},
		{"wildcards empty tenant", all, "", "bau.baugenehmigung", false},
		{"wildcards empty procedure", all, "musterstadt", "", false},
		{"listed", some, "beispielhausen", "bau.baugenehmigung", true},
		{"tenant not listed", some, "nowhere", "bau.baugenehmigung", false},
		{"procedure not listed", some, "musterstadt", "gewerbe.gewerbeanmeldung", false},
		{"prefix is not a match", some, "muster", "bau.baugenehmigung", false},
		{"any tenant, listed procedure", anyTenant, "nowhere", "bau.baugenehmigung", true},
		{"any tenant, other procedure", anyTenant, "nowhere", "bau.abriss", false},
		{"empty portal", Portal{}, "musterstadt", "bau.baugenehmigung", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.portal.Allows(tt.tenant, tt.procedure); got != tt.want {
				t.Errorf("Allows(%q, %q) = %t, want %t", tt.tenant, tt.procedure, got, tt.want)
			}
		})
	}
}

func TestTopic(t *testing.T) {
	t.Parallel()
	if got, want := Topic("musterstadt", "meldewesen.wohnungsgeberbestaetigung", "fachverfahren"), "musterstadt/meldewesen.wohnungsgeberbestaetigung/fachverfahren"; got != want {
		t.Errorf("Topic() = %q, want %q", got, want)
	}
}

func TestDestinationTypes(t *testing.T) {
	t.Parallel()
	got := DestinationTypes()
	if want := []string{"filedrop", "http", "amqp", "fitconnect"}; !slices.Equal(got, want) {
		t.Fatalf("DestinationTypes() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if DestinationTypes()[0] != "filedrop" {
		t.Error("DestinationTypes() returns shared state")
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join("var", "lib", "amtsbote")
	cfg := Demo(dataDir, HashKey("demo-key"))
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Demo().Validate() = %v", err)
	}
	tn, ok := cfg.Tenant("musterstadt")
	if !ok {
		t.Fatal("Demo has no tenant musterstadt")
	}
	if tn.Name != "Stadt Musterstadt" || tn.AGS != "09162000" || tn.Behoerdenkennung != "psw:09162000" {
		t.Errorf("tenant = %+v", tn)
	}
	if want := (Contacts{Office: "buergerbuero@musterstadt.example", Technical: "it@musterstadt.example"}); tn.Contacts != want {
		t.Errorf("contacts = %+v, want %+v", tn.Contacts, want)
	}
	const proc = "meldewesen.wohnungsgeberbestaetigung"
	if p, ok := cfg.Procedure(proc); !ok || p.Name != "Wohnungsgeberbestätigung (§ 19 BMG)" {
		t.Errorf("procedure = %v, %t", p, ok)
	}
	r, ok := tn.Route(proc)
	if !ok || len(r.Destinations) != 1 {
		t.Fatalf("route = %v, %t, want one destination", r, ok)
	}
	d := r.Destinations[0]
	if d.ID != "fachverfahren" || d.Type != "filedrop" || d.Reader != "psw:09162000-meldewesen" || d.FileDrop == nil || d.FileDrop.Dir != filepath.Join(dataDir, "drop") {
		t.Errorf("destination = %+v (filedrop %+v)", d, d.FileDrop)
	}
	if d.Retry != (RetryPolicy{}).WithDefaults() || d.Concurrency != 4 {
		t.Errorf("destination defaults not applied: retry %+v concurrency %d", d.Retry, d.Concurrency)
	}
	if cfg.Server.Listen != "127.0.0.1:8080" {
		t.Errorf("server defaults not applied: %+v", cfg.Server)
	}
	for _, other := range []string{"bau.baugenehmigung", "gewerbe.anmeldung"} {
		r, ok := tn.Route(other)
		if !ok || len(r.Destinations) != 2 {
			t.Fatalf("route %s = %v, %t, want the Fachverfahren and the E-Akte", other, r, ok)
		}
		if e := r.Destinations[1]; e.ID != "eakte" || e.Format != FormatXDOMEA || e.XDomea == nil || e.XDomea.Creator == "" ||
			e.FileDrop.Dir != filepath.Join(dataDir, "eakte") {
			t.Errorf("route %s: E-Akte destination = %+v", other, e)
		}
	}
	p, use := cfg.PortalByKey("demo-key", time.Now())
	if use != KeyCurrent || p.ID != "demo-portal" || p.Name != "Demo-Portal" || !p.Allows("musterstadt", proc) {
		t.Errorf("PortalByKey(demo-key) = %+v, %d", p, use)
	}

	bad := Demo(dataDir, "demo-key")
	if got, want := problemPaths(t, bad.Validate()), []string{"portals[0].key_hash"}; !slices.Equal(got, want) {
		t.Errorf("Demo with a plain key: problem paths = %q, want %q", got, want)
	}
}

func TestPreviousKeyExpiresSyntax(t *testing.T) {
	t.Parallel()
	doc := func(expires string) []byte {
		return []byte("portals:\n  - id: p\n    previous_key:\n      expires: " + expires + "\n")
	}
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-31T00:00:00+01:00", time.Date(2026, 12, 31, 0, 0, 0, 0, time.FixedZone("", 3600))},
		{`"2026-12-31T08:30:00Z"`, time.Date(2026, 12, 31, 8, 30, 0, 0, time.UTC)},
		{"2026-12-31", time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)},
	} {
		cfg, err := decode(doc(tt.in))
		if err != nil {
			t.Errorf("expires: %s: %v", tt.in, err)
			continue
		}
		if got := cfg.Portals[0].PreviousKey.Expires; !got.Equal(tt.want) {
			t.Errorf("expires: %s = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{"tomorrow", "'2026-12-31 10:00'", "[2026]", "1798671600"} {
		_, err := decode(doc(in))
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Problems) != 1 || verr.Problems[0].Path != "line 4" ||
			!strings.Contains(verr.Problems[0].Message, "RFC 3339") {
			t.Errorf("expires: %s: error %v, want one problem at line 4 naming RFC 3339", in, err)
		}
	}
}

func TestValidateIntakeAndDatabaseTimeouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want []string // paths of the problems
	}{
		{"defaults", func(*Config) {}, nil},
		{"portal share above the whole", func(c *Config) { c.Server.Intake.PortalInflightBytes = c.Server.Intake.MaxInflightBytes + 1 },
			[]string{"server.intake.portal_inflight_bytes"}},
		{"budget below one body", func(c *Config) { c.Server.Intake.MaxInflightBytes = c.Server.MaxBodyBytes },
			[]string{"server.intake.max_inflight_bytes", "server.intake.portal_inflight_bytes"}},
		{"uploads", func(c *Config) { c.Server.Intake.MaxUploads = 4; c.Server.Intake.PortalMaxUploads = 5 },
			[]string{"server.intake.portal_max_uploads"}},
		{"rate", func(c *Config) { c.Server.Intake.MinBodyRate = -1; c.Server.Intake.BodyRateGrace = dur(-time.Second) },
			[]string{"server.intake.min_body_rate", "server.intake.body_rate_grace"}},
		{"buffer", func(c *Config) { c.Server.Intake.BodyBufferBytes = 1000 }, []string{"server.intake.body_buffer_bytes"}},
		{"acquire beyond the request", func(c *Config) { c.Database.AcquireTimeout = dur(6 * time.Second) },
			[]string{"database.acquire_timeout"}},
		{"request beyond the write timeout", func(c *Config) { c.Server.WriteTimeout = dur(5 * time.Second) },
			[]string{"database.request_timeout"}},
		{"negative timeouts", func(c *Config) {
			c.Database.RequestTimeout, c.Database.StatementTimeout = dur(-time.Second), dur(-time.Second)
		}, []string{"database.request_timeout", "database.statement_timeout", "database.acquire_timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			c.ApplyDefaults()
			tc.edit(c)
			err := c.Validate()
			var got []string
			if ve, ok := errors.AsType[*ValidationError](err); ok {
				for _, p := range ve.Problems {
					got = append(got, p.Path)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("problems at %v, want %v (%v)", got, want, err)
			}
		})
	}
}
