package httppost_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
)

// BenchmarkDeliver posts a message of the size of the bench harness's
// (4,014 bytes) to a local receiver that reads it and answers 200 with a
// short body, over a kept-alive connection. Its allocations include the
// receiver's (net/http server), which are the same before and after a
// change to the Deliverer.
func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok\n")
	}))
	b.Cleanup(srv.Close)
	d, err := httppost.New(httppost.Config{
		Settings: config.HTTP{URL: srv.URL}, Tenant: "musterstadt",
		Procedure: "meldewesen.wohnungsgeberbestaetigung", Destination: "fachverfahren",
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.CloseIdleConnections)
	dl := delivery(messageID, bytes.Repeat([]byte("x"), 4014))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Deliver(ctx, dl); err != nil {
			b.Fatal(err)
		}
	}
}
