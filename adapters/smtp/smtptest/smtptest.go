// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) in
// tests: STARTTLS or implicit TLS on a certificate of a fresh test CA, AUTH
// PLAIN (github.com/emersion/go-sasl), and every accepted mail recorded with
// its envelope, parsed headers and decoded text.
package smtptest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/internal/testpki"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of Options.
const (
	StartTLS    = "starttls"
	ImplicitTLS = "tls"
	NoTLS       = "none"
)

// Options configure a Server.
type Options struct {
	// TLS is StartTLS (default), ImplicitTLS or NoTLS.
	TLS string
	// Username and Password, when set, are required with AUTH PLAIN before MAIL.
	Username, Password string
	// Reject, optional, is asked for every recipient; an error (e.g. an
	// *smtp.SMTPError with a 4xx or 5xx code) is the server's answer to RCPT.
	Reject func(rcpt string) error
}

// Message is one mail the server accepted.
type Message struct {
	From   string
	To     []string // envelope recipients
	Raw    []byte   // the message as transmitted
	Header mail.Header
	// Text is the body, transfer encoding (quoted-printable, base64) undone.
	Text string
	// TLS reports whether the session was encrypted, Username who authenticated.
	TLS      bool
	Username string
}

// Server is a running SMTP server; it is closed by the test's cleanup.
type Server struct {
	// Host and Port are where it listens (127.0.0.1).
	Host string
	Port int
	// CertPEM is the certificate of the CA that issued the server's
	// certificate (for 127.0.0.1 and localhost), for a client's CA file;
	// CertPool holds it.
	CertPEM  []byte
	CertPool *x509.CertPool

	opts Options
	mu   sync.Mutex
	msgs []Message
}

// New starts a server for t.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.TLS == "" {
		opts.TLS = StartTLS
	}
	ca := testpki.NewCA(t, "smtptest CA")
	cert := ca.Server(t, "smtptest", "127.0.0.1", "localhost").TLS
	s := &Server{opts: opts, CertPEM: ca.PEM, CertPool: ca.Pool()}

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.AllowInsecureAuth = opts.TLS == NoTLS
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var ln net.Listener
	var err error
	switch opts.TLS {
	case ImplicitTLS:
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tlsConfig)
	case StartTLS:
		srv.TLSConfig = tlsConfig
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = addr.IP.String(), addr.Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		ln.Close() // Close misses a listener Serve has not registered yet
		<-done
	})
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Messages returns the mails accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

type session struct {
	srv      *Server
	conn     *smtp.Conn
	username string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.srv.opts.Username || password != s.srv.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.username = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opts.Username != "" && s.username == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.srv.opts.Reject != nil {
		if err := s.srv.opts.Reject(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: append([]string(nil), s.to...), Raw: raw, Username: s.username}
	_, m.TLS = s.conn.TLSConnectionState()
	parsed, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message: " + err.Error()}
	}
	m.Header = parsed.Header
	body, err := io.ReadAll(parsed.Body)
	if err != nil {
		return err
	}
	m.Text, err = decodeBody(parsed.Header.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "undecodable body: " + err.Error()}
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, m)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

func decodeBody(cte string, body []byte) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		return string(b), err
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
		return string(b), err
	}
	return string(body), nil
}

// Subject returns the decoded Subject header of m.
func (m Message) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}
