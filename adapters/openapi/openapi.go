// Package openapi holds the OpenAPI 3.1 description of Amtsbote's portal API
// and admin API, embedded, and serves it at /openapi.yaml. Its tests drive
// every handler of adapters/portalapi and adapters/adminapi and validate each
// request and response against the document.
package openapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// Document is the OpenAPI 3.1 document (YAML).
//
//go:embed openapi.yaml
var Document []byte

// ContentType is the media type the document is served as.
const ContentType = "application/yaml"

// CacheControl is the Cache-Control of the document: it changes only with
// the binary, so clients may keep it for an hour and then revalidate it by
// its ETag.
const CacheControl = "public, max-age=3600"

// ETag is the entity tag of the document, a strong one: the SHA-256 of its
// content.
var ETag = func() string {
	sum := sha256.Sum256(Document)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}()

// Handler serves Document to GET and HEAD, with Cache-Control and ETag, and
// answers 304 Not Modified to a request whose If-None-Match names the ETag;
// other methods get 405.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", CacheControl)
		h.Set("ETag", ETag)
		h.Set("X-Content-Type-Options", "nosniff")
		if noneMatch(r.Header.Values("If-None-Match"), ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", ContentType)
		h.Set("Content-Length", strconv.Itoa(len(Document)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(Document)
		}
	})
}

// noneMatch reports whether If-None-Match header values name etag or are
// "*": then the client has the document. Tags compare weakly (RFC 9110,
// section 13.1.2): W/"x" names "x".
func noneMatch(values []string, etag string) bool {
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}
