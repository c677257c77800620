package portalapi

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/amtsbote/amtsbote/config"
)

// TLSConfig returns the TLS configuration of the portal API server for t,
// or nil when t is not enabled (plain HTTP). With a client CA file, a
// client certificate is requested and, when presented, verified against
// it; whether a portal must present one is its client_cert setting, which
// the Handler checks. Set it as http.Server.TLSConfig and serve with
// tls.NewListener (or ServeTLS with empty file names).
func TLSConfig(t config.ServerTLS) (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	c := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("client ca file: no PEM certificate found")
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c, nil
}

// clientCertMatches reports whether r came with a client certificate that
// the server verified and that matches want in every field set.
func clientCertMatches(r *http.Request, want *config.ClientCert) bool {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return false
	}
	leaf := r.TLS.VerifiedChains[0][0]
	if want.SubjectCN != "" && leaf.Subject.CommonName != want.SubjectCN {
		return false
	}
	if want.SHA256Fingerprint != "" {
		fp, ok := want.Fingerprint()
		if !ok || sha256.Sum256(leaf.Raw) != fp {
			return false
		}
	}
	return true
}

// peerCN is the subject common name of the client certificate presented,
// for the log of a failed authentication; "" without one.
func peerCN(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return r.TLS.PeerCertificates[0].Subject.CommonName
}
