// Package outbox is Amtsbote's transactional outbox: every accepted submission is
// stored together with one Message per destination in a single transaction, and
// the relay delivers those messages with persistent retries, leases and dead
// letters.
//
// The intake (package intake) inserts a submission's messages in the
// transaction that stores the submission (Tx.InsertMessages). The outbox is
// also exposed through watermill's contracts: a Publisher for standalone use
// and a Subscriber whose Ack marks a message delivered and whose Nack schedules the
// next attempt from the destination's RetryPolicy. The Relay drives delivery
// through a watermill Router, one handler per destination topic, so a slow or
// failing destination never delays the others.
//
// Stores (outbox/sqlite, outbox/postgres) implement Store and all run the
// conformance suite in outbox/outboxtest.
package outbox
