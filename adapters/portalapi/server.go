package portalapi

import (
	"net/http"
	"time"
)

// MaxHeaderBytes is the limit on request headers of servers from NewServer.
const MaxHeaderBytes = 64 << 10 // 64 KiB

// Timeouts are the limits of an HTTP server (config.Server holds them).
// A zero value means no limit, as in http.Server.
type Timeouts struct {
	// ReadHeader bounds reading the request headers.
	ReadHeader time.Duration
	// Read bounds reading the whole request, body included.
	Read time.Duration
	// Write bounds writing the response, from the end of the headers.
	Write time.Duration
	// Idle bounds how long a keep-alive connection may wait for the next request.
	Idle time.Duration
}

// NewServer returns an HTTP server for h on addr with the timeouts t,
// request headers limited to MaxHeaderBytes and the SecurityHeaders on every
// answer. The caller runs it (ListenAndServe or Serve) and shuts it down,
// after h.SetDraining(true).
func NewServer(addr string, h http.Handler, t Timeouts) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           SecurityHeaders(h),
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// SecurityHeaders sets, on every answer of h, X-Content-Type-Options: nosniff
// (no answer is to be taken for another type than it declares),
// Cache-Control: no-store (answers hold submissions, states and metrics that
// no cache is to keep) unless h sets its own, and Referrer-Policy:
// no-referrer. Every listener of Amtsbote serves through it.
func SecurityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}
