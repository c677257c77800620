package fitconnect_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/outbox"
)

// The Zustelldienst's answers get the classes portals see, as an HTTP
// receiver's do: unavailable (5xx, 429), timeout (408), rejected (other 4xx).
func TestAPIErrorClass(t *testing.T) {
	for status, want := range map[int]outbox.ErrorClass{
		http.StatusServiceUnavailable:  outbox.ClassReceiverUnavailable,
		http.StatusTooManyRequests:     outbox.ClassReceiverUnavailable,
		http.StatusRequestTimeout:      outbox.ClassTimeout,
		http.StatusBadRequest:          outbox.ClassReceiverRejected,
		http.StatusUnprocessableEntity: outbox.ClassReceiverRejected,
	} {
		err := fmt.Errorf("fitconnect: message x: %w", &fitconnect.APIError{Method: "POST", Path: "/v1/submissions", Status: status})
		if got := outbox.ClassifyError(err); got != want {
			t.Errorf("%d: class %q, want %q", status, got, want)
		}
	}
}
