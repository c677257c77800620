// Package webhook delivers status callbacks to portals: each outbox message
// is a JSON event POSTed to the portal's callback URL, signed with
// HMAC-SHA256.
//
// Headers of every request:
//
//	Amtsbote-Event-Id:  the outbox message id, the same on every attempt (deduplicate by it)
//	Amtsbote-Timestamp: unix seconds when this attempt was made
//	Amtsbote-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// A receiver recomputes the signature over the raw body, compares it in
// constant time and rejects timestamps more than MaxSkew away from its clock.
//
// Answers: 2xx is delivered; 408, 425, 429 and 5xx are retried, honouring
// Retry-After (outbox.RetryAfterError); every other status is permanent.
package webhook
