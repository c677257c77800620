package config

import (
	"crypto/sha256"
	"net"
)

// DefaultAdminListen is the default of Admin.Listen: loopback only.
const DefaultAdminListen = "127.0.0.1:8081"

// Admin configures the admin HTTP API (dead-letter management). It has its own
// listener and credential, separate from the portal API and the portals' keys.
type Admin struct {
	// Listen is the TCP address of the admin API, host:port. Default
	// DefaultAdminListen; it must differ from server.listen.
	Listen string `yaml:"listen"`
	// KeyHash is HashKey of the admin API key: "sha256:" and 64 lower-case hex
	// digits, distinct from every portal's. Empty disables the admin API.
	KeyHash Secret `yaml:"key_hash"`
}

// Enabled reports whether the admin API is to be served.
func (a Admin) Enabled() bool { return a.KeyHash.Value() != "" }

// KeyMatches reports whether key is the admin API key, comparing the digests
// in constant time. It is false while the admin API is disabled.
func (a Admin) KeyMatches(key string) bool {
	return compareKeyHash(a.KeyHash.Value(), sha256.Sum256([]byte(key))) == 1
}

// validate checks the admin settings; portalHashes maps the portals' key
// hashes to their paths, so that no portal key opens the admin API.
func (a *Admin) validate(path string, serverListen string, portalHashes map[string]string, v *validator) {
	if !a.Enabled() {
		return
	}
	hpath := path + ".key_hash"
	switch h := a.KeyHash.Value(); {
	case !isKeyHash(h):
		v.add(hpath, "must be \"sha256:\" and 64 lower-case hex digits, as amtsbote portal-key prints it")
	case portalHashes[h] != "":
		v.add(hpath, "same key hash as %s: the admin key must be separate from the portal keys", portalHashes[h])
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
}
