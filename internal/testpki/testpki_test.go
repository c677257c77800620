package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
)

func TestServerCertificateVerifiesForItsHosts(t *testing.T) {
	t.Parallel()
	ca := NewCA(t, "Test CA")
	srv := ca.Server(t, "server", "127.0.0.1", "::1", "localhost")
	for _, tt := range []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1", true}, {"::1", true}, {"localhost", true}, {"example.org", false}, {"10.0.0.1", false},
	} {
		_, err := srv.TLS.Leaf.Verify(x509.VerifyOptions{DNSName: tt.host, Roots: ca.Pool()})
		if (err == nil) != tt.ok {
			t.Errorf("verify for %s: %v, want ok=%v", tt.host, err, tt.ok)
		}
	}
	if _, err := srv.TLS.Leaf.Verify(x509.VerifyOptions{Roots: NewCA(t, "Other CA").Pool()}); err == nil {
		t.Error("verified against another CA")
	}
	if _, err := srv.TLS.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("a server certificate verified as a client certificate")
	}
}

// TestMutualHandshake runs a TLS 1.3 handshake with client authentication
// over the files a configuration would name.
func TestMutualHandshake(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := NewCA(t, "Test CA")
	srvCert, srvKey := ca.Server(t, "server", "127.0.0.1").WriteFiles(t, dir, "server")
	cli := ca.Client(t, "portal-a.example")
	caFile := ca.WriteFile(t, dir, "ca.pem")
	if caFile == srvCert || srvCert == srvKey {
		t.Fatalf("files overlap: %s %s %s", caFile, srvCert, srvKey)
	}
	pair, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	server := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: ca.Pool(),
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13})
	client := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{cli.TLS}, RootCAs: ca.Pool(),
		ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if got := server.ConnectionState().PeerCertificates[0].Subject.CommonName; got != "portal-a.example" {
		t.Errorf("client certificate CN %q, want portal-a.example", got)
	}
}
