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
//   - concurrent deliveries of different messages all arrive;
//   - where the harness can unbundle what arrived (Harness.Unbundle), a
//     message whose payload is a bundle arrives as exactly its files,
//     attachments of several blob chunks included, compared by SHA-256; a
//     blob that is missing or corrupt is a permanent error, and the file
//     never arrives whole.
//
// For the bundle cases and adapters' own tests the package has an
// in-memory blob store (MemBlobs), a way to stage bundles in it or in a
// real store (StageBundle, InStore), and helpers to compare what arrived
// without holding it (Content, DigestOf, ZIPDigests).
//
// It mocks no receiving side: what arrived is read back from the real one.
package adaptertest
