package e2e

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/internal/testpki"
)

// TestServeTLSWithClientCertificates runs serve with server.tls and a portal
// that must present a client certificate besides its key: the right
// certificate gets 202, a missing one 401, one of another CA fails the
// handshake, and plain HTTP is refused.
func TestServeTLSWithClientCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, foreign := testpki.NewCA(t, "Amtsbote Test CA"), testpki.NewCA(t, "Fremde CA")
	srvCert, srvKey := ca.Server(t, "amtsbote.test", "127.0.0.1").WriteFiles(t, dir, "server")
	cli := ca.Client(t, "buergerportal-client")
	bad := foreign.Client(t, "buergerportal-client")
	text := fmt.Sprintf(retryConfig, dir, config.HashKey("tls-key"))
	text = strings.Replace(text, "server:\n", fmt.Sprintf("server:\n  tls:\n    cert_file: %s\n    key_file: %s\n    client_ca_file: %s\n",
		srvCert, srvKey, ca.WriteFile(t, dir, "ca.pem")), 1)
	text = strings.Replace(text, "    procedures: [meldewesen.wohnungsgeberbestaetigung]\n",
		"    procedures: [meldewesen.wohnungsgeberbestaetigung]\n    client_cert:\n      subject_cn: buergerportal-client\n", 1)
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))

	client := func(cert *testpki.Cert) *http.Client {
		cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
		if cert != nil {
			// Sent even when the server asks for another CA's certificates.
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert.TLS, nil }
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	post := func(c *http.Client) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, "https://"+p.addr+"/v1/submissions", bytes.NewReader(demoBody(t)))
		req.Header.Set("Authorization", "Bearer tls-key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := post(client(cli)); err != nil || code != http.StatusAccepted {
		t.Fatalf("with the portal's certificate: %d %v, want 202", code, err)
	}
	if code, err := post(client(nil)); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("without a certificate: %d %v, want 401", code, err)
	}
	if code, err := post(client(bad)); err == nil {
		t.Fatalf("with a certificate of another CA: %d, want a failed handshake", code)
	}
	if resp, err := http.Get("http://" + p.addr + "/v1/submissions/x"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP: %d, want 400 from the TLS listener", resp.StatusCode)
		}
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
}
