// Package outbox is Amtsbote's transactional outbox: every accepted submission is
// stored together with one Message per destination in a single transaction, and
// the relay delivers those messages with persistent retries, leases and dead
// letters.
//
// The Relay claims due messages per destination topic, so a slow or failing
// destination never delays the others, and hands each to the topic's
// Deliverer as a Delivery. The deliverer's error stays an error up to the
// record of the attempt: nil is delivered, an error wrapping ErrPermanent
// is dead at once, a RetryAfterError postpones the next attempt, any other
// error is retried in-process for short blips and then on the destination's
// RetryPolicy; the circuit breaker counts the same outcomes.
//
// The intake (package intake) inserts a submission's messages in the
// transaction that stores the submission (Tx.InsertMessages).
//
// The outbox also speaks watermill's contracts: a Publisher for standalone
// use and a Subscriber whose Ack marks a message delivered and whose Nack schedules the
// next attempt (ErrorRecorder carries a handler's error across the Nack,
// which has none). The Subscriber runs on the same claim and complete
// machinery as the Relay, so watermill's universal Pub/Sub suite, which the
// stores run through outboxtest.RunWatermill, checks the leasing, ordering,
// redelivery and shutdown that the Relay relies on; and a watermill Router
// or forwarder can consume the outbox where one is wanted. The Relay itself
// does not go through watermill.
//
// Stores (outbox/sqlite, outbox/postgres) implement Store and all run the
// conformance suite in outbox/outboxtest.
package outbox
