package console

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
)

// scopeTenants are the configured tenants s may see, in configuration order.
func (h *Handler) scopeTenants(op adminapi.Operator) []*config.Tenant {
	var out []*config.Tenant
	ts := *h.tenants.Load()
	for i := range ts {
		if op.Allows(ts[i].ID) {
			out = append(out, &ts[i])
		}
	}
	return out
}

// topicRow is one destination on the overview.
type topicRow struct {
	Topic, Tenant, Procedure, Destination string
	Pending, Retrying, Dead               int
	Oldest                                time.Time
	Alarms                                []string // text keys: alarm.dead, alarm.stalled
	Circuit                               string
}

type tenantOverview struct {
	ID, Name                string
	Pending, Retrying, Dead int
	Oldest                  time.Time
	Rows                    []topicRow
}

type overviewData struct {
	Generation string
	Tenants    []tenantOverview
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s request) {
	stats, err := h.store.Stats(r.Context())
	if err != nil {
		h.internal(w, r, &s, err)
		return
	}
	byTopic := map[string]outbox.TopicStats{}
	for _, st := range stats {
		byTopic[st.Topic] = st
	}
	now := h.now()
	data := overviewData{Generation: "—"}
	if h.cfg.Generation != nil {
		data.Generation = h.cfg.Generation()
	}
	for _, t := range h.scopeTenants(s.op) {
		to := tenantOverview{ID: t.ID, Name: t.Name}
		var topics []string
		for _, rt := range t.Procedures {
			for _, d := range rt.Destinations {
				topics = append(topics, config.Topic(t.ID, rt.Procedure, d.ID))
			}
		}
		for _, st := range stats { // mails, destinations no longer configured
			if strings.HasPrefix(st.Topic, t.ID+"/") && !slices.Contains(topics, st.Topic) {
				topics = append(topics, st.Topic)
			}
		}
		for _, topic := range topics {
			st := byTopic[topic]
			row := topicRow{Topic: topic, Tenant: t.ID, Pending: st.Pending - st.Retrying, Retrying: st.Retrying, Dead: st.Dead,
				Oldest: st.OldestPending, Circuit: "—"}
			if parts := strings.SplitN(topic, "/", 3); len(parts) == 3 {
				row.Procedure, row.Destination = parts[1], parts[2]
			}
			if h.cfg.Circuit != nil {
				row.Circuit = h.cfg.Circuit(topic)
			}
			if st.Dead > 0 {
				row.Alarms = append(row.Alarms, "alarm.dead")
			}
			last := st.LastDelivered
			if st.OldestPending.After(last) {
				last = st.OldestPending
			}
			if h.cfg.StalledAfter > 0 && st.Pending > 0 && !last.IsZero() && now.Sub(last) > h.cfg.StalledAfter {
				row.Alarms = append(row.Alarms, "alarm.stalled")
			}
			to.Pending += row.Pending
			to.Retrying += row.Retrying
			to.Dead += row.Dead
			if !row.Oldest.IsZero() && (to.Oldest.IsZero() || row.Oldest.Before(to.Oldest)) {
				to.Oldest = row.Oldest
			}
			to.Rows = append(to.Rows, row)
		}
		data.Tenants = append(data.Tenants, to)
	}
	h.render(w, r, &s, http.StatusOK, "overview", "nav.overview", data, "")
}

// maxScanned bounds the messages one dead-letter page reads to apply the time filter.
const maxScanned = 5 * outbox.MaxListLimit

type deadData struct {
	Tenants     []*config.Tenant
	Procedures  []string
	Tenant      string
	Procedure   string
	Destination string
	From, To    string
	Messages    []messageRow
	Next        string // query of the next page; empty on the last
	Problem     string // text key of a filter problem
	Replayed    int    // messages a replay of all has just released; -1 for none
}

type messageRow struct {
	ID, Topic, Tenant, Procedure, Destination, LastError string
	State                                                outbox.State
	Attempts                                             int
	CreatedAt, UpdatedAt                                 time.Time
}

