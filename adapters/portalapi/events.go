package portalapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// RouteEvents is the audit trail of one of the portal's submissions.
const RouteEvents = "GET /v1/submissions/{id}/events"

// EventsResponse is the body of the answer to GET /v1/submissions/{id}/events.
type EventsResponse struct {
	Events []EventRecord `json:"events"` // oldest first
}

// EventRecord is one step in a submission's life.
type EventRecord struct {
	Seq         int64          `json:"seq"`
	Kind        string         `json:"kind"`                  // accepted, transformed, attempt, delivered, dead, replayed, discarded, purged
	Destination string         `json:"destination,omitempty"` // absent for events of the submission itself
	MessageID   string         `json:"message_id,omitempty"`
	Attempt     int            `json:"attempt,omitempty"` // kind attempt: its number, from 1
	Outcome     outbox.Outcome `json:"outcome,omitempty"` // kind attempt: delivered, retry or dead
	// Actor says who caused the event: "portal", "relay", "operator" or
	// "retention". Portals do not see operators' names or process ids.
	Actor string `json:"actor"`
	// Detail is the classified reason of a failed attempt or a dead
	// message (an outbox.ErrorClass, as in the status), or the reason of a
	// replay or discard. The error texts, which may name hosts, ports, paths
	// and quote the receiver, are for operators only.
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// events handles RouteEvents. Events of follow-ups (mails to the office,
// status callbacks) are left out: the portal sees its submission's path.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) error {
	portal, err := h.authenticate(r)
	if err != nil {
		return err
	}
	sub, _, err := h.ownSubmission(r, portal)
	if err != nil {
		return err
	}
	evs, err := h.store.Events(r.Context(), sub.ID)
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		return errNotFound(text("no such submission", "kein solcher Antrag"))
	case err != nil:
		return errUnavailable(errReadFailed, err)
	}
	prefix := config.Topic(sub.TenantID, sub.ProcedureID, "")
	resp := EventsResponse{Events: make([]EventRecord, 0, len(evs))}
	classes := map[string]map[int]outbox.ErrorClass{} // by message, by attempt number
	lastAttempt := map[string]int{}                   // by message: the number of its latest attempt event
	for _, e := range evs {
		rec := EventRecord{Seq: e.Seq, Kind: string(e.Kind), MessageID: e.MessageID, Attempt: e.Attempt,
			Outcome: e.Outcome, Actor: actorKind(e.Actor), Detail: e.Detail, At: utc(e.At)}
		if e.Topic != "" {
			dest, ok := strings.CutPrefix(e.Topic, prefix)
			if !ok || strings.Contains(dest, "/") {
				continue // a follow-up, not a destination of the route
			}
			rec.Destination = dest
		}
		switch e.Kind {
		case outbox.EventAttempt, outbox.EventDead:
			if e.Kind == outbox.EventAttempt {
				lastAttempt[e.MessageID] = e.Attempt
			}
			if e.Detail == "" {
				break
			}
			byNumber, ok := classes[e.MessageID]
			if !ok {
				attempts, err := h.store.Attempts(r.Context(), e.MessageID)
				if err != nil && !errors.Is(err, outbox.ErrNotFound) {
					return errUnavailable(errReadFailed, err)
				}
				byNumber = make(map[int]outbox.ErrorClass, len(attempts))
				for _, a := range attempts {
					byNumber[a.Number] = a.ErrorClass
				}
				classes[e.MessageID] = byNumber
			}
			rec.Detail = portalError(e.Detail, byNumber[lastAttempt[e.MessageID]])
		}
		resp.Events = append(resp.Events, rec)
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
	return nil
}

// actorKind reduces a recorded actor to what a portal may see.
func actorKind(actor string) string {
	switch {
	case strings.HasPrefix(actor, "portal:"):
		return "portal"
	case strings.HasPrefix(actor, "relay:"):
		return "relay"
	case actor == outbox.ActorRetention:
		return "retention"
	}
	return "operator"
}
