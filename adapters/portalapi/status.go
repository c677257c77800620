package portalapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

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
}

// DestinationStatus is the delivery of a submission to one destination.
type DestinationStatus struct {
	Destination   string          `json:"destination"` // the destination id of the tenant's route
	MessageID     string          `json:"message_id"`
	State         outbox.State    `json:"state"`
	Attempts      int             `json:"attempts"`
	LastError     string          `json:"last_error,omitempty"`
	NextAttemptAt time.Time       `json:"next_attempt_at,omitzero"` // zero when the state is final
	DeliveredAt   time.Time       `json:"delivered_at,omitzero"`
	AttemptLog    []AttemptRecord `json:"attempt_log"` // oldest first
}

// AttemptRecord is one delivery attempt.
type AttemptRecord struct {
	Number     int            `json:"number"` // from 1
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Outcome    outbox.Outcome `json:"outcome"`
	Error      string         `json:"error,omitempty"`
}

// status handles RouteStatus. Only the portal that made the submission sees
// it; for every other portal it does not exist.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	portal, err := h.authenticate(r)
	if err != nil {
		return err
	}
	notFound := text("no such submission", "kein solcher Antrag")
	id := r.PathValue("id")
	if !isUUID(id) {
		return errNotFound(notFound)
	}
	infoOf(ctx).submission = id
	sub, msgs, err := h.store.Submission(ctx, id)
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		return errNotFound(notFound)
	case err != nil:
		return errUnavailable(errReadFailed, err)
	case sub.PortalID != portal.ID:
		return errNotFound(notFound)
	}

	resp := StatusResponse{
		ID:           sub.ID,
		Tenant:       sub.TenantID,
		Procedure:    sub.ProcedureID,
		ReceivedAt:   utc(sub.CreatedAt),
		Destinations: make([]DestinationStatus, 0, len(msgs)),
	}
	if len(msgs) > 0 {
		resp.Identity = identityStatus(identityFromMetadata(msgs[0].Metadata))
	}
	delivered, dead := 0, 0
	for _, m := range msgs {
		attempts, err := h.store.Attempts(ctx, m.ID)
		if err != nil {
			return errUnavailable(errReadFailed, err)
		}
		d := DestinationStatus{
			Destination: m.Metadata[MetaDestination],
			MessageID:   m.ID,
			State:       m.State,
			Attempts:    m.Attempts,
			LastError:   m.LastError,
			DeliveredAt: utc(m.DeliveredAt),
			AttemptLog:  make([]AttemptRecord, 0, len(attempts)),
		}
		if !m.State.Final() {
			d.NextAttemptAt = utc(m.NextAttemptAt)
		}
		for _, a := range attempts {
			d.AttemptLog = append(d.AttemptLog, AttemptRecord{
				Number:     a.Number,
				StartedAt:  utc(a.StartedAt),
				FinishedAt: utc(a.FinishedAt),
				Outcome:    a.Outcome,
				Error:      a.Error,
			})
		}
		switch m.State {
		case outbox.StateDelivered:
			delivered++
		case outbox.StateDead:
			dead++
		}
		resp.Destinations = append(resp.Destinations, d)
	}
	switch {
	case dead > 0:
		resp.Status = StatusFailed
	case len(msgs) > 0 && delivered == len(msgs):
		resp.Status = StatusDelivered
	default:
		resp.Status = StatusAccepted
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
	return nil
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
