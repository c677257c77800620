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
// The Relay does not go through watermill. The outbox also offers a
// watermill Subscriber, on the same claim and complete machinery as the
// Relay: its Ack marks a message delivered, its Nack is a plain failure,
// retried on the topic's RetryPolicy. It is how watermill's universal
// Pub/Sub suite, which every store runs through outboxtest.RunWatermill,
// checks the leasing, ordering and redelivery that the Relay relies on, and
// it lets watermill users consume the outbox. The suite's publishing half,
// outboxtest.Publisher, lives with the suite: Amtsbote inserts messages
// through the transaction (Tx.InsertMessages), not through watermill.
//
// Stores (outbox/sqlite, outbox/postgres) implement Store and all run the
// conformance suite in outbox/outboxtest.
package outbox
