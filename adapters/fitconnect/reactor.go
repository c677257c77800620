package fitconnect

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/notify"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// Callback event types and statuses of a FIT-Connect destination's
// decision, sent to the portal like notify's status callbacks.
const (
	EventTypeRecipientAccepted = "submission.recipient_accepted"
	EventTypeRecipientRejected = "submission.recipient_rejected"
	StatusRecipientAccepted    = "accepted_by_recipient"
	StatusRecipientRejected    = "rejected_by_recipient"
)

// Reactor turns the outcome of a case message (delivered: the recipient
// accepted; dead: it rejected) into the portal's signed status callback,
// in the transaction that records it (outbox.Reactor).
type Reactor struct {
	callbacks map[string]bool // portals with a callback
	newID     func() string
}

var _ outbox.Reactor = (*Reactor)(nil)

// NewReactor returns the Reactor for the portals of cfg.
func NewReactor(cfg *config.Config) *Reactor {
	r := &Reactor{callbacks: map[string]bool{}, newID: uuid.NewString}
	for _, p := range cfg.Portals {
		if p.Callback != nil {
			r.callbacks[p.ID] = true
		}
	}
	return r
}

// React returns the callbacks of case messages' outcomes.
func (r *Reactor) React(_ context.Context, events []outbox.Event) ([]outbox.Message, error) {
	var out []outbox.Message
	for _, e := range events {
		if !IsCaseTopic(e.Topic) || e.SubmissionID == "" || !r.callbacks[e.PortalID] {
			continue
		}
		var typ, status string
		switch e.Kind {
		case outbox.EventDelivered:
			typ, status = EventTypeRecipientAccepted, StatusRecipientAccepted
		case outbox.EventDead:
			typ, status = EventTypeRecipientRejected, StatusRecipientRejected
		default:
			continue
		}
		at := e.At
		if at.IsZero() {
			at = time.Now()
		}
		parts := strings.Split(e.Topic, "/")
		ev := notify.CallbackEvent{ID: r.newID(), Type: typ, Status: status, SubmissionID: e.SubmissionID,
			Portal: e.PortalID, Tenant: e.Tenant, Procedure: e.Procedure, Destination: parts[len(parts)-1],
			OccurredAt: at.UTC()}
		payload, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, outbox.Message{
			ID: ev.ID, Topic: config.CallbackTopic(e.PortalID), SubmissionID: e.SubmissionID, Payload: payload,
			Metadata: map[string]string{
				outbox.MetaSubmissionID: e.SubmissionID,
				outbox.MetaContentType:  notify.CallbackContentType,
				notify.MetaNotification: notify.NotificationCallback,
				outbox.MetaTenant:       e.Tenant,
				outbox.MetaProcedure:    e.Procedure,
			},
		})
	}
	return out, nil
}

// Reactors combines reactors: each sees every event, their messages are
// inserted together.
type Reactors []outbox.Reactor

// React calls every reactor.
func (rs Reactors) React(ctx context.Context, events []outbox.Event) ([]outbox.Message, error) {
	var out []outbox.Message
	for _, r := range rs {
		m, err := r.React(ctx, events)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	return out, nil
}

// Active reports whether a portal has a callback to send to.
func (r *Reactor) Active() bool { return len(r.callbacks) > 0 }
