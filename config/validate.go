package config

import (
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/url"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Path locates the value in the YAML document, e.g.
	// "tenants[0].procedures[1].destinations[0].filedrop.dir", or "line 12"
	// for problems found before decoding.
	Path string
	// Message says what is wrong, in lower case.
	Message string
}

// String returns "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError carries every problem found in a configuration.
type ValidationError struct {
	// Problems in document order; never empty.
	Problems []Problem
}

// Error lists the problems one per line as "path: message".
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// DestinationTypes returns the known destination types, each the name of a
// delivery adapter and of the Destination settings block it reads.
func DestinationTypes() []string {
	blocks := (&Destination{}).settingsBlocks()
	types := make([]string, len(blocks))
	for i, b := range blocks {
		types[i] = b.typ
	}
	return types
}

// settingsBlock is the settings block of one destination type.
type settingsBlock struct {
	typ      string                          // destination type; also the block's yaml key
	set      bool                            // the destination has the block
	validate func(path string, v *validator) // called only when set
}

// settingsBlocks lists one entry per destination type. A new type adds its
// settings pointer field to Destination and its entry here.
func (d *Destination) settingsBlocks() []settingsBlock {
	return []settingsBlock{
		{typ: "filedrop", set: d.FileDrop != nil, validate: func(path string, v *validator) { d.FileDrop.validate(path, v) }},
		{typ: "http", set: d.HTTP != nil, validate: func(path string, v *validator) { d.HTTP.validate(path, v) }},
		{typ: "amqp", set: d.AMQP != nil, validate: func(path string, v *validator) { d.AMQP.validate(path, v) }},
		{typ: "fitconnect", set: d.FitConnect != nil, validate: func(path string, v *validator) { d.FitConnect.validate(path, v) }},
	}
}

// Validate checks the configuration, normally after ApplyDefaults, and
// returns a *ValidationError with every problem found, or nil.
func (c *Config) Validate() error {
	v := &validator{}
	c.Server.validate("server", v)
	c.Database.validate("database", v)
	c.Database.validateTimeouts("database", c.Server.WriteTimeout, v)
	c.Server.Intake.validate("server.intake", c.Server.MaxBodyBytes, v)
	c.Database.Encryption.validate("database.encryption", v)
	c.Relay.validate("relay", v)
	c.Retention.validate("retention", v)
	c.Metrics.validate("metrics", c, v)

	procedures := make(map[string]bool, len(c.Procedures))
	if len(c.Procedures) == 0 {
		v.add("procedures", "at least one procedure is required")
	}
	seen := map[string]string{}
	for i, p := range c.Procedures {
		path := fmt.Sprintf("procedures[%d]", i)
		if v.procedureID(path+".id", p.ID) {
			v.unique(path+".id", p.ID, seen)
			procedures[p.ID] = true
		}
		p.Attachments.validate(path+".attachments", v)
		checkText(path+".name", p.Name, v) // the Betreff and Akte title of xdomea messages
		if len(p.XSDPath) > 0 && p.Dir == "" {
			v.add(path+".xsd_path", "is only used with dir (a declarative procedure)")
		}
	}

	tenants := make(map[string]bool, len(c.Tenants))
	if len(c.Tenants) == 0 {
		v.add("tenants", "at least one tenant is required")
	}
	seen = map[string]string{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		path := fmt.Sprintf("tenants[%d]", i)
		if v.id(path+".id", t.ID) {
			v.unique(path+".id", t.ID, seen)
			tenants[t.ID] = true
		}
		t.validate(path, procedures, v)
	}

	if len(c.Portals) == 0 {
		v.add("portals", "at least one portal is required")
	}
	seen = map[string]string{}
	hashes := map[string]string{}
	for i := range c.Portals {
		p := &c.Portals[i]
		path := fmt.Sprintf("portals[%d]", i)
		if v.id(path+".id", p.ID) {
			v.unique(path+".id", p.ID, seen)
		}
		p.validate(path, tenants, procedures, hashes, v)
	}
	c.checkClientCerts(v)
	c.Admin.validate("admin", c.Server.Listen, hashes, tenants, v)
	c.validateAnswers(v, hashes)
	c.validateNotify(v)
	c.validateFitConnect(v)

	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (s *Server) validate(path string, v *validator) {
	if s.Listen == "" {
		v.add(path+".listen", "is required")
	} else if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		v.add(path+".listen", "must be host:port: %v", unwrapAddrError(err))
	}
	v.positive(path+".read_header_timeout", s.ReadHeaderTimeout)
	v.positive(path+".read_timeout", s.ReadTimeout)
	v.positive(path+".write_timeout", s.WriteTimeout)
	v.positive(path+".idle_timeout", s.IdleTimeout)
	v.positive(path+".shutdown_timeout", s.ShutdownTimeout)
	if s.DrainDelay != nil && (s.DrainDelay.Duration < 0 ||
		s.ShutdownTimeout.Duration > 0 && s.DrainDelay.Duration > s.ShutdownTimeout.Duration) {
		v.add(path+".drain_delay", "must be between 0 and shutdown_timeout")
	}
	if s.MaxBodyBytes <= 0 {
		v.add(path+".max_body_bytes", "must be positive, got %d", s.MaxBodyBytes)
	}
	s.TLS.validate(path+".tls", v)
}

