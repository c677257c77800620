package portalapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// StatusResponse is the body of the answer to GET /v1/submissions/{id}.
type StatusResponse struct {
	ID         string    `json:"id"`
	Tenant     string    `json:"tenant"`
	Procedure  string    `json:"procedure"`
	Status     string    `json:"status"` // StatusAccepted, StatusDelivered or StatusFailed
	ReceivedAt time.Time `json:"received_at"`
	// Identity is the applicant's identity as the portal stated it; absent
	// when it stated none. It is read from the metadata of the first
	// message, which carries it to every destination.
	Identity     *IdentityStatus     `json:"identity,omitempty"`
	Destinations []DestinationStatus `json:"destinations"`
	// Answers are the authority's answers to the submission, oldest first
	// (received, Aktenzeichen, incomplete, decided, filed in the E-Akte).
	Answers []AnswerStatus `json:"answers"`
}

// States of a destination in status responses: the vocabulary portals see.
const (
	StateQueued    = "queued"    // stored, not yet attempted
	StateRetrying  = "retrying"  // attempted and failed; the next attempt is scheduled (next_attempt_at)
	StateDelivered = "delivered" // the destination accepted it
	StateFailed    = "failed"    // failed permanently or retries exhausted; operators are alarmed and may replay it
	StateDiscarded = "discarded" // an operator gave the failed delivery up

	// States of a destination of type fitconnect once it has the
	// submission (delivered to the Zustelldienst): the recipient's decision
	// in the case's event log.
	StateAwaitingRecipient   = "awaiting_recipient"    // at the Zustelldienst; the recipient has not accepted it yet
	StateAcceptedByRecipient = "accepted_by_recipient" // the recipient posted accept-submission
	StateRejectedByRecipient = "rejected_by_recipient" // the recipient posted reject-submission; last_error names the problems
)

// metaRecipientCase marks the message that follows the case of a
// submission sent through FIT-Connect (adapters/fitconnect.MetaCase); its
// state is the recipient's decision for its destination.
const metaRecipientCase = "fitconnect_case"

// recipientDecisions returns, by destination, the case messages of sub
// that follow a recipient's decision.
func recipientDecisions(sub outbox.Submission, msgs []outbox.Message) map[string]outbox.Message {
	var out map[string]outbox.Message
	for _, m := range msgs {
		d := m.Metadata[outbox.MetaDestination]
		if d == "" || m.Metadata[metaRecipientCase] == "" || m.Topic == config.Topic(sub.TenantID, sub.ProcedureID, d) {
			continue
		}
		if out == nil {
			out = map[string]outbox.Message{}
		}
		out[d] = m
	}
	return out
}

// withDecision applies a recipient's decision to a delivered destination.
func withDecision(d DestinationSummary, decisions map[string]outbox.Message) DestinationSummary {
	c, ok := decisions[d.Destination]
	if !ok || d.State != StateDelivered {
		return d
	}
	switch c.State {
	case outbox.StateDelivered:
		d.State = StateAcceptedByRecipient
	case outbox.StateDead, outbox.StateDiscarded:
		d.State, d.LastError = StateRejectedByRecipient, c.LastError
	default:
		d.State = StateAwaitingRecipient
	}
	return d
}

// destinationState maps an outbox state to the API's vocabulary.
func destinationState(s outbox.State) string {
	switch s {
	case outbox.StatePending:
		return StateQueued
	case outbox.StateRetrying:
		return StateRetrying
	case outbox.StateDelivered:
		return StateDelivered
	case outbox.StateDead:
		return StateFailed
	case outbox.StateDiscarded:
		return StateDiscarded
	}
	return string(s)
}

// DestinationSummary is the delivery of a submission to one destination.
type DestinationSummary struct {
	Destination string `json:"destination"` // the destination id of the tenant's route
	MessageID   string `json:"message_id"`
	State       string `json:"state"` // StateQueued, StateRetrying, StateDelivered, StateFailed or StateDiscarded
	Attempts    int    `json:"attempts"`
	// LastError is the classified reason of the last failure (an
	// outbox.ErrorClass, see docs/api.md), never the error's text: that may
	// name hosts, ports, paths or quote the receiver, and is for operators.
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when the attempt that failed so ended (status only).
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"` // zero when the state is final
	DeliveredAt   time.Time `json:"delivered_at,omitzero"`
}

// DestinationStatus is a DestinationSummary with the attempts.
type DestinationStatus struct {
	DestinationSummary
	AttemptLog []AttemptRecord `json:"attempt_log"` // oldest first
}

// AttemptRecord is one delivery attempt.
type AttemptRecord struct {
	Number     int            `json:"number"` // from 1
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Outcome    outbox.Outcome `json:"outcome"`
	Error      string         `json:"error,omitempty"` // the classified reason, as DestinationSummary.LastError
}

