package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
)

// keyHashPrefix starts every Portal.KeyHash.
const keyHashPrefix = "sha256:"

// HashKey returns the form of an API key stored in Portal.KeyHash:
// "sha256:" and the lower-case hex SHA-256 digest of the key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return keyHashPrefix + hex.EncodeToString(sum[:])
}

// parseKeyHash returns the digest of a well-formed key hash.
func parseKeyHash(s string) ([sha256.Size]byte, bool) {
	var digest [sha256.Size]byte
	h, ok := strings.CutPrefix(s, keyHashPrefix)
	if !ok || len(h) != hex.EncodedLen(sha256.Size) || strings.ToLower(h) != h {
		return digest, false
	}
	if _, err := hex.Decode(digest[:], []byte(h)); err != nil {
		return digest, false
	}
	return digest, true
}

// PreviousKey is a portal's former API key during a key rotation: it is
// accepted as well as the current key until Expires, and refused from then
// on.
type PreviousKey struct {
	// Hash is HashKey of the former key.
	Hash Secret `yaml:"hash"`
	// Expires is when the former key stops working; required.
	Expires Timestamp `yaml:"expires"`
}

// Active reports whether the previous key is accepted at now.
func (k *PreviousKey) Active(now time.Time) bool {
	return k != nil && now.Before(k.Expires.Time)
}

// KeyUse says which of a portal's API keys a request presented.
type KeyUse uint8

// Values of KeyUse.
const (
	KeyNone     KeyUse = iota // no portal's key
	KeyCurrent                // the portal's key_hash
	KeyPrevious               // the portal's previous_key, before it expires
)

// KeyMatches reports whether key is the portal's current API key (the one
// of KeyHash), comparing the digests in constant time.
func (p Portal) KeyMatches(key string) bool {
	sum := sha256.Sum256([]byte(key))
	return compareKeyHash(p.KeyHash.Value(), sum) == 1
}

// compareKeyHash returns 1 if sum is the digest in the key hash h, 0
// otherwise (also for a malformed h), in constant time.
func compareKeyHash(h string, sum [sha256.Size]byte) int {
	want, ok := parseKeyHash(h)
	if !ok {
		return 0
	}
	return subtle.ConstantTimeCompare(sum[:], want[:])
}

// match returns which of the portal's keys has the digest sum at now. The
// current hash is always compared, the previous one whenever it is active;
// neither depends on the key presented.
func (p *Portal) match(sum [sha256.Size]byte, now time.Time) KeyUse {
	current := compareKeyHash(p.KeyHash.Value(), sum)
	previous := 0
	if p.PreviousKey.Active(now) {
		previous = compareKeyHash(p.PreviousKey.Hash.Value(), sum)
	}
	use := subtle.ConstantTimeSelect(previous, int(KeyPrevious), int(KeyNone))
	return KeyUse(subtle.ConstantTimeSelect(current, int(KeyCurrent), use))
}

// PortalByKey returns the portal whose API key is key at now, and which of
// its keys it is: its key_hash, or its previous_key before that expires
// (KeyNone and nil when no portal has the key). It compares the key's
// digest with every portal's keys, without stopping at a match, so the time
// taken depends on the configuration only.
func (c *Config) PortalByKey(key string, now time.Time) (*Portal, KeyUse) {
	sum := sha256.Sum256([]byte(key))
	found, use := -1, int(KeyNone)
	for i := range c.Portals {
		u := int(c.Portals[i].match(sum, now))
		hit := subtle.ConstantTimeLessOrEq(1, u)
		found = subtle.ConstantTimeSelect(hit, i, found)
		use = subtle.ConstantTimeSelect(hit, u, use)
	}
	if found < 0 {
		return nil, KeyNone
	}
	return &c.Portals[found], KeyUse(use)
}

// ClientCert pins the TLS client certificate of a portal. The certificate
// must be verified against server.tls.client_ca_file and match every field
// that is set; at least one must be.
type ClientCert struct {
	// SubjectCN is the certificate's subject common name, compared exactly.
	SubjectCN string `yaml:"subject_cn"`
	// SHA256Fingerprint is the SHA-256 digest of the certificate (DER), 64
	// hex digits, optionally in pairs separated by colons as openssl prints
	// it; case does not matter.
	SHA256Fingerprint string `yaml:"sha256_fingerprint"`
}

// Fingerprint returns SHA256Fingerprint as 32 bytes, and whether it is set
// and well-formed.
func (c *ClientCert) Fingerprint() ([sha256.Size]byte, bool) {
	var fp [sha256.Size]byte
	h := strings.ToLower(strings.ReplaceAll(c.SHA256Fingerprint, ":", ""))
	if len(h) != hex.EncodedLen(sha256.Size) {
		return fp, false
	}
	if _, err := hex.Decode(fp[:], []byte(h)); err != nil {
		return fp, false
	}
	return fp, true
}

// RateLimit is a token bucket: PerSecond requests per second on average,
// up to Burst at once.
type RateLimit struct {
	// PerSecond is the sustained rate, requests per second; positive.
	PerSecond float64 `yaml:"per_second"`
	// Burst is the number of requests allowed at once; 0 means PerSecond
	// rounded up, at least 1.
	Burst int `yaml:"burst"`
}

// EffectiveBurst is Burst, or its default when 0.
func (r RateLimit) EffectiveBurst() int {
	if r.Burst > 0 {
		return r.Burst
	}
	return max(1, int(math.Ceil(r.PerSecond)))
}

// ServerTLS makes the portal API serve HTTPS. Files are PEM.
type ServerTLS struct {
	// CertFile and KeyFile are the server's certificate (chain) and key;
	// both or neither. Without them the API speaks plain HTTP.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is a bundle of CAs that issue portal client
	// certificates. With it, a client certificate is requested and, when
	// presented, verified; portals with client_cert must present one.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether the API serves HTTPS.
func (t ServerTLS) Enabled() bool { return t.CertFile != "" }

func (t *ServerTLS) validate(path string, v *validator) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.add(path, "cert_file and key_file must be set together")
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		v.add(path+".client_ca_file", "needs cert_file and key_file: client certificates need TLS")
	}
}

// validateAccess checks the portal's client_cert and rate_limit.
func (p *Portal) validateAccess(path string, v *validator) {
	if c := p.ClientCert; c != nil {
		cpath := path + ".client_cert"
		if c.SubjectCN == "" && c.SHA256Fingerprint == "" {
			v.add(cpath, "needs subject_cn or sha256_fingerprint")
		}
		if _, ok := c.Fingerprint(); c.SHA256Fingerprint != "" && !ok {
			v.add(cpath+".sha256_fingerprint", "must be 64 hex digits, optionally separated by colons")
		}
	}
	if r := p.RateLimit; r != nil {
		rpath := path + ".rate_limit"
		if !(r.PerSecond > 0) || math.IsInf(r.PerSecond, 0) {
			v.add(rpath+".per_second", "must be a positive number, got %s", fmt.Sprint(r.PerSecond))
		}
		if r.Burst < 0 {
			v.add(rpath+".burst", "must not be negative, got %d", r.Burst)
		}
	}
}

// checkClientCerts reports portals that require a client certificate the
// server cannot verify.
func (c *Config) checkClientCerts(v *validator) {
	if c.Server.TLS.ClientCAFile != "" {
		return
	}
	for i, p := range c.Portals {
		if p.ClientCert != nil {
			v.add(fmt.Sprintf("portals[%d].client_cert", i), "needs server.tls.client_ca_file to verify client certificates")
		}
	}
}
