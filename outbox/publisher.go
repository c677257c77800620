package outbox

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Publisher is a watermill Publisher that stores each Publish call in its own
// transaction. The intake does not use it: it inserts its outbox.Messages in
// the transaction of the submission (Tx.InsertMessages). It is kept for
// producers that speak watermill, and the outbox runs watermill's universal
// Pub/Sub suite through it.
type Publisher struct {
	store  Store
	closed atomic.Bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher on store.
func NewPublisher(store Store) *Publisher { return &Publisher{store: store} }

// Publish stores msgs atomically.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return errors.New("outbox publisher is closed")
	}
	ctx := context.Background()
	if len(msgs) > 0 {
		ctx = msgs[0].Context()
	}
	return p.store.InTx(ctx, func(tx Tx) error {
		return tx.InsertMessages(ctx, fromWatermill(topic, msgs))
	})
}

// Close makes further Publish calls fail; the store stays open.
func (p *Publisher) Close() error {
	p.closed.Store(true)
	return nil
}

func fromWatermill(topic string, msgs []*message.Message) []Message {
	out := make([]Message, 0, len(msgs))
	for _, wm := range msgs {
		md := maps.Clone(map[string]string(wm.Metadata))
		if md == nil {
			md = map[string]string{}
		}
		sid := md[MetaSubmissionID]
		delete(md, MetaSubmissionID)
		out = append(out, Message{
			ID:           wm.UUID,
			Topic:        topic,
			SubmissionID: sid,
			Payload:      wm.Payload,
			Metadata:     md,
		})
	}
	return out
}
