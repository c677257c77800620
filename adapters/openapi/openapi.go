// Package openapi holds the OpenAPI 3.1 description of Amtsbote's portal API
// and admin API, embedded, and serves it at /openapi.yaml. Its tests drive
// every handler of adapters/portalapi and adapters/adminapi and validate each
// request and response against the document.
package openapi

import (
	_ "embed"
	"net/http"
	"strconv"
)

// Document is the OpenAPI 3.1 document (YAML).
//
//go:embed openapi.yaml
var Document []byte

// ContentType is the media type the document is served as.
const ContentType = "application/yaml"

// Handler serves Document to GET and HEAD; other methods get 405.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("Content-Length", strconv.Itoa(len(Document)))
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(Document)
		}
	})
}
