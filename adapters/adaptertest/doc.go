// Package adaptertest is the contract suite every delivery adapter runs: an
// adapter's test builds a Harness around a real receiving side (a directory,
// an HTTP server, a broker) and calls Run.
//
// The suite checks what outbox.Deliverer promises the relay:
//
//   - a delivered message arrives with exactly its payload bytes and its message id;
//   - delivering the same message again succeeds and the receiver sees the
//     same id again, so it can deduplicate (at-least-once delivery);
//   - a cancelled context makes Deliver return promptly with an error that
//     is not permanent (errors.Is(err, outbox.ErrPermanent) is false), so the
//     message is retried, never dead-lettered by a shutdown;
//   - concurrent deliveries of different messages all arrive.
//
// It uses no mocks: what arrived is read back from the receiving side.
package adaptertest
