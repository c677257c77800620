package fitconnect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// CaseMessageID is the id of the case message of a sent FIT-Connect
// submission. It is derived from the FIT-Connect submission id, so that a
// NewEvents callback finds the case message without a lookup.
func CaseMessageID(submissionID string) string {
	return uuid.NewSHA1(caseNamespace, []byte(submissionID)).String()
}

// CaseWaker is the part of the outbox a NewEvents callback uses.
type CaseWaker interface {
	MakeDue(ctx context.Context, topic, id string) (bool, error)
	Message(ctx context.Context, id string) (outbox.Message, error)
}

// DefaultLeaseWait is how long a NewEvents callback waits, by default, for
// a case message whose event log is being read at that moment.
const DefaultLeaseWait = 5 * time.Second

// NewEventsConfig configures a NewEvents handler: the callbacks of one
// fitconnect destination.
type NewEventsConfig struct {
	// Secret is the callback secret the Sender registers with each submission.
	Secret []byte
	// Topic is the destination's CaseTopic.
	Topic string
	// Destination names the destination in metrics (its outbox topic).
	Destination string
	Store       CaseWaker
	Observer    Observer
	Logger      *slog.Logger
	Now         func() time.Time
	// LeaseWait bounds how long a callback waits for a case message that
	// is being delivered (its event log read) at that moment: that look may
	// have missed the new event, so the message is made due once it is
	// free. Default DefaultLeaseWait; negative: no wait.
	LeaseWait time.Duration
}

// newEventsHandler answers NewEvents callbacks.
type newEventsHandler struct {
	cfg  NewEventsConfig
	recv callbackReceiver
	obs  Observer
	log  *slog.Logger
}

// NewEventsHandler answers the NewEvents callbacks of the Zustelldienst for
// the submissions a fitconnect destination sent: it verifies the HMAC and
// the timestamp (401 and nothing changed otherwise) and makes the case
// message of each submission named due at once, so that the relay reads
// the case's event log now instead of at the next poll.
func NewEventsHandler(cfg NewEventsConfig) (http.Handler, error) {
	if cfg.Store == nil || len(cfg.Secret) == 0 || cfg.Topic == "" {
		return nil, errors.New("fitconnect: new events handler: store, secret and topic are required")
	}
	if cfg.LeaseWait == 0 {
		cfg.LeaseWait = DefaultLeaseWait
	}
	h := &newEventsHandler{cfg: cfg, recv: newCallbackReceiver(cfg.Secret, CallbackNewEvents, cfg.Destination, cfg.Observer, cfg.Now),
		log: cfg.Logger}
	h.obs = h.recv.obs
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

func (h *newEventsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cb, ok := h.recv.receive(w, r)
	if !ok {
		return
	}
	deadline := time.Now().Add(h.cfg.LeaseWait) // for the whole callback
	for _, id := range callbackSubmissions(cb) {
		if err := h.wake(r.Context(), id, deadline); err != nil {
			h.obs.Error(h.cfg.Destination, ErrorStore)
			h.log.ErrorContext(r.Context(), "fitconnect NewEvents callback: case message not made due",
				slog.String("fitconnect_submission", id), slog.Any("error", err))
			http.Error(w, "the outbox is not available", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// callbackSubmissions returns the distinct submission ids of a callback.
func callbackSubmissions(cb CallbackBody) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, s := range cb.Submissions {
		add(s.SubmissionID)
	}
	for _, id := range cb.SubmissionIDs {
		add(id)
	}
	return out
}

// leasePoll is how often wake looks whether a leased case message is free.
const leasePoll = 100 * time.Millisecond

// wake makes the case message of a FIT-Connect submission due. A message
// that is leased (its event log being read) is made due once it is free,
// waiting until deadline; one that is decided, or none (a submission of
// another destination, or one whose case is not recorded yet, which is
// looked at when it is), is left alone.
func (h *newEventsHandler) wake(ctx context.Context, submissionID string, deadline time.Time) error {
	id := CaseMessageID(submissionID)
	for {
		changed, err := h.cfg.Store.MakeDue(ctx, h.cfg.Topic, id)
		if err != nil {
			return err
		}
		if changed {
			h.log.DebugContext(ctx, "fitconnect case due after a NewEvents callback", slog.String("fitconnect_submission", submissionID),
				slog.String("message_id", id))
			return nil
		}
		m, err := h.cfg.Store.Message(ctx, id)
		if errors.Is(err, outbox.ErrNotFound) {
			h.log.DebugContext(ctx, "fitconnect NewEvents callback for a submission without a case here", slog.String("fitconnect_submission", submissionID))
			return nil
		}
		if err != nil {
			return err
		}
		if m.Topic != h.cfg.Topic || m.State.Final() {
			return nil
		}
		if !time.Now().Before(deadline) {
			h.log.WarnContext(ctx, "fitconnect case still being read after a NewEvents callback; the next poll finds the event",
				slog.String("fitconnect_submission", submissionID), slog.String("message_id", id))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(leasePoll):
		}
	}
}
