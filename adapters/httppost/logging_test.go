package httppost_test

import (
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/internal/testlog"
)

func TestLogsIDsNotPayloadOrSecrets(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := serve(t, rc)
	var buf testlog.Buffer
	const password = "Sehr-Geheim-42"
	d, err := httppost.New(httppost.Config{
		Settings: config.HTTP{URL: srv.URL, Auth: config.HTTPAuth{Basic: &config.BasicAuth{
			Username: "amtsbote", Password: config.NewSecret(password)}}},
		Tenant: "musterstadt", Procedure: "meldewesen.wohnungsgeberbestaetigung", Destination: "fachverfahren",
		Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(t.Context(), delivery(messageID, payload)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	logged := buf.String()
	for _, want := range []string{messageID, submissionID, "musterstadt", "fachverfahren", `"status":204`,
		"credentials are sent over plain http"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log does not contain %q:\n%s", want, logged)
		}
	}
	for _, leak := range []string{"Müller", "wohnungsgeberbestaetigung.0001", password} {
		if strings.Contains(logged, leak) {
			t.Errorf("log contains %q:\n%s", leak, logged)
		}
	}
}

// countingTransport is a real transport that counts its round trips.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestConfigTransport(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := serve(t, rc)
	rt := &countingTransport{}
	d, err := httppost.New(httppost.Config{Settings: config.HTTP{URL: srv.URL}, Transport: rt,
		Tenant: "t", Procedure: "p", Destination: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(t.Context(), delivery(messageID, payload)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if n := rt.n.Load(); n != 1 || len(rc.got()) != 1 {
		t.Errorf("transport used %d times, receiver got %d requests; want 1 and 1", n, len(rc.got()))
	}
}