func newRow(m outbox.Message) messageRow {
	row := messageRow{ID: m.ID, Topic: m.Topic, State: m.State, Attempts: m.Attempts, LastError: m.LastError,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	parts := strings.SplitN(m.Topic, "/", 3)
	if len(parts) == 3 {
		row.Tenant, row.Procedure, row.Destination = parts[0], parts[1], parts[2]
	}
	return row
}

// parseDay reads a date input (yyyy-mm-dd) as midnight UTC; end selects the next midnight.
func parseDay(s string, end bool) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, true
}

func (h *Handler) dead(w http.ResponseWriter, r *http.Request, s request) {
	q := r.URL.Query()
	data := deadData{Tenants: h.scopeTenants(s.op), Tenant: q.Get("tenant"), Procedure: q.Get("procedure"),
		Destination: q.Get("destination"), From: q.Get("from"), To: q.Get("to"), Replayed: -1}
	if n, err := strconv.Atoi(q.Get("replayed")); err == nil && n >= 0 {
		data.Replayed = n
	}
	seen := map[string]bool{}
	for _, t := range data.Tenants {
		for _, rt := range t.Procedures {
			if !seen[rt.Procedure] {
				seen[rt.Procedure] = true
				data.Procedures = append(data.Procedures, rt.Procedure)
			}
		}
	}
	slices.Sort(data.Procedures)
	from, okFrom := parseDay(data.From, false)
	to, okTo := parseDay(data.To, true)
	if !okFrom || !okTo {
		data.Problem = "dead.baddate"
		h.render(w, r, &s, http.StatusBadRequest, "dead", "nav.dead", data, "")
		return
	}
	f := outbox.ListFilter{State: outbox.StateDead, Tenant: data.Tenant, Procedure: data.Procedure,
		Destination: data.Destination, After: q.Get("after"), Limit: outbox.DefaultListLimit}
	scanned := 0
	for {
		msgs, next, err := adminapi.ScopedList(r.Context(), h.store, s.op, f)
		if errors.Is(err, outbox.ErrNotFound) { // a tenant outside the scope: nothing
			break
		}
		if err != nil {
			data.Problem = "dead.badcursor"
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "console dead letters", slog.Any("error", err))
			break
		}
		scanned += len(msgs)
		for _, m := range msgs {
			if (!from.IsZero() && m.UpdatedAt.Before(from)) || (!to.IsZero() && !m.UpdatedAt.Before(to)) {
				continue
			}
			data.Messages = append(data.Messages, newRow(m))
		}
		if next == "" {
			break
		}
		f.After = next
		if len(data.Messages) >= outbox.DefaultListLimit || scanned >= maxScanned {
			nq := url.Values{}
			for _, k := range []string{"tenant", "procedure", "destination", "from", "to"} {
				if v := q.Get(k); v != "" {
					nq.Set(k, v)
				}
			}
			nq.Set("after", next)
			data.Next = nq.Encode()
			break
		}
	}
	h.render(w, r, &s, http.StatusOK, "dead", "nav.dead", data, "")
}

type messageData struct {
	Message     messageRow
	Submission  string
	NextAttempt time.Time
	DeliveredAt time.Time
	Bytes       int
	Attempts    []outbox.Attempt
	Replays     []outbox.Replay
	Events      []outbox.Event
	Done        string // text key of a finished action
	Dead        bool
	// Shown after the audited action only:
	Payload    string
	Binary     bool
	Request    string
	Metadata   map[string]string
	ShowReason string
	Problem    string
	// CanRemap offers the replay with remap; Refusal is why a remap was refused.
	CanRemap bool
	Refusal  string
}

