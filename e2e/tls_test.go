package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate and key (PEM) for cn, for a server (with the
// loopback address) or a client.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestServeTLSWithClientCertificates runs serve with server.tls and a portal
// that must present a client certificate besides its key: the right
// certificate gets 202, a missing one 401, one of another CA fails the
// handshake, and plain HTTP is refused.
func TestServeTLSWithClientCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, foreign := newTestCA(t, "Amtsbote Test CA"), newTestCA(t, "Fremde CA")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	srvCert, srvKey := ca.issue(t, "amtsbote.test", true)
	cliCert, cliKey := ca.issue(t, "buergerportal-client", false)
	badCert, badKey := foreign.issue(t, "buergerportal-client", false)
	text := fmt.Sprintf(retryConfig, dir, config.HashKey("tls-key"))
	text = strings.Replace(text, "server:\n", fmt.Sprintf("server:\n  tls:\n    cert_file: %s\n    key_file: %s\n    client_ca_file: %s\n",
		write("server.pem", srvCert), write("server.key", srvKey), write("ca.pem", ca.pem)), 1)
	text = strings.Replace(text, "    procedures: [meldewesen.wohnungsgeberbestaetigung]\n",
		"    procedures: [meldewesen.wohnungsgeberbestaetigung]\n    client_cert:\n      subject_cn: buergerportal-client\n", 1)
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	client := func(certPEM, keyPEM []byte) *http.Client {
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if certPEM != nil {
			c, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			// Sent even when the server asks for another CA's certificates.
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
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
	if code, err := post(client(cliCert, cliKey)); err != nil || code != http.StatusAccepted {
		t.Fatalf("with the portal's certificate: %d %v, want 202", code, err)
	}
	if code, err := post(client(nil, nil)); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("without a certificate: %d %v, want 401", code, err)
	}
	if code, err := post(client(badCert, badKey)); err == nil {
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
