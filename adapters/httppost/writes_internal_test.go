package httppost

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestOneWritePerMessage: a message of the size of the bench harness's
// (4,014 bytes), or of the largest example (about 12.5 KB), goes out with
// its header in one write on the connection, not in two (the transport's
// default 4 KiB buffer), and the connection is reused.
func TestOneWritePerMessage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(srv.Close)
	d, err := New(Config{Settings: config.HTTP{URL: srv.URL}, Tenant: "musterstadt",
		Procedure: "meldewesen.wohnungsgeberbestaetigung", Destination: "fachverfahren"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.CloseIdleConnections)
	var dials, writes atomic.Int64
	tr := d.client.Transport.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		dials.Add(1)
		return &countingConn{Conn: c, writes: &writes}, nil
	}
	for i, size := range []int{4014, 12549, 30 << 10} {
		dl := outbox.Delivery{MessageID: "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6", SubmissionID: "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
			Attempt: 1, Payload: bytes.Repeat([]byte("x"), size), Metadata: map[string]string{outbox.MetaContentType: "application/xml"}}
		before := writes.Load()
		if err := d.Deliver(t.Context(), dl); err != nil {
			t.Fatal(err)
		}
		if n := writes.Load() - before; n != 1 {
			t.Errorf("message %d (%d bytes): %d writes, want 1", i, size, n)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for three messages, want 1", n)
	}
}

// countingConn counts the writes on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