func unwrapAddrError(err error) error {
	var aerr *net.AddrError
	if errors.As(err, &aerr) {
		return errors.New(aerr.Err)
	}
	return err
}

// validate checks the URL without ever printing it: it may hold a password.
func (d *Database) validate(path string, v *validator) {
	if d.MaxConns < 2 || d.MaxConns > 1000 {
		v.add(path+".max_conns", "must be from 2 to 1000 (got %d)", d.MaxConns)
	}
	if d.URL == "" {
		return
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		v.add(path+".url", "is not a valid URL: %v", err)
		return
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		v.add(path+".url", "scheme must be postgres or postgresql, got %q", u.Scheme)
	}
}

func (r *Relay) validate(path string, v *validator) {
	v.positive(path+".lease", r.Lease)
	v.positive(path+".poll_interval", r.PollInterval)
	if r.Concurrency <= 0 {
		v.add(path+".concurrency", "must be positive, got %d", r.Concurrency)
	}
}

// validate reports the problems of l under path.
func (l AttachmentLimits) validate(path string, v *validator) {
	if l.MaxCount < 0 || l.MaxCount > MaxAttachmentCount {
		v.add(path+".max_count", "must be between 0 (default %d) and %d, got %d",
			DefaultAttachmentMaxCount, MaxAttachmentCount, l.MaxCount)
	}
	switch {
	case l.MaxBytes <= 0:
		v.add(path+".max_bytes", "must be positive, got %d", l.MaxBytes)
	case l.MaxBytes > MaxAttachmentBytes:
		v.add(path+".max_bytes", "must not exceed %d (4 GiB), got %d", int64(MaxAttachmentBytes), l.MaxBytes)
	}
	if l.MaxTotalBytes < 0 {
		v.add(path+".max_total_bytes", "must not be negative (0: no limit beyond max_count times max_bytes), got %d", l.MaxTotalBytes)
	}
	seen := map[string]string{}
	for i, mt := range l.MIMETypes {
		tpath := fmt.Sprintf("%s.mime_types[%d]", path, i)
		if msg := checkMediaType(mt); msg != "" {
			v.add(tpath, "%s, got %q", msg, mt)
			continue
		}
		v.unique(tpath, strings.ToLower(mt), seen)
	}
}

// checkMediaType returns what is wrong with mt as an allowed attachment
// media type, "" when nothing is.
func checkMediaType(mt string) string {
	parsed, params, err := mime.ParseMediaType(mt)
	typ, sub, found := strings.Cut(parsed, "/")
	switch {
	case err != nil:
		return "must be a media type like application/pdf"
	case len(params) > 0 || strings.Contains(mt, ";"):
		return "must be a media type without parameters"
	case !found || typ == "" || sub == "" || strings.TrimSpace(mt) != mt:
		return "must be a media type like application/pdf"
	case typ == "*" || sub == "*":
		return "must be a media type without wildcards"
	}
	return ""
}

