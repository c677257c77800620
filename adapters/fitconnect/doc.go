// Package fitconnect connects Amtsbote to FIT-Connect (FITKO), the federal
// route of online applications to the authorities, in both directions:
//
//   - Subscriber is the receiving side of a municipality's Zustellpunkt
//     (destination): it polls the Submission API for submissions ready for
//     pickup (and polls at once on a NewSubmissions callback, verified by
//     CallbackHandler: HMAC-SHA512 and a timestamp at most 5 minutes off),
//     decrypts metadata, Fachdaten and attachments, validates the metadata
//     against an embedded schema of the members it uses, checks the
//     SHA-512 hashes, and hands the submission to the same use case as the
//     portal API (intake.Service.Accept) with the FIT-Connect submission id
//     as idempotency key. Its accept-submission event is a follow-up
//     committed in the submission's transaction; a reject-submission (with
//     the specification's problem types) is an outbox message of its own.
//     EventDeliverer signs both as Security Event Tokens (PS512) and posts
//     them when the relay delivers them, so that a crash between the commit
//     and the post still sends the event once: its jti is the message id.
//   - Sender is the delivery adapter of destinations of type fitconnect: it
//     resolves the destination (configured, or the Routing API), fetches
//     and checks its encryption key, creates the submission, uploads the
//     attachments and submits metadata and XML, all encrypted (JWE,
//     RSA-OAEP-256 and A256GCM), and records the case as an outbox message
//     that CaseFollower delivers once the recipient's signed
//     accept-submission is in the case's event log (a reject makes it
//     dead). Reactor turns both into the portal's status callbacks.
//
// Client calls the Submission API with OAuth2 client credentials
// (golang.org/x/oauth2/clientcredentials), renewing the token before it
// expires and once more when the API refuses it. All cryptography is
// github.com/go-jose/go-jose/v4; the key checks (kty, alg, use or key_ops,
// RSA size, kid) are in ParseEncryptionKey, ParseDecryptionKey and
// ParseSigningKey, which check-config uses to refuse bad keys with the
// reason.
//
// Package fitconnecttest is a fake Zustelldienst for tests and the bench
// harness.
package fitconnect