// load reads message id in s's scope (404 page outside it) with its history.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, s request) (outbox.Message, *messageData, bool) {
	m, err := adminapi.ScopedMessage(r.Context(), h.store, s.op, r.PathValue("id"), r.URL.Query().Get("topic"))
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		h.fail(w, r, &s, http.StatusNotFound, "err.notfound")
		return m, nil, false
	case errors.Is(err, outbox.ErrAmbiguous):
		h.fail(w, r, &s, http.StatusConflict, "err.ambiguous")
		return m, nil, false
	case err != nil:
		h.internal(w, r, &s, err)
		return m, nil, false
	}
	d := &messageData{Message: newRow(m), Submission: m.SubmissionID, Bytes: len(m.Payload), Dead: m.State == outbox.StateDead,
		DeliveredAt: m.DeliveredAt, CanRemap: h.cfg.Remapper != nil && m.SubmissionID != ""}
	if !m.State.Final() {
		d.NextAttempt = m.NextAttemptAt
	}
	if d.Attempts, err = h.store.Attempts(r.Context(), m.ID); err == nil {
		d.Replays, err = h.store.Replays(r.Context(), m.ID)
	}
	if err == nil && m.SubmissionID != "" {
		d.Events, err = adminapi.ScopedEvents(r.Context(), h.store, s.op, m.SubmissionID)
		if errors.Is(err, outbox.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		h.internal(w, r, &s, err)
		return m, nil, false
	}
	return m, d, true
}

var doneKeys = map[string]string{"replayed": "done.replayed", "discarded": "done.discarded", "remapped": "done.remapped"}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, s request) {
	_, d, ok := h.load(w, r, s)
	if !ok {
		return
	}
	d.Done = doneKeys[r.URL.Query().Get("done")]
	h.render(w, r, &s, http.StatusOK, "message", "message.title", d, "")
}

// payload shows the message's payload and the submission's request after
// recording the access, with its reason, in the audit trail.
func (h *Handler) payload(w http.ResponseWriter, r *http.Request, s request) {
	m, d, ok := h.load(w, r, s)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		d.Problem = "payload.reason"
		h.render(w, r, &s, http.StatusBadRequest, "message", "message.title", d, "")
		return
	}
	if m.SubmissionID != "" {
		err := h.store.RecordAccess(r.Context(), outbox.Event{SubmissionID: m.SubmissionID, MessageID: m.ID, Topic: m.Topic,
			Kind: outbox.EventPayloadViewed, Actor: by(s.op, r), Detail: reason})
		if err != nil { // no record, no data
			h.internal(w, r, &s, err)
			return
		}
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "console payload shown",
		logAttrs(s.op, r, slog.String("message_id", m.ID), slog.String("submission_id", m.SubmissionID))...)
	if utf8.Valid(m.Payload) {
		d.Payload = string(m.Payload)
	} else {
		d.Binary = true
	}
	d.Metadata = m.Metadata
	if m.SubmissionID != "" {
		if sub, _, err := h.store.Submission(r.Context(), m.SubmissionID); err == nil && utf8.Valid(sub.Payload) {
			d.Request = string(sub.Payload)
		}
	}
	d.ShowReason = reason
	if m.SubmissionID != "" { // the trail now with this access
		if evs, err := adminapi.ScopedEvents(r.Context(), h.store, s.op, m.SubmissionID); err == nil {
			d.Events = evs
		}
	}
	h.render(w, r, &s, http.StatusOK, "message", "message.title", d, "")
}

const (
	actionReplay  = "replay"
	actionDiscard = "discard"
)

type confirmData struct {
	Action  string
	Message messageRow
	Reason  string
	Remap   bool
}

