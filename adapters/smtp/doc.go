// Package smtp delivers outbox messages that describe an e-mail (office mails
// and alarms, see Mail) through an SMTP server, with STARTTLS, implicit TLS or
// none, and optional SMTP AUTH. The MIME message is built by
// github.com/wneessen/go-mail.
//
// Every mail carries the Message-ID "<outbox-message-id@domain>", the same
// on every attempt, so a mail sent twice (at-least-once delivery) can be
// recognised by the receiving side.
//
// Errors: a 5xx answer of the server, an invalid payload and a configuration
// the server rejects are permanent (outbox.ErrPermanent); 4xx answers and
// network failures are retried.
package smtp
