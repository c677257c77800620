// Package amqp delivers outbox messages to a RabbitMQ exchange (AMQP 0-9-1),
// for Fachverfahren and integration platforms that consume from a queue.
//
// A Deliverer publishes every message to one configured exchange with one
// routing key, through watermill-amqp, on channels in confirm mode: a
// delivery succeeds only after the broker has confirmed (basic.ack) the
// message. watermill-amqp's Publish waits for that confirm itself but ignores
// the context, so Deliver waits for Publish in a goroutine and gives up when
// the context ends; the publish may still be confirmed later, and the retry
// then publishes the message a second time.
//
// Each broker message carries
//
//	message_id     the outbox message id, the same on every retry and replay
//	content_type   the message's content_type metadata, default application/xml
//	delivery_mode  2 (persistent)
//	headers        x-amtsbote-submission-id (string), x-amtsbote-attempt
//	               (32-bit integer, 1-based), x-amtsbote-topic (string)
//
// and the message's content as its body: the payload unchanged or, for a
// message whose payload is a bundle (outbox.Bundle: a message with
// attachments, stored once as blobs), the ZIP container it describes,
// assembled at delivery. Delivery is at-least-once: receivers deduplicate
// by message_id.
//
// # Message size
//
// AMQP sends a body as one frame sequence after a header that states its
// size, and the broker confirms a message only whole, so a Deliverer holds
// each message's body in memory while it publishes it, one per delivery in
// flight: a bundle's container is read from the blob store into memory,
// once the broker is reached. That memory is bounded by
// Config.MaxMessageBytes (default 128 MiB, the default max_message_size of
// RabbitMQ 3.8 to 3.13): a larger message is refused as a permanent failure
// (ErrMessageTooLarge), before its attachments are read where their sizes
// already exceed it. In practice the procedure's attachment limits
// (attachments.max_count times attachments.max_bytes, 20 times 5 MiB by
// default) bound it further; keep both within the broker's
// max_message_size (RabbitMQ 4 defaults to 16 MiB). A blob that is missing
// or does not match its checksum is a permanent failure too.
//
// # Topology belongs to the operators
//
// Amtsbote declares no exchanges, queues or bindings: the broker's topology
// (exchange type, durability, queues, bindings, dead-lettering, policies) is
// owned by the operators of the broker. The configured exchange must exist.
// Publishing to a missing exchange makes the broker close the channel
// (404 NOT_FOUND); that is usually a deployment error that operators fix,
// so it is an ordinary, retryable error wrapping ErrExchangeNotFound, and
// it is logged at level Error naming the exchange. (To tell it apart from
// other failures, the Deliverer checks with a passive exchange declaration,
// which creates nothing, on a short-lived connection after a failed publish.)
//
// A message that the exchange routes to no queue is confirmed by the broker
// and dropped: bind a queue, or give the exchange an alternate exchange.
//
// # Connections
//
// New does not connect: the first Deliver does, so that a broker that is
// down when Amtsbote starts delays only this destination. An unreachable
// broker, a lost connection, a negative confirm (basic.nack) and a context
// that ends before the confirm are ordinary, retryable errors. Once
// connected, watermill-amqp reconnects by itself after a lost connection.
// Each publish uses its own short-lived channel (watermill-amqp's
// ChannelPoolSize 0): the pooled channels of watermill-amqp v3.0.2 are lost
// from the pool for good when reopening one fails during a reconnect, after
// which every publish blocks.
//
// The broker URL holds a password: it is never logged, and no error of this
// package contains it.
package amqp

// # Answers from the authority
//
// An AnswerSubscriber is the AMQP channel of answers (issue #15): it
// consumes one queue, which the operators declare (Amtsbote declares
// nothing), and hands each message body with its content_type to the
// answer service (intake.AnswerReceiver, source channel "amqp"). It uses
// amqp091 directly, not watermill-amqp, whose subscriber can only requeue
// a message it does not acknowledge. With a prefetch of one, answers are
// handled one at a time in queue order, and each message is settled only
// after the service has decided:
//
//   - stored, or a duplicate of a stored answer: basic.ack;
//   - not an acceptable answer (*intake.AnswerError), a message id reused
//     with another body (intake.ErrAnswerConflict), or a body larger than
//     AnswerConfig.MaxBytes: basic.reject without requeue, which
//     dead-letters the message where the queue has a dead-letter exchange
//     (give it one: otherwise the broker drops it), logged with the
//     message_id and the reason;
//   - the service unavailable (intake.ErrUnavailable) or any other error:
//     basic.nack with requeue after a delay that doubles with each failure
//     in a row (AnswerConfig.RetryDelay up to MaxRetryDelay), so the
//     answer is tried again and never lost.
//
// A message is acknowledged only after its answer is committed: after a
// crash in between it is delivered again, and the service recognises the
// duplicate. A lost connection or channel, an unreachable broker and a
// missing queue are logged and retried with a growing delay
// (ReconnectDelay up to MaxReconnectDelay); Run returns only when its
// context ends, and closing the connection returns the unacknowledged
// message to the queue. The body is held in memory whole (AMQP delivers
// it so); the broker's max_message_size bounds what arrives at all.