func (t *Tenant) validate(path string, procedures map[string]bool, v *validator) {
	if strings.TrimSpace(t.Name) == "" {
		// XBau requires the author's name; xdomea names the tenant in every message.
		v.add(path+".name", "is required: it names the authority (Autor) in the messages, e.g. \"Stadt Musterstadt\"")
	} else {
		checkText(path+".name", t.Name, v) // the author's name in every message
	}
	if !isDigits(t.AGS, 8) {
		v.add(path+".ags", "must be exactly 8 digits (Amtlicher Gemeindeschlüssel), got %q", t.AGS)
	}
	if t.Behoerdenkennung == "" {
		v.add(path+".behoerdenkennung", "is required: every XÖV message names its author (e.g. the DVDV kennung psw:09162000)")
	} else {
		v.kennung(path+".behoerdenkennung", t.Behoerdenkennung)
	}
	v.email(path+".contacts.office", t.Contacts.Office)
	v.email(path+".contacts.technical", t.Contacts.Technical)

	routed := map[string]string{}
	for i := range t.Procedures {
		r := &t.Procedures[i]
		rpath := fmt.Sprintf("%s.procedures[%d]", path, i)
		switch {
		case r.Procedure == "":
			v.add(rpath+".procedure", "is required")
		case !procedures[r.Procedure]:
			v.add(rpath+".procedure", "unknown procedure %q", r.Procedure)
		default:
			v.unique(rpath+".procedure", r.Procedure, routed)
		}
		if len(r.Destinations) == 0 {
			v.add(rpath+".destinations", "at least one destination is required")
		}
		ids := map[string]string{}
		for j := range r.Destinations {
			d := &r.Destinations[j]
			dpath := fmt.Sprintf("%s.destinations[%d]", rpath, j)
			if v.id(dpath+".id", d.ID) {
				v.unique(dpath+".id", d.ID, ids)
			}
			d.validate(dpath, v)
		}
	}
}

func (d *Destination) validate(path string, v *validator) {
	if d.Reader != "" {
		v.kennung(path+".reader", d.Reader)
	}
	checkText(path+".reader_name", d.ReaderName, v) // the reader's name in every message
	d.Retry.validate(path+".retry", v)
	if d.Concurrency < 0 {
		v.add(path+".concurrency", "must not be negative, got %d", d.Concurrency)
	}
	if d.Circuit.Pause.Duration < 0 || d.Circuit.MaxPause.Duration < 0 {
		v.add(path+".circuit", "pauses must not be negative")
	}
	switch {
	case d.Format != "" && d.Format != FormatXOEV && d.Format != FormatXDOMEA:
		v.add(path+".format", "unknown format %q, want %s or %s", d.Format, FormatXOEV, FormatXDOMEA)
	case d.Format == FormatXDOMEA && d.XDomea == nil:
		v.add(path+".xdomea", "is required for format %s", FormatXDOMEA)
	case d.Format == FormatXDOMEA && strings.TrimSpace(d.XDomea.Creator) == "":
		v.add(path+".xdomea.creator", "is required")
	case d.Format != FormatXDOMEA && d.XDomea != nil:
		v.add(path+".xdomea", "only allowed with format %s", FormatXDOMEA)
	}
	if d.Format == FormatXDOMEA && d.XDomea != nil {
		d.XDomea.validate(path+".xdomea", v)
	}

	blocks := d.settingsBlocks()
	known := false
	for _, b := range blocks {
		if b.typ == d.Type {
			known = true
		}
	}
	switch {
	case d.Type == "":
		v.add(path+".type", "is required, one of: %s", strings.Join(DestinationTypes(), ", "))
		return
	case !known:
		v.add(path+".type", "unknown destination type %q, want one of: %s", d.Type, strings.Join(DestinationTypes(), ", "))
		return
	}
	for _, b := range blocks {
		bpath := path + "." + b.typ
		switch {
		case b.typ == d.Type && !b.set:
			v.add(bpath, "is required for type %s", d.Type)
		case b.typ == d.Type:
			b.validate(bpath, v)
		case b.set:
			v.add(bpath, "not allowed with type %s", d.Type)
		}
	}
}

// validate reports the rules of every HTTP destination (Problems) under path.
func (h *HTTP) validate(path string, v *validator) {
	for _, p := range h.Problems() {
		v.add(path+"."+p.Path, "%s", p.Message)
	}
}

func (a *AMQP) validate(path string, v *validator) {
	u, err := url.Parse(a.URL.Value())
	if a.URL.IsZero() {
		v.add(path+".url", "is required")
	} else if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		v.add(path+".url", "must be an amqp or amqps URL")
	}
	if a.Exchange == "" {
		v.add(path+".exchange", "is required")
	}
	if a.MaxMessageBytes < 0 || a.MaxMessageBytes > 512<<20 {
		v.add(path+".max_message_bytes", "must be between 0 (default 128 MiB) and 536870912 (512 MiB), got %d", a.MaxMessageBytes)
	}
}

func (f *FileDrop) validate(path string, v *validator) {
	if f.Dir == "" {
		v.add(path+".dir", "is required")
	}
}

