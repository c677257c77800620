package outbox

import (
	"context"
	"errors"
	"maps"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
)

// TxPublisher is a watermill Publisher bound to one store transaction: what it
// publishes commits or rolls back with that transaction. The intake publishes a
// submission's messages through it, in the transaction that stores the submission.
type TxPublisher struct {
	ctx context.Context
	tx  Tx
}

var _ message.Publisher = (*TxPublisher)(nil)

// NewTxPublisher binds a publisher to tx; ctx is used for the inserts.
func NewTxPublisher(ctx context.Context, tx Tx) *TxPublisher {
	return &TxPublisher{ctx: ctx, tx: tx}
}

// Publish stores msgs as pending messages of topic. A message's UUID becomes its id;
// metadata MetaSubmissionID links it to a submission.
func (p *TxPublisher) Publish(topic string, msgs ...*message.Message) error {
	return p.tx.InsertMessages(p.ctx, fromWatermill(topic, msgs))
}

// Close does nothing: the transaction's owner commits or rolls back.
func (p *TxPublisher) Close() error { return nil }

// Publisher is a watermill Publisher that stores each Publish call in its own transaction.
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
