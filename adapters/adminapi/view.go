package adminapi

import (
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// MessageView is an outbox message as the admin API shows it: everything but
// the payload.
type MessageView struct {
	ID            string            `json:"id"`
	Topic         string            `json:"topic"`
	SubmissionID  string            `json:"submission_id,omitempty"`
	State         outbox.State      `json:"state"`
	Attempts      int               `json:"attempts"`
	NextAttemptAt *time.Time        `json:"next_attempt_at,omitempty"` // only while pending or retrying
	LastError     string            `json:"last_error,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	DeliveredAt   *time.Time        `json:"delivered_at,omitempty"`
	PayloadBytes  int               `json:"payload_bytes"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// AttemptView is one delivery attempt.
type AttemptView struct {
	Number     int            `json:"number"`
	Owner      string         `json:"owner"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Outcome    outbox.Outcome `json:"outcome"`
	Error      string         `json:"error,omitempty"`
}

// ReplayView is one replay of a dead message.
type ReplayView struct {
	By       string    `json:"by"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	Attempts int       `json:"attempts"` // attempts made before the replay
}

// MessageDetail is a message with its attempts and replays.
type MessageDetail struct {
	MessageView
	AttemptList []AttemptView `json:"attempt_list"`
	Replays     []ReplayView  `json:"replays"`
}

// ListResponse is a page of messages; Next, when set, is the after cursor of the next page.
type ListResponse struct {
	Messages []MessageView `json:"messages"`
	Next     string        `json:"next,omitempty"`
}

// ReplayResponse answers a replay: how many messages were replayed.
type ReplayResponse struct {
	Replayed int `json:"replayed"`
}

// Redacted stands in, in lists, for metadata that identifies a citizen
// (the postbox reference); the message's detail view shows it.
const Redacted = "[redacted; see the message's detail]"

// personalMetadata are the metadata keys that identify a citizen: lists
// redact them, the detail view shows them (and the admin API logs that).
var personalMetadata = []string{outbox.MetaIdentityPostboxReference}

// HasPersonalMetadata reports whether m carries metadata that lists redact.
func HasPersonalMetadata(m outbox.Message) bool {
	for _, k := range personalMetadata {
		if m.Metadata[k] != "" {
			return true
		}
	}
	return false
}

// NewMessageView returns the view of m, as lists show it: personal
// metadata redacted.
func NewMessageView(m outbox.Message) MessageView {
	v := newMessageView(m)
	if HasPersonalMetadata(m) {
		md := make(map[string]string, len(m.Metadata))
		for k, val := range m.Metadata {
			md[k] = val
		}
		for _, k := range personalMetadata {
			if md[k] != "" {
				md[k] = Redacted
			}
		}
		v.Metadata = md
	}
	return v
}

// newMessageView is the view of m with its metadata as stored.
func newMessageView(m outbox.Message) MessageView {
	v := MessageView{
		ID: m.ID, Topic: m.Topic, SubmissionID: m.SubmissionID, State: m.State, Attempts: m.Attempts,
		LastError: m.LastError, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, PayloadBytes: len(m.Payload),
		Metadata: m.Metadata,
	}
	if !m.State.Final() && !m.NextAttemptAt.IsZero() {
		t := m.NextAttemptAt
		v.NextAttemptAt = &t
	}
	if !m.DeliveredAt.IsZero() {
		t := m.DeliveredAt
		v.DeliveredAt = &t
	}
	return v
}

// NewMessageDetail returns the view of m with its attempts and replays,
// personal metadata included: whoever shows it records that it was shown.
func NewMessageDetail(m outbox.Message, atts []outbox.Attempt, reps []outbox.Replay) MessageDetail {
	d := MessageDetail{MessageView: newMessageView(m), AttemptList: []AttemptView{}, Replays: []ReplayView{}}
	for _, a := range atts {
		d.AttemptList = append(d.AttemptList, AttemptView{Number: a.Number, Owner: a.Owner, StartedAt: a.StartedAt,
			FinishedAt: a.FinishedAt, Outcome: a.Outcome, Error: a.Error})
	}
	for _, r := range reps {
		d.Replays = append(d.Replays, ReplayView{By: r.By, Reason: r.Reason, At: r.At, Attempts: r.Attempts})
	}
	return d
}