func (p *Portal) validate(path string, tenants, procedures map[string]bool, hashes map[string]string, v *validator) {
	validateKeyHash(path+".key_hash", p.KeyHash.Value(), hashes, v)
	if k := p.PreviousKey; k != nil {
		kpath := path + ".previous_key"
		validateKeyHash(kpath+".hash", k.Hash.Value(), hashes, v)
		if k.Expires.IsZero() {
			v.add(kpath+".expires", "is required: when the previous key stops working, RFC 3339 (e.g. 2026-12-31T00:00:00+01:00)")
		}
	}
	v.references(path+".tenants", "tenant", p.Tenants, tenants)
	v.references(path+".procedures", "procedure", p.Procedures, procedures)
	p.validateAccess(path, v)
	if t := p.IdentityToken; t != nil {
		t.validate(path+".identity_token", v)
	}
}

// validateKeyHash checks the key hash h at path, and that no other key has
// it (hashes maps each hash seen to its path).
func validateKeyHash(path, h string, hashes map[string]string, v *validator) {
	switch {
	case h == "":
		v.add(path, "is required")
	case !isKeyHash(h):
		// Never print the value, even a malformed one may be a pasted key.
		v.add(path, "must be \"sha256:\" and 64 lower-case hex digits, as amtsbote portal-key prints it")
	case hashes[h] != "":
		v.add(path, "same key hash as %s", hashes[h])
	default:
		hashes[h] = path
	}
}

func isKeyHash(s string) bool {
	_, ok := parseKeyHash(s)
	return ok
}

// validator collects problems.
type validator struct {
	problems []Problem
}

// kennung checks a Behördenkennung: "praefix:kennung" as the XÖV
// Nachrichtenkopf writes it (praefix and kennung elements), without spaces.
func (v *validator) kennung(path, s string) {
	praefix, kennung, ok := strings.Cut(s, ":")
	if !ok || praefix == "" || kennung == "" || strings.ContainsAny(s, " \t\r\n") {
		v.add(path, "must have the form praefix:kennung without spaces, e.g. psw:09162000")
	}
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// id checks an ID of a tenant, portal or destination and reports whether it is valid.
func (v *validator) id(path, id string) bool {
	switch {
	case id == "":
		v.add(path, "is required")
	case !isID(id):
		v.add(path, "must match ^[a-z0-9][a-z0-9-]*$, got %q", id)
	default:
		return true
	}
	return false
}

// procedureID checks a procedure ID and reports whether it is valid.
func (v *validator) procedureID(path, id string) bool {
	switch {
	case id == "":
		v.add(path, "is required")
	case !isProcedureID(id):
		v.add(path, "must match ^[a-z0-9]+(\\.[a-z0-9-]+)+$ like \"bau.baugenehmigung\", got %q", id)
	default:
		return true
	}
	return false
}

// unique reports id if seen already holds it, else records it under path.
func (v *validator) unique(path, id string, seen map[string]string) {
	if first, ok := seen[id]; ok {
		v.add(path, "duplicate %q, first at %s", id, first)
		return
	}
	seen[id] = path
}

// references checks a portal's list of allowed IDs.
func (v *validator) references(path, what string, list []string, known map[string]bool) {
	if len(list) == 0 {
		v.add(path, "at least one %s or \"*\" is required", what)
	}
	for i, id := range list {
		if id != wildcard && !known[id] {
			v.add(fmt.Sprintf("%s[%d]", path, i), "unknown %s %q", what, id)
		}
	}
}

func (v *validator) positive(path string, d Duration) {
	if d.Duration <= 0 {
		v.add(path, "must be positive, got %s", d)
	}
}

func (v *validator) nonNegative(path string, d Duration) {
	if d.Duration < 0 {
		v.add(path, "must not be negative, got %s", d)
	}
}

func (v *validator) email(path, addr string) {
	if addr == "" {
		return
	}
	if _, err := mail.ParseAddress(addr); err != nil {
		v.add(path, "is not a valid e-mail address: %v", err)
	}
}

// isID reports whether s matches ^[a-z0-9][a-z0-9-]*$.
func isID(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

// isProcedureID reports whether s matches ^[a-z0-9]+(\.[a-z0-9-]+)+$.
func isProcedureID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for j := 0; j < len(p); j++ {
			if !isLowerAlnum(p[j]) && (i == 0 || p[j] != '-') {
				return false
			}
		}
	}
	return true
}

func isLowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
