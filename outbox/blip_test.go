package outbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

type retryAfterErr time.Duration

func (r retryAfterErr) Error() string             { return "429 Too Many Requests" }
func (r retryAfterErr) RetryAfter() time.Duration { return time.Duration(r) }

// The order of the in-process retry: a panic is recovered inside each try
// (so it is retried like any failure), permanent errors and requested pauses
// are not retried, and only what is left after the retries reaches the
// persistent schedule, once (watermill issue 645 is this order gone wrong).
func TestBlipRetryOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		fail      func(call int) error
		wantCalls int
		wantErr   string // "" for delivered
		permanent bool
	}{
		{"panic is recovered, then retried", func(call int) error {
			if call == 1 {
				panic("adapter bug")
			}
			return nil
		}, 2, "", false},
		{"blip then success", func(call int) error {
			if call < 3 {
				return errors.New("connection reset")
			}
			return nil
		}, 3, "", false},
		{"retries exhausted", func(int) error { return errors.New("503 Service Unavailable") }, 3, "503 Service Unavailable", false},
		{"permanent is not retried", func(int) error { return Permanent(errors.New("400 Bad Request")) }, 1, "400 Bad Request", true},
		{"a requested pause is not retried", func(int) error { return retryAfterErr(time.Minute) }, 1, "429", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			r := &Relay{blipRetries: 2, logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			calls := 0
			d := DelivererFunc(func(context.Context, Delivery) error {
				calls++
				return c.fail(calls)
			})
			dl := Delivery{MessageID: "m-1", Topic: "t/p.q/d", Attempt: 1}
			ctx := context.Background()
			err := r.retryBlips(ctx, dl, func() error { return deliverRecovered(ctx, d, dl) })
			if calls != c.wantCalls {
				t.Errorf("%d calls, want %d", calls, c.wantCalls)
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("error %v, want delivered", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want %q", err, c.wantErr)
			case errors.Is(err, ErrPermanent) != c.permanent:
				t.Errorf("permanent = %v, want %v", errors.Is(err, ErrPermanent), c.permanent)
			}
			retries := strings.Count(logs.String(), "retrying in process")
			if want := c.wantCalls - 1; retries != want {
				t.Errorf("%d in-process retries logged, want %d:\n%s", retries, want, logs.String())
			}
			if strings.Contains(logs.String(), "503 Service Unavailable") || strings.Contains(logs.String(), "adapter bug") { // the whole text: "503" alone occurs in timestamps
				t.Errorf("logs contain the error text:\n%s", logs.String())
			}
		})
	}
}

// The in-process retries wait 300ms, then a second; a cancelled context ends
// the wait at once.
func TestBlipRetryWaits(t *testing.T) {
	t.Parallel()
	if blipWait(1) != 300*time.Millisecond || blipWait(2) != time.Second || blipWait(5) != time.Second {
		t.Fatalf("waits %v, %v, %v; want 300ms, 1s, 1s", blipWait(1), blipWait(2), blipWait(5))
	}
	r := &Relay{blipRetries: 2, logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := r.retryBlips(ctx, Delivery{}, func() error {
		calls++
		cancel()
		return errors.New("connection reset")
	})
	if calls != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %d calls, %v; want 1 call, context.Canceled", calls, err)
	}
}

// A Nack is a plain failure: retried on the policy, never dead at once,
// with no pause of its own; the typed errors the relay keeps are what
// carries more.
func TestNackCompletion(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	sub := &subscription{consumer: &consumer{cfg: SubscriberConfig{Now: func() time.Time { return now }}},
		opts: TopicOptions{Policy: RetryPolicy{InitialInterval: time.Second, MaxInterval: time.Second, Multiplier: 1}}}
	m := Message{CreatedAt: now}
	if c := sub.completion(m, 1, errNacked); c.Outcome != OutcomeRetry || c.Error != "delivery failed (nacked)" ||
		!c.NextAttemptAt.Equal(now.Add(time.Second)) {
		t.Errorf("nack: %+v, want a retry after a second", c)
	}
	if c := sub.completion(m, 1, retryAfterErr(time.Hour)); !c.NextAttemptAt.Equal(now.Add(time.Hour)) {
		t.Errorf("retry after an hour: next attempt %v", c.NextAttemptAt)
	}
	if c := sub.completion(m, 1, Permanent(errors.New("400 Bad Request"))); c.Outcome != OutcomeDead {
		t.Errorf("permanent: %+v, want dead", c)
	}
}

// A watermill consumer gets the message's metadata with the submission id
// and the attempt number, which the Relay's deliverers read from their
// typed fields.
func TestWatermillMessage(t *testing.T) {
	t.Parallel()
	md := map[string]string{MetaContentType: "application/xml"}
	for _, c := range []struct {
		name string
		d    Delivery
		want message.Metadata
	}{
		{"with submission", Delivery{MessageID: "m-1", SubmissionID: "s-1", Attempt: 3, Payload: []byte("<x/>"), Metadata: md},
			message.Metadata{MetaContentType: "application/xml", MetaSubmissionID: "s-1", MetaAttempt: "3"}},
		{"without", Delivery{MessageID: "m-2", Attempt: 1, Payload: []byte("<x/>")},
			message.Metadata{MetaAttempt: "1"}},
	} {
		wm := watermillMessage(c.d)
		if wm.UUID != c.d.MessageID || string(wm.Payload) != "<x/>" || !maps.Equal(wm.Metadata, c.want) {
			t.Errorf("%s: %s %q %v, want %s %v", c.name, wm.UUID, wm.Payload, wm.Metadata, c.d.MessageID, c.want)
		}
	}
	if len(md) != 1 {
		t.Errorf("the message's metadata changed: %v", md)
	}
}