// action replays or discards a dead message: the first POST (with a
// reason) shows the confirmation, the second (confirm=yes) acts.
func (h *Handler) action(kind string) func(http.ResponseWriter, *http.Request, request) {
	return func(w http.ResponseWriter, r *http.Request, s request) {
		m, d, ok := h.load(w, r, s)
		if !ok {
			return
		}
		reason := strings.TrimSpace(r.PostForm.Get("reason"))
		if reason == "" || utf8.RuneCountInString(reason) > 500 {
			d.Problem = "action.reason"
			h.render(w, r, &s, http.StatusBadRequest, "message", "message.title", d, "")
			return
		}
		remap := kind == actionReplay && r.PostForm.Get("remap") == "yes"
		if remap && !d.CanRemap {
			d.Problem, d.Refusal = "remap.refused", "re-mapping is not available for this message"
			h.render(w, r, &s, http.StatusConflict, "message", "message.title", d, "")
			return
		}
		if r.PostForm.Get("confirm") != "yes" {
			title := "confirm." + kind
			if remap {
				title = "confirm.remap"
			}
			h.render(w, r, &s, http.StatusOK, "confirm", title, confirmData{Action: kind, Message: d.Message, Reason: reason, Remap: remap}, "")
			return
		}
		req := outbox.ReplayRequest{ID: m.ID, Topic: m.Topic, By: by(s.op, r), Reason: reason}
		if remap {
			h.remap(w, r, s, m, d, req)
			return
		}
		act, done := h.store.Replay, "replayed"
		if kind == actionDiscard {
			act, done = h.store.Discard, "discarded"
		}
		err := act(r.Context(), req)
		switch {
		case errors.Is(err, outbox.ErrNotReplayable):
			h.fail(w, r, &s, http.StatusConflict, "err.notdead")
			return
		case err != nil:
			h.internal(w, r, &s, err)
			return
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "console message "+done,
			logAttrs(s.op, r, slog.String("message_id", m.ID), slog.String("topic", m.Topic))...)
		http.Redirect(w, r, Prefix+"messages/"+url.PathEscape(m.ID)+"?topic="+url.QueryEscape(m.Topic)+"&done="+done, http.StatusSeeOther)
	}
}

// remap replays m mapped again with the mapping in force, through the
// same use case as the admin API; a refusal (request purged, route gone,
// request no longer valid) is shown on the message page with its reason.
func (h *Handler) remap(w http.ResponseWriter, r *http.Request, s request, m outbox.Message, d *messageData, req outbox.ReplayRequest) {
	res, err := h.cfg.Remapper.RemapMessage(r.Context(), req)
	var verr *intake.ValidationError
	switch {
	case errors.Is(err, outbox.ErrNotReplayable):
		h.fail(w, r, &s, http.StatusConflict, "err.notdead")
		return
	case errors.Is(err, outbox.ErrNotFound):
		h.fail(w, r, &s, http.StatusNotFound, "err.notfound")
		return
	case errors.Is(err, intake.ErrRequestPurged), errors.Is(err, intake.ErrNotRemappable):
		d.Problem, d.Refusal = "remap.refused", err.Error()
	case errors.As(err, &verr):
		d.Problem, d.Refusal = "remap.refused", "the stored request does not pass the current procedure's checks: "+verr.Error()
	case err != nil:
		h.internal(w, r, &s, err)
		return
	}
	if d.Problem != "" {
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "console remap refused",
			logAttrs(s.op, r, slog.String("message_id", m.ID), slog.String("topic", m.Topic), slog.Any("error", err))...)
		h.render(w, r, &s, http.StatusConflict, "message", "message.title", d, "")
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "console message remapped",
		logAttrs(s.op, r, slog.String("message_id", m.ID), slog.String("topic", m.Topic),
			slog.String("old_mapping", res.OldVersion), slog.String("new_mapping", res.NewVersion))...)
	http.Redirect(w, r, Prefix+"messages/"+url.PathEscape(m.ID)+"?topic="+url.QueryEscape(m.Topic)+"&done=remapped", http.StatusSeeOther)
}

type confirmAllData struct {
	Tenant, Procedure, Destination, Reason string
}

