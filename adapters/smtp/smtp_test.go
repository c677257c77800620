package smtp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/smtp"
	"github.com/amtsbote/amtsbote/adapters/smtp/smtptest"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

const (
	user     = "amtsbote"
	password = "correct horse battery staple"
)

// deliverer returns a Deliverer for srv, trusting its certificate.
func deliverer(t *testing.T, srv *smtptest.Server, tlsMode, username, pw string) *smtp.Deliverer {
	t.Helper()
	s := config.Mail{Host: srv.Host, Port: srv.Port, TLS: tlsMode, From: "Amtsbote <amtsbote@musterstadt.example>",
		Username: username, Timeout: config.Duration{Duration: 20 * time.Second}}
	if pw != "" {
		s.Password = config.NewSecret(pw)
	}
	d, err := smtp.New(smtp.Config{Settings: s, RootCAs: srv.CertPool})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func delivery(t *testing.T, m smtp.Mail) outbox.Delivery {
	t.Helper()
	payload, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return outbox.Delivery{MessageID: "0b6a3f4e-1c1b-4c43-9d6c-2f0e6c1d7a10", SubmissionID: "s-1",
		Topic: "musterstadt/~mail/office", Attempt: 1, Payload: payload}
}

func TestDeliverTLSModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mode, user, password string
		wantTLS                    bool
	}{
		{"starttls with auth", smtptest.StartTLS, user, password, true},
		{"implicit tls with auth", smtptest.ImplicitTLS, user, password, true},
		{"no tls, no auth", smtptest.NoTLS, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.New(t, smtptest.Options{TLS: tt.mode, Username: tt.user, Password: tt.password})
			d := deliverer(t, srv, tt.mode, tt.user, tt.password)
			m := smtp.Mail{
				To:      []string{"Bürgerbüro <buergerbuero@musterstadt.example>", "akte@musterstadt.example"},
				Subject: "Neue Wohnungsgeberbestätigung\r\nBcc: evil@example.org",
				Text:    "Guten Tag,\n\nes ist ein Antrag eingegangen: Größe 100 %.\n",
			}
			if err := d.Deliver(t.Context(), delivery(t, m)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d mails, want 1", len(msgs))
			}
			got := msgs[0]
			if want := []string{"buergerbuero@musterstadt.example", "akte@musterstadt.example"}; !slices.Equal(got.To, want) {
				t.Errorf("envelope recipients = %v, want %v", got.To, want)
			}
			if got.From != "amtsbote@musterstadt.example" {
				t.Errorf("envelope sender = %q", got.From)
			}
			if got.TLS != tt.wantTLS || got.Username != tt.user {
				t.Errorf("session tls=%v user=%q, want tls=%v user=%q", got.TLS, got.Username, tt.wantTLS, tt.user)
			}
			h := got.Header
			checks := map[string]string{
				"Message-Id":     "<0b6a3f4e-1c1b-4c43-9d6c-2f0e6c1d7a10@musterstadt.example>",
				"Auto-Submitted": "auto-generated",
				"Bcc":            "",
			}
			for name, want := range checks {
				if v := h.Get(name); v != want {
					t.Errorf("header %s = %q, want %q", name, v, want)
				}
			}
			if s := got.Subject(); s != "Neue Wohnungsgeberbestätigung  Bcc: evil@example.org" {
				t.Errorf("subject = %q", s)
			}
			if !strings.Contains(h.Get("Content-Type"), "text/plain") || !strings.Contains(h.Get("Content-Type"), "UTF-8") {
				t.Errorf("content type = %q", h.Get("Content-Type"))
			}
			if text := strings.ReplaceAll(got.Text, "\r\n", "\n"); strings.TrimRight(text, "\n") != strings.TrimRight(m.Text, "\n") {
				t.Errorf("text = %q, want %q", text, m.Text)
			}
			if _, err := h.Date(); err != nil {
				t.Errorf("date: %v", err)
			}
		})
	}
}

