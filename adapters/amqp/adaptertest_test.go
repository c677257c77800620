package amqp_test

import (
	"net"
	"sync"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestAdapterSuite runs the contract suite every delivery adapter runs,
// against a fresh exchange and queue per Deliverer.
func TestAdapterSuite(t *testing.T) {
	t.Parallel()
	u := brokerURL(t)
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (outbox.Deliverer, func() []adaptertest.Received) {
			top := declareTopology(t, u)
			d := newDeliverer(t, u, top.exchange, top.routingKey, nil)
			var got []adaptertest.Received
			return d, func() []adaptertest.Received {
				// Everything confirmed is in the queue: take it all.
				for {
					m, ok, err := top.ch.Get(top.queue, true)
					if err != nil {
						t.Fatalf("get from queue: %v", err)
					}
					if !ok {
						return got
					}
					got = append(got, adaptertest.Received{MessageID: m.MessageId, Body: m.Body})
				}
			}
		},
		NewStalled: func(t *testing.T) outbox.Deliverer {
			return newDeliverer(t, silentBroker(t), "fachverfahren", "", nil)
		},
		Unbundle: adaptertest.UnzipBody,
		Blobs: func(t *testing.T) adaptertest.BlobSource {
			return adaptertest.SQLiteSource(t)
		},
	})
}

// silentBroker returns the URL of a local listener that accepts connections
// and never answers, so the AMQP handshake hangs.
func silentBroker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "amqp://guest:guest@" + l.Addr().String() + "/"
}
