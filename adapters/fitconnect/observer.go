package fitconnect

import "time"

// Kinds of errors an Observer counts.
const (
	ErrorAPI      = "api"      // the Zustelldienst answered with an error or not at all
	ErrorToken    = "token"    // no access token
	ErrorStore    = "store"    // the outbox failed
	ErrorConflict = "conflict" // a submission id came back with other content
	ErrorCallback = "callback" // a callback failed verification
	ErrorEvent    = "event"    // an event in a case's event log did not verify
)

// Observer receives what the FIT-Connect parts count; adapters/metrics
// turns it into amtsbote_fitconnect_* metrics. Labels are configured ids
// and fixed kinds only.
type Observer interface {
	Polled(subscriber string, ok bool)
	Fetched(subscriber string)
	Accepted(subscriber string)
	Rejected(subscriber, problem string)
	Error(subscriber, kind string)
	// Waiting reports the submissions ready for pickup and how long the
	// oldest of them has been waiting (0 when none or unknown).
	Waiting(subscriber string, count int, oldest time.Duration)
	// CaseEvent counts an accept or reject of an outbound submission.
	CaseEvent(destination, event string)
	// Callback counts a callback received by a subscriber (new_submissions)
	// or a destination (new_events): ok when verified, else refused.
	Callback(receiver, callback string, ok bool)
}

type nopObserver struct{}

func (nopObserver) Polled(string, bool)                {}
func (nopObserver) Fetched(string)                     {}
func (nopObserver) Accepted(string)                    {}
func (nopObserver) Rejected(string, string)            {}
func (nopObserver) Error(string, string)               {}
func (nopObserver) Waiting(string, int, time.Duration) {}
func (nopObserver) CaseEvent(string, string)           {}
func (nopObserver) Callback(string, string, bool)      {}
