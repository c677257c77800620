package config

import (
	"crypto/sha256"
	"fmt"
	"net"
	"time"
)

// DefaultAdminListen is the default of Admin.Listen: loopback only.
const DefaultAdminListen = "127.0.0.1:8081"

// Defaults of the admin listener's key throttling and console sessions.
const (
	DefaultFailedKeyLimit     = 10
	DefaultFailedKeyWindow    = time.Minute
	DefaultConsoleIdleTimeout = 15 * time.Minute
	// DefaultConsoleSessionLifetime is the default of Console.SessionLifetime.
	DefaultConsoleSessionLifetime = 12 * time.Hour
)

// Admin configures the admin HTTP API (dead-letter management) and the
// operators' web console on the same listener. It has its own listener and
// credentials, separate from the portal API and the portals' keys.
type Admin struct {
	// Listen is the TCP address of the admin API, host:port. Default
	// DefaultAdminListen; it must differ from server.listen.
	Listen string `yaml:"listen"`
	// KeyHash is HashKey of the full admin key, which sees every tenant:
	// "sha256:" and 64 lower-case hex digits, distinct from every portal's.
	// The admin listener is served when it or an operator is set.
	KeyHash Secret `yaml:"key_hash"`
	// Operators are keys scoped to tenants: an operator sees, replays and
	// discards only the messages of its tenants, in the admin API and the console.
	Operators []Operator `yaml:"operators"`
	// FailedKeyLimit is how many wrong keys (admin API requests whose key
	// matches none, failed console logins) one client address (an IPv6 /64)
	// may send within FailedKeyWindow; beyond it every request from there
	// gets 429 with Retry-After until the window ends. Requests without a key
	// get 401 and do not count. Default DefaultFailedKeyLimit.
	FailedKeyLimit int `yaml:"failed_key_limit"`
	// FailedKeyWindow is the window of FailedKeyLimit. Default 1m.
	FailedKeyWindow Duration `yaml:"failed_key_window"`
	// TLS, when its cert_file is set, serves the admin API and the console
	// over HTTPS (client_ca_file is not supported here).
	TLS ServerTLS `yaml:"tls"`
	// Console configures the web console under /console/.
	Console Console `yaml:"console"`
}

// Operator is an admin key scoped to tenants.
type Operator struct {
	// ID names the operator in the audit trail and logs: lower-case letters,
	// digits and '-'; unique.
	ID string `yaml:"id"`
	// Name is a display name, e.g. "IT-Dienstleister Musterstadt".
	Name string `yaml:"name"`
	// KeyHash is HashKey of the operator's key, distinct from every other key.
	KeyHash Secret `yaml:"key_hash"`
	// Tenants are the ids of the tenants the operator may see; at least one.
	Tenants []string `yaml:"tenants"`
}

// Console configures the operators' web console.
type Console struct {
	// Disabled turns the console off; the admin API stays.
	Disabled bool `yaml:"disabled"`
	// IdleTimeout ends a console session after this time without a request.
	// Default 15m.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// SessionLifetime ends a console session this long after the login,
	// however active it is. Default 12h.
	SessionLifetime Duration `yaml:"session_lifetime"`
	// SecureCookie marks the session cookie Secure although the admin
	// listener speaks plain HTTP, for a TLS-terminating proxy in front of
	// it. With admin.tls the cookie is always Secure.
	SecureCookie bool `yaml:"secure_cookie"`
}

// Enabled reports whether the admin listener is to be served: a full admin
// key or at least one operator is configured.
func (a Admin) Enabled() bool { return a.KeyHash.Value() != "" || len(a.Operators) > 0 }

// KeyMatches reports whether key is the full admin key, comparing the
// digests in constant time. It is false while no admin key is set.
func (a Admin) KeyMatches(key string) bool {
	return compareKeyHash(a.KeyHash.Value(), sha256.Sum256([]byte(key))) == 1
}

// Authenticate finds the holder of key: full is true for the full admin
// key; op is the scoped operator otherwise; ok is false for an unknown key.
// Every configured hash is compared in constant time, whichever matches.
func (a Admin) Authenticate(key string) (op *Operator, full, ok bool) {
	sum := sha256.Sum256([]byte(key))
	full = compareKeyHash(a.KeyHash.Value(), sum) == 1
	for i := range a.Operators {
		if compareKeyHash(a.Operators[i].KeyHash.Value(), sum) == 1 && op == nil {
			op = &a.Operators[i]
		}
	}
	if full {
		return nil, true, true
	}
	return op, false, op != nil
}

func (a *Admin) applyDefaults() {
	setDefault(&a.Listen, DefaultAdminListen)
	setDefault(&a.FailedKeyLimit, DefaultFailedKeyLimit)
	setDefault(&a.FailedKeyWindow.Duration, DefaultFailedKeyWindow)
	setDefault(&a.Console.IdleTimeout.Duration, DefaultConsoleIdleTimeout)
	setDefault(&a.Console.SessionLifetime.Duration, DefaultConsoleSessionLifetime)
}

// validate checks the admin settings; portalHashes maps the portals' key
// hashes to their paths, so that no portal key opens the admin API, and
// tenants holds the configured tenant ids.
func (a *Admin) validate(path string, serverListen string, portalHashes map[string]string, tenants map[string]bool, v *validator) {
	if !a.Enabled() {
		return
	}
	keys := map[string]string{}
	checkHash := func(hpath, h string) {
		switch {
		case !isKeyHash(h):
			v.add(hpath, "must be \"sha256:\" and 64 lower-case hex digits, as amtsbote portal-key prints it")
		case portalHashes[h] != "":
			v.add(hpath, "same key hash as %s: admin keys must be separate from the portal keys", portalHashes[h])
		case keys[h] != "":
			v.add(hpath, "same key hash as %s: every admin and operator key must be distinct", keys[h])
		default:
			keys[h] = hpath
		}
	}
	if h := a.KeyHash.Value(); h != "" {
		checkHash(path+".key_hash", h)
	}
	seen := map[string]string{}
	for i := range a.Operators {
		o := &a.Operators[i]
		opath := fmt.Sprintf("%s.operators[%d]", path, i)
		if v.id(opath+".id", o.ID) {
			v.unique(opath+".id", o.ID, seen)
		}
		if o.KeyHash.Value() == "" {
			v.add(opath+".key_hash", "is required")
		} else {
			checkHash(opath+".key_hash", o.KeyHash.Value())
		}
		if len(o.Tenants) == 0 {
			v.add(opath+".tenants", "at least one tenant is required")
		}
		for j, t := range o.Tenants {
			if !tenants[t] {
				v.add(fmt.Sprintf("%s.tenants[%d]", opath, j), "unknown tenant %q", t)
			}
		}
	}
	switch {
	case a.Listen == "":
		v.add(path+".listen", "is required")
	case a.Listen == serverListen:
		v.add(path+".listen", "must differ from server.listen")
	default:
		if _, _, err := net.SplitHostPort(a.Listen); err != nil {
			v.add(path+".listen", "must be host:port: %v", unwrapAddrError(err))
		}
	}
	if a.FailedKeyLimit < 1 {
		v.add(path+".failed_key_limit", "must be at least 1, got %d", a.FailedKeyLimit)
	}
	v.positive(path+".failed_key_window", a.FailedKeyWindow)
	v.positive(path+".console.idle_timeout", a.Console.IdleTimeout)
	v.positive(path+".console.session_lifetime", a.Console.SessionLifetime)
	a.TLS.validate(path+".tls", v)
	if a.TLS.ClientCAFile != "" {
		v.add(path+".tls.client_ca_file", "is not supported on the admin listener")
	}
}
