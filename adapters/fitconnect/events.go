package fitconnect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// Metadata keys of the event messages.
const (
	// MetaSubmission is the FIT-Connect submission id of an event message
	// or a case message.
	MetaSubmission = "fitconnect_submission"
	// MetaCase is the FIT-Connect case id (Vorgang).
	MetaCase = "fitconnect_case"
	// MetaEvent is accept or reject.
	MetaEvent = "fitconnect_event"
)

// ContentTypeEvent is the media type of an event message's payload.
const ContentTypeEvent = "application/vnd.amtsbote.fitconnect-event+json"

// EventTopic is the outbox topic of the accept and reject events of a
// subscriber. Its '~' part makes it a notification topic
// (config.IsNotificationTopic): no status callbacks about it.
func EventTopic(subscriber string) string { return "~fitconnect/" + subscriber + "/events" }

// eventNamespace derives the ids of event messages, which are also the
// SETs' jti: one accept or reject per FIT-Connect submission, whoever
// inserts it and however often it is sent.
var eventNamespace = uuid.MustParse("0b7d4c1e-6a2f-4f0e-9f53-2d8c7e5a1b94")

// EventMessageID is the outbox message id (and SET jti) of the event of a
// FIT-Connect submission.
func EventMessageID(submissionID, eventType string) string {
	return uuid.NewSHA1(eventNamespace, []byte(submissionID+"\n"+eventType)).String()
}

// eventMessage is the payload of an event message: what the SET says,
// signed only at delivery.
type eventMessage struct {
	Type          string              `json:"type"`
	DestinationID string              `json:"destination_id"`
	SubmissionID  string              `json:"submission_id"`
	CaseID        string              `json:"case_id"`
	Tags          *AuthenticationTags `json:"authentication_tags,omitempty"`
	Problems      []Problem           `json:"problems,omitempty"`
	IssuedAt      time.Time           `json:"issued_at"`
}

// newEventMessage is the outbox message of an accept or reject event.
func newEventMessage(subscriber string, e eventMessage) (outbox.Message, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return outbox.Message{}, err
	}
	kind := "accept"
	if e.Type == EventRejectSubmission {
		kind = "reject"
	}
	return outbox.Message{
		ID:      EventMessageID(e.SubmissionID, e.Type),
		Topic:   EventTopic(subscriber),
		Payload: payload,
		Metadata: map[string]string{
			outbox.MetaContentType: ContentTypeEvent,
			MetaSubmission:         e.SubmissionID,
			MetaCase:               e.CaseID,
			MetaEvent:              kind,
		},
		CreatedAt: e.IssuedAt,
	}, nil
}

// EventDelivererConfig configures an EventDeliverer.
type EventDelivererConfig struct {
	Client     *Client
	SigningKey Key
	Logger     *slog.Logger
}

// EventDeliverer posts the event messages of one subscriber as SETs signed
// with Amtsbote's key: the relay delivers them with retries, so that an
// event committed with its submission is sent even after a crash, and its
// jti (the message id) makes a repeated post harmless.
type EventDeliverer struct {
	client *Client
	key    Key
	log    *slog.Logger
}

var _ outbox.Deliverer = (*EventDeliverer)(nil)

// NewEventDeliverer returns an EventDeliverer.
func NewEventDeliverer(cfg EventDelivererConfig) (*EventDeliverer, error) {
	if cfg.Client == nil {
		return nil, errors.New("fitconnect: event deliverer: client is nil")
	}
	if cfg.SigningKey.JWK.Key == nil {
		return nil, errors.New("fitconnect: event deliverer: no signing key")
	}
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &EventDeliverer{client: cfg.Client, key: cfg.SigningKey, log: l}, nil
}

// Deliver signs and posts the event.
func (d *EventDeliverer) Deliver(ctx context.Context, dl outbox.Delivery) error {
	var e eventMessage
	if err := json.Unmarshal(dl.Payload, &e); err != nil {
		return outbox.Permanent(fmt.Errorf("event message %s: %w", dl.MessageID, err))
	}
	set, err := SignSET(d.key, e.DestinationID, dl.MessageID, e.SubmissionID, e.CaseID, e.Type,
		EventPayload{AuthenticationTags: e.Tags, Problems: e.Problems}, e.IssuedAt)
	if err != nil {
		return outbox.Permanent(err)
	}
	err = d.client.PostEvent(ctx, e.CaseID, set)
	if err == nil {
		d.log.InfoContext(ctx, "fitconnect event posted", slog.String("fitconnect_submission", e.SubmissionID),
			slog.String("event", e.Type), slog.String("jti", dl.MessageID))
	}
	return deliveryError(err)
}

// deliveryError sorts an error of the Submission API for the relay:
// temporary ones are retried (after Retry-After when given), the others
// are permanent.
func deliveryError(err error) error {
	if err == nil {
		return nil
	}
	if ae, ok := errors.AsType[*APIError](err); ok {
		if !ae.Temporary() {
			if ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden {
				return err // credentials may be fixed; retries until the policy gives up
			}
			return outbox.Permanent(err)
		}
		if ae.retryAfter > 0 {
			return retryAfter{err: err, after: ae.retryAfter}
		}
	}
	return err
}

type retryAfter struct {
	err   error
	after time.Duration
}

func (r retryAfter) Error() string             { return r.err.Error() }
func (r retryAfter) Unwrap() error             { return r.err }
func (r retryAfter) RetryAfter() time.Duration { return r.after }