// replayAll replays every dead message of a filter (tenant, procedure,
// destination; within the operator's scope), with a reason, after a second
// step.
func (h *Handler) replayAll(w http.ResponseWriter, r *http.Request, s request) {
	d := confirmAllData{Tenant: r.PostForm.Get("tenant"), Procedure: r.PostForm.Get("procedure"),
		Destination: r.PostForm.Get("destination"), Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
	if d.Tenant != "" && !s.op.Allows(d.Tenant) {
		h.fail(w, r, &s, http.StatusNotFound, "err.notfound")
		return
	}
	if d.Reason == "" || utf8.RuneCountInString(d.Reason) > 500 {
		h.fail(w, r, &s, http.StatusBadRequest, "action.reason")
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.render(w, r, &s, http.StatusOK, "confirmall", "confirm.replayall", d, "")
		return
	}
	f := outbox.ListFilter{Tenant: d.Tenant, Procedure: d.Procedure, Destination: d.Destination}
	n, err := adminapi.ScopedReplayAll(r.Context(), h.store, s.op, f, by(s.op, r), d.Reason)
	if err != nil {
		h.internal(w, r, &s, err)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "console dead messages replayed",
		logAttrs(s.op, r, slog.String("tenant", d.Tenant), slog.String("procedure", d.Procedure),
			slog.String("destination", d.Destination), slog.Int("count", n))...)
	q := url.Values{"replayed": {strconv.Itoa(n)}}
	for k, v := range map[string]string{"tenant": d.Tenant, "procedure": d.Procedure, "destination": d.Destination} {
		if v != "" {
			q.Set(k, v)
		}
	}
	http.Redirect(w, r, Prefix+"dead?"+q.Encode(), http.StatusSeeOther)
}

type searchData struct {
	ID         string
	Searched   bool
	Submission *outbox.Submission
	Messages   []messageRow
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request, s request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	data := searchData{ID: id, Searched: id != ""}
	if id == "" || len(id) > 200 {
		h.render(w, r, &s, http.StatusOK, "search", "nav.search", data, "")
		return
	}
	sub, msgs, err := h.store.Submission(r.Context(), id)
	switch {
	case err == nil && s.op.Allows(sub.TenantID):
		sub.Payload = nil
		data.Submission = &sub
		for _, m := range msgs {
			data.Messages = append(data.Messages, newRow(m))
		}
	case err == nil || errors.Is(err, outbox.ErrNotFound):
		if m, err := adminapi.ScopedMessage(r.Context(), h.store, s.op, id, ""); err == nil {
			http.Redirect(w, r, Prefix+"messages/"+url.PathEscape(m.ID), http.StatusSeeOther)
			return
		}
	default:
		h.internal(w, r, &s, err)
		return
	}
	h.render(w, r, &s, http.StatusOK, "search", "nav.search", data, "")
}

type healthData struct {
	Known  bool
	Ready  bool
	Checks []check
}

type check struct{ Name, State string }

func (h *Handler) health(w http.ResponseWriter, r *http.Request, s request) {
	var data healthData
	if h.cfg.Readiness != nil {
		ready, checks := h.cfg.Readiness(r.Context())
		data = healthData{Known: true, Ready: ready}
		for _, n := range slices.Sorted(mapKeys(checks)) {
			data.Checks = append(data.Checks, check{Name: n, State: checks[n]})
		}
	}
	h.render(w, r, &s, http.StatusOK, "health", "nav.health", data, "")
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type answersData struct {
	Available bool
	Answers   []UnmatchedAnswer
}

func (h *Handler) answers(w http.ResponseWriter, r *http.Request, s request) {
	data := answersData{Available: h.cfg.Answers != nil}
	if data.Available {
		for _, t := range h.scopeTenants(s.op) {
			as, err := h.cfg.Answers.Unmatched(r.Context(), t.ID, outbox.DefaultListLimit)
			if err != nil {
				h.internal(w, r, &s, err)
				return
			}
			for _, a := range as {
				if s.op.Allows(a.Tenant) {
					data.Answers = append(data.Answers, a)
				}
			}
		}
	}
	h.render(w, r, &s, http.StatusOK, "answers", "nav.answers", data, "")
}
