package webhook_test

import (
	"net/http"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/webhook"
	"github.com/amtsbote/amtsbote/outbox"
)

// A callback receiver's answers are classified like an HTTP destination's.
func TestStatusErrorClass(t *testing.T) {
	for status, want := range map[int]outbox.ErrorClass{
		http.StatusServiceUnavailable: outbox.ClassReceiverUnavailable,
		http.StatusTooManyRequests:    outbox.ClassReceiverUnavailable,
		http.StatusRequestTimeout:     outbox.ClassTimeout,
		http.StatusNotFound:           outbox.ClassReceiverRejected,
	} {
		if got := outbox.ClassifyError(&webhook.StatusError{StatusCode: status, Host: "portal.example"}); got != want {
			t.Errorf("%d: class %q, want %q", status, got, want)
		}
	}
}
