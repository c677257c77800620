package outbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors of dead-letter management.
var (
	// ErrAmbiguous: a message id exists on several topics; name the topic too.
	ErrAmbiguous = errors.New("message id exists on several topics")
	// ErrNotReplayable: only a dead message can be replayed.
	ErrNotReplayable = errors.New("message is not dead")
)

// DefaultListLimit and MaxListLimit bound ListFilter.Limit.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// ListFilter selects messages for Store.List. Empty fields match everything.
// Tenant, Procedure and Destination match the parts of a topic
// "<tenant>/<procedure>/<destination>" exactly.
type ListFilter struct {
	State       State
	Tenant      string
	Procedure   string
	Destination string
	// Limit is the page size: 0 means DefaultListLimit; larger than MaxListLimit means MaxListLimit.
	Limit int
	// After is the cursor returned with the previous page; empty starts at the oldest message.
	After string
}

// PageLimit is the effective page size of f.
func (f ListFilter) PageLimit() int {
	switch {
	case f.Limit <= 0:
		return DefaultListLimit
	case f.Limit > MaxListLimit:
		return MaxListLimit
	}
	return f.Limit
}

// TopicPattern is a SQL LIKE pattern (escape character '\') matching the topics
// f selects by tenant, procedure and destination.
func (f ListFilter) TopicPattern() string {
	part := func(s string) string {
		if s == "" {
			return "%"
		}
		return likeEscaper.Replace(s)
	}
	if f.Tenant == "" && f.Procedure == "" && f.Destination == "" {
		return "%"
	}
	return part(f.Tenant) + "/" + part(f.Procedure) + "/" + part(f.Destination)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ReplayRequest asks Store.Replay to deliver a dead message again.
type ReplayRequest struct {
	// ID is the message id. Required.
	ID string
	// Topic is the message's topic; needed only when ID exists on several topics.
	Topic string
	// By names who replays: an operator's user name, or "admin-api (address)". Required.
	By string
	// Reason says why, for the record; optional.
	Reason string
}

// Validate reports a missing id or author.
func (r ReplayRequest) Validate() error {
	var errs []error
	if r.ID == "" {
		errs = append(errs, errors.New("replay: message id is required"))
	}
	if r.By == "" {
		errs = append(errs, errors.New("replay: by is required"))
	}
	return errors.Join(errs...)
}

// RemapRequest asks Store.Remap to deliver a dead message again with a new
// payload: the message mapped again from its submission's request.
type RemapRequest struct {
	ReplayRequest
	// Payload and Metadata replace the message's. Required.
	Payload  []byte
	Metadata map[string]string
	// OldVersion and NewVersion are the mapping versions before and after
	// (MetaMappingVersion), for the record.
	OldVersion, NewVersion string
}

// Validate reports what ReplayRequest.Validate reports and a missing payload.
func (r RemapRequest) Validate() error {
	errs := []error{r.ReplayRequest.Validate()}
	if len(r.Payload) == 0 {
		errs = append(errs, errors.New("remap: payload is required"))
	}
	return errors.Join(errs...)
}

// RemapReason is the reason recorded for a remap: which mapping replaced
// which, then the operator's reason if any.
func (r RemapRequest) RemapReason() string {
	s := fmt.Sprintf("re-mapped: mapping %s -> %s", r.OldVersion, r.NewVersion)
	if r.Reason != "" {
		s += "; " + r.Reason
	}
	return s
}

// Replay is the record of one replay of a dead message.
type Replay struct {
	MessageID string
	Topic     string
	By        string
	Reason    string
	At        time.Time
	// Attempts is the number of attempts the message had made when it was replayed.
	Attempts int
}

// AfterSeq reads f.After, the cursor of List: the seq of the last message of
// the previous page ("" for the first page).
func (f ListFilter) AfterSeq() (int64, error) {
	if f.After == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(f.After, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("list messages: invalid cursor %q", f.After)
	}
	return n, nil
}

// Page cuts a store's List result, read with limit+1 rows, to one page and
// returns the cursor of the next page ("" when this is the last).
func Page(msgs []Message, seqs []int64, limit int) ([]Message, string) {
	if len(msgs) <= limit {
		return msgs, ""
	}
	return msgs[:limit], strconv.FormatInt(seqs[limit-1], 10)
}
