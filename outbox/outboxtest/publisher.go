package outboxtest

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/amtsbote/amtsbote/outbox"
)

// TxRunner is the part of a store the Publisher needs.
type TxRunner interface {
	InTx(ctx context.Context, fn func(tx outbox.Tx) error) error
}

// Publisher is a watermill Publisher that stores each Publish call in its
// own transaction, as the publishing half of watermill's universal Pub/Sub
// suite (RunWatermill). Amtsbote itself does not publish through watermill:
// the intake and the notifications insert their outbox.Messages in their
// own transactions (Tx.InsertMessages), so the Publisher lives with the
// suite that needs it.
type Publisher struct {
	store  TxRunner
	closed atomic.Bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher on store.
func NewPublisher(store TxRunner) *Publisher { return &Publisher{store: store} }

// Publish stores msgs atomically. A message's MetaSubmissionID becomes its
// SubmissionID.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return errors.New("outbox publisher is closed")
	}
	ctx := context.Background()
	if len(msgs) > 0 {
		ctx = msgs[0].Context()
	}
	return p.store.InTx(ctx, func(tx outbox.Tx) error {
		return tx.InsertMessages(ctx, fromWatermill(topic, msgs))
	})
}

// Close makes further Publish calls fail; the store stays open.
func (p *Publisher) Close() error {
	p.closed.Store(true)
	return nil
}

func fromWatermill(topic string, msgs []*message.Message) []outbox.Message {
	out := make([]outbox.Message, 0, len(msgs))
	for _, wm := range msgs {
		md := maps.Clone(map[string]string(wm.Metadata))
		if md == nil {
			md = map[string]string{}
		}
		sid := md[outbox.MetaSubmissionID]
		delete(md, outbox.MetaSubmissionID)
		out = append(out, outbox.Message{
			ID:           wm.UUID,
			Topic:        topic,
			SubmissionID: sid,
			Payload:      wm.Payload,
			Metadata:     md,
		})
	}
	return out
}