func TestDeliverErrors(t *testing.T) {
	t.Parallel()
	good := smtp.Mail{To: []string{"buergerbuero@musterstadt.example"}, Subject: "s", Text: "t"}
	reject := func(code int) func(string) error {
		return func(string) error {
			return &gosmtp.SMTPError{Code: code, EnhancedCode: gosmtp.EnhancedCode{code / 100, 1, 1}, Message: "no"}
		}
	}
	tests := []struct {
		name          string
		opts          smtptest.Options
		clientTLS     string
		user, pw      string
		mail          *smtp.Mail
		payload       []byte
		wantPermanent bool
		wantClass     outbox.ErrorClass // checked when set
	}{
		{name: "recipient rejected 550", opts: smtptest.Options{Reject: reject(550)}, mail: &good, wantPermanent: true,
			wantClass: outbox.ClassReceiverRejected},
		{name: "recipient deferred 451", opts: smtptest.Options{Reject: reject(451)}, mail: &good,
			wantClass: outbox.ClassReceiverUnavailable},
		{name: "wrong password", opts: smtptest.Options{Username: user, Password: password}, user: user, pw: "wrong",
			mail: &good, wantPermanent: true},
		{name: "server without STARTTLS", opts: smtptest.Options{TLS: smtptest.NoTLS}, mail: &good},
		{name: "no recipient", mail: &smtp.Mail{Subject: "s", Text: "t"}, wantPermanent: true},
		{name: "bad recipient", mail: &smtp.Mail{To: []string{"Größmann"}, Subject: "s", Text: "t"}, wantPermanent: true},
		{name: "no text", mail: &smtp.Mail{To: good.To, Subject: "s"}, wantPermanent: true},
		{name: "not json", payload: []byte("<xml/>"), wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.New(t, tt.opts)
			mode := tt.clientTLS
			if mode == "" {
				mode = config.MailTLSStartTLS
			}
			d := deliverer(t, srv, mode, tt.user, tt.pw)
			var dl outbox.Delivery
			if tt.mail != nil {
				dl = delivery(t, *tt.mail)
			} else {
				dl = delivery(t, good)
				dl.Payload = tt.payload
			}
			err := d.Deliver(t.Context(), dl)
			if err == nil {
				t.Fatal("Deliver succeeded, want an error")
			}
			if got := errors.Is(err, outbox.ErrPermanent); got != tt.wantPermanent {
				t.Errorf("permanent = %v, want %v: %v", got, tt.wantPermanent, err)
			}
			if got := outbox.ClassifyError(err); tt.wantClass != "" && got != tt.wantClass {
				t.Errorf("class %q, want %q: %v", got, tt.wantClass, err)
			}
			if strings.Contains(err.Error(), "Größmann") || strings.Contains(err.Error(), "wrong") {
				t.Errorf("error text repeats input: %v", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server accepted %d mails", n)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := smtp.New(smtp.Config{Settings: config.Mail{TLS: "ssl", From: "x", Username: "u"}})
	if err == nil {
		t.Fatal("New accepted an invalid configuration")
	}
	for _, want := range []string{"host is required", "tls must be", "from is not a valid address", "password is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestAdapterContract runs the shared adapter suite: the suite's XML payload
// travels as the text of a mail to a real SMTP server, identified there by
// the Message-ID.
func TestAdapterContract(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (outbox.Deliverer, func() []adaptertest.Received) {
			srv := smtptest.New(t, smtptest.Options{Username: user, Password: password})
			d := deliverer(t, srv, config.MailTLSStartTLS, user, password)
			received := func() []adaptertest.Received {
				var out []adaptertest.Received
				for _, m := range srv.Messages() {
					id := strings.TrimSuffix(strings.TrimPrefix(m.Header.Get("Message-Id"), "<"), "@musterstadt.example>")
					out = append(out, adaptertest.Received{MessageID: id, Body: []byte(strings.ReplaceAll(m.Text, "\r\n", "\n"))})
				}
				return out
			}
			return asMail(d), received
		},
		NewStalled: func(t *testing.T) outbox.Deliverer {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var conns []net.Conn
			go func() {
				for {
					c, err := ln.Accept() // and never greet
					if err != nil {
						return
					}
					conns = append(conns, c)
				}
			}()
			t.Cleanup(func() {
				ln.Close()
				for _, c := range conns {
					c.Close()
				}
			})
			addr := ln.Addr().(*net.TCPAddr)
			d, err := smtp.New(smtp.Config{Settings: config.Mail{Host: "127.0.0.1", Port: addr.Port,
				From: "amtsbote@musterstadt.example", Timeout: config.Duration{Duration: time.Hour}}})
			if err != nil {
				t.Fatal(err)
			}
			return asMail(d)
		},
	})
}

// asMail wraps d: the delivery's payload becomes the text of a mail.
func asMail(d *smtp.Deliverer) outbox.Deliverer {
	return outbox.DelivererFunc(func(ctx context.Context, dl outbox.Delivery) error {
		payload, err := json.Marshal(smtp.Mail{To: []string{"buergerbuero@musterstadt.example"}, Subject: "Test", Text: string(dl.Payload)})
		if err != nil {
			return err
		}
		dl.Payload = payload
		return d.Deliver(ctx, dl)
	})
}
