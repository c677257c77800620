package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
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

// KeyMatches reports whether key is the portal's API key, comparing the
// digests in constant time.
func (p Portal) KeyMatches(key string) bool {
	sum := sha256.Sum256([]byte(key))
	return p.compare(sum) == 1
}

// compare returns 1 if sum is the digest in p.KeyHash, 0 otherwise
// (also for a malformed KeyHash), in constant time.
func (p *Portal) compare(sum [sha256.Size]byte) int {
	want, ok := parseKeyHash(p.KeyHash.Value())
	if !ok {
		return 0
	}
	return subtle.ConstantTimeCompare(sum[:], want[:])
}

// PortalByKey returns the portal whose API key is key. It compares the key's
// digest with every portal's, without stopping at a match, so the time taken
// depends on the number of portals only.
func (c *Config) PortalByKey(key string) (*Portal, bool) {
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i := range c.Portals {
		found = subtle.ConstantTimeSelect(c.Portals[i].compare(sum), i, found)
	}
	if found < 0 {
		return nil, false
	}
	return &c.Portals[found], true
}