// status handles RouteStatus. Only the portal that made the submission sees
// it; for every other portal it does not exist.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	portal, err := h.authenticate(r)
	if err != nil {
		return err
	}
	sub, msgs, err := h.ownSubmission(r, portal)
	if err != nil {
		return err
	}

	resp := StatusResponse{
		ID:           sub.ID,
		Tenant:       sub.TenantID,
		Procedure:    sub.ProcedureID,
		ReceivedAt:   utc(sub.CreatedAt),
		Destinations: []DestinationStatus{},
	}
	decisions := recipientDecisions(sub, msgs)
	msgs = destinationMessages(sub, msgs)
	if len(msgs) > 0 {
		resp.Identity = identityStatus(identityFromMetadata(msgs[0].Metadata))
	}
	for _, m := range msgs {
		attempts, err := h.store.Attempts(ctx, m.ID)
		if err != nil {
			return errUnavailable(errReadFailed, err)
		}
		d := DestinationStatus{DestinationSummary: withDecision(summaryOf(m), decisions), AttemptLog: make([]AttemptRecord, 0, len(attempts))}
		for _, a := range attempts {
			d.AttemptLog = append(d.AttemptLog, AttemptRecord{
				Number:     a.Number,
				StartedAt:  utc(a.StartedAt),
				FinishedAt: utc(a.FinishedAt),
				Outcome:    a.Outcome,
				Error:      portalError(a.Error, a.ErrorClass),
			})
			if a.Error != "" && d.LastError != "" && d.State != StateRejectedByRecipient {
				d.LastErrorAt = utc(a.FinishedAt)
			}
		}
		resp.Destinations = append(resp.Destinations, d)
	}
	resp.Status = overallStatus(msgs)
	for _, d := range resp.Destinations {
		if d.State == StateRejectedByRecipient {
			resp.Status = StatusFailed
		}
	}
	if resp.Answers, err = h.answerTimeline(ctx, sub); err != nil {
		return errUnavailable(errReadFailed, err)
	}
	resp.Status = answerStatus(resp.Status, resp.Answers)
	writeJSON(w, http.StatusOK, "application/json", resp)
	return nil
}

// ownSubmission reads the submission of the request's {id} if it belongs to
// portal; for every other portal it does not exist.
func (h *Handler) ownSubmission(r *http.Request, portal *config.Portal) (outbox.Submission, []outbox.Message, error) {
	notFound := text("no such submission", "kein solcher Antrag")
	id := r.PathValue("id")
	if !isUUID(id) {
		return outbox.Submission{}, nil, errNotFound(notFound)
	}
	infoOf(r.Context()).submission = id
	sub, msgs, err := h.store.Submission(r.Context(), id)
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		return outbox.Submission{}, nil, errNotFound(notFound)
	case err != nil:
		return outbox.Submission{}, nil, errUnavailable(errReadFailed, err)
	case sub.PortalID != portal.ID || !portal.Allows(sub.TenantID, sub.ProcedureID):
		// Also when the portal has lost its permission for the tenant or procedure since.
		return outbox.Submission{}, nil, errNotFound(notFound)
	}
	return sub, msgs, nil
}

// destinationMessages keeps the messages of sub that go to its route's
// destinations, leaving out follow-ups such as status callbacks and mails.
func destinationMessages(sub outbox.Submission, msgs []outbox.Message) []outbox.Message {
	out := msgs[:0:0]
	for _, m := range msgs {
		if d := m.Metadata[outbox.MetaDestination]; d != "" && m.Topic == config.Topic(sub.TenantID, sub.ProcedureID, d) {
			out = append(out, m)
		}
	}
	return out
}

// summaryOf is the delivery state of one message.
func summaryOf(m outbox.Message) DestinationSummary {
	d := DestinationSummary{
		Destination: m.Metadata[outbox.MetaDestination],
		MessageID:   m.ID,
		State:       destinationState(m.State),
		Attempts:    m.Attempts,
		LastError:   portalError(m.LastError, m.LastErrorClass),
		DeliveredAt: utc(m.DeliveredAt),
	}
	if !m.State.Final() {
		d.NextAttemptAt = utc(m.NextAttemptAt)
	}
	return d
}

// portalError is what a portal sees of a delivery error: its class, or
// delivery_failed for an error recorded before errors were classified.
func portalError(text string, class outbox.ErrorClass) string {
	switch {
	case class != "":
		return string(class)
	case text != "":
		return string(outbox.ClassDeliveryFailed)
	}
	return ""
}

// overallStatus is StatusFailed when a destination failed or was discarded,
// StatusDelivered when all delivered, StatusAccepted otherwise.
func overallStatus(msgs []outbox.Message) string {
	delivered := 0
	for _, m := range msgs {
		switch m.State {
		case outbox.StateDead, outbox.StateDiscarded:
			return StatusFailed
		case outbox.StateDelivered:
			delivered++
		}
	}
	if len(msgs) > 0 && delivered == len(msgs) {
		return StatusDelivered
	}
	return StatusAccepted
}

// errReadFailed is the detail of a store failure while reading a submission.
var errReadFailed = text("the submission could not be read; retry later",
	"der Antrag konnte nicht gelesen werden; bitte später erneut versuchen")

// isUUID reports whether id is a UUID in its canonical 36-character form,
// the form of the ids this API assigns.
func isUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	_, err := uuid.Parse(id)
	return err == nil
}

// utc returns t in UTC; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
