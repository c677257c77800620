package portalapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// RouteList lists the portal's own submissions.
const RouteList = "GET /v1/submissions"

// ListResponse is the body of the answer to GET /v1/submissions.
type ListResponse struct {
	Submissions []SubmissionSummary `json:"submissions"`
	// NextCursor continues the listing (?cursor=…); absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// SubmissionSummary is a StatusResponse without the attempt logs.
type SubmissionSummary struct {
	ID           string               `json:"id"`
	Tenant       string               `json:"tenant"`
	Procedure    string               `json:"procedure"`
	Status       string               `json:"status"`
	ReceivedAt   time.Time            `json:"received_at"`
	Identity     *IdentityStatus      `json:"identity,omitempty"`
	Destinations []DestinationSummary `json:"destinations"`
}

// list handles RouteList: ?since=<RFC 3339>&limit=<1..1000>&cursor=<opaque>,
// oldest first.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	portal, err := h.authenticate(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for name := range q {
		if name != "since" && name != "limit" && name != "cursor" {
			return errMalformed(text("unknown query parameter %q; allowed are since, limit and cursor",
				"unbekannter Abfrageparameter %q; erlaubt sind since, limit und cursor", name))
		}
		if len(q[name]) > 1 {
			return errMalformed(text("the query parameter %s is given more than once",
				"der Abfrageparameter %s ist mehrfach angegeben", name))
		}
	}
	f := outbox.SubmissionFilter{PortalID: portal.ID, After: q.Get("cursor")}
	if v := q.Get("since"); v != "" {
		since, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return errMalformed(text("since must be a time in RFC 3339 form, e.g. 2026-11-30T08:00:00Z",
				"since muss eine Zeit nach RFC 3339 sein, z. B. 2026-11-30T08:00:00Z"))
		}
		f.Since = since
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > outbox.MaxListLimit {
			return errMalformed(text("limit must be a number from 1 to %d", "limit muss eine Zahl von 1 bis %d sein",
				outbox.MaxListLimit))
		}
		f.Limit = n
	}
	page, next, err := h.store.ListSubmissions(r.Context(), f)
	switch {
	case errors.Is(err, outbox.ErrInvalidCursor):
		return errMalformed(text("cursor is not one this listing returned", "cursor stammt nicht aus dieser Auflistung"))
	case err != nil:
		return errUnavailable(errReadFailed, err)
	}
	resp := ListResponse{Submissions: make([]SubmissionSummary, 0, len(page)), NextCursor: next}
	for _, st := range page {
		sub := st.Submission
		if !portal.Allows(sub.TenantID, sub.ProcedureID) {
			continue // the portal lost its permission for the tenant or procedure since
		}
		decisions := recipientDecisions(sub, st.Messages)
		msgs := destinationMessages(sub, st.Messages)
		s := SubmissionSummary{
			ID:           sub.ID,
			Tenant:       sub.TenantID,
			Procedure:    sub.ProcedureID,
			Status:       overallStatus(msgs),
			ReceivedAt:   utc(sub.CreatedAt),
			Destinations: make([]DestinationSummary, 0, len(msgs)),
		}
		if len(msgs) > 0 {
			s.Identity = identityStatus(identityFromMetadata(msgs[0].Metadata))
		}
		for _, m := range msgs {
			d := withDecision(summaryOf(m), decisions)
			if d.State == StateRejectedByRecipient {
				s.Status = StatusFailed
			}
			s.Destinations = append(s.Destinations, d)
		}
		resp.Submissions = append(resp.Submissions, s)
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
	return nil
}
