// Package httppost delivers outbox messages by HTTP(S) POST to a
// Fachverfahren's web service, as plain XML or wrapped in a SOAP 1.1 or 1.2
// envelope.
//
// # Requests
//
// Every message goes to the configured URL (config.HTTP.URL), never to a URL
// taken from a message; redirects are not followed. Each request carries
//
//	User-Agent: Amtsbote
//	X-Amtsbote-Message-Id: <message id>
//	X-Amtsbote-Submission-Id: <submission id>   (when the message has one)
//	X-Amtsbote-Attempt: <attempt, from 1>
//	Idempotency-Key: <message id>
//
// plus the configured extra headers and the credential (basic or bearer).
// The message id stays the same across retries, so the receiver can
// deduplicate: delivery is at-least-once.
//
// The body is the XML document with Content-Type "application/xml;
// charset=utf-8"; with SOAP 1.1 a SOAP envelope with the document (its XML
// declaration stripped) as the only child of soap:Body, Content-Type
// "text/xml; charset=utf-8" and a SOAPAction header; with SOAP 1.2 the same
// in the SOAP 1.2 namespace with Content-Type "application/soap+xml;
// charset=utf-8; action=...".
//
// # Attachments
//
// A message with attachments is a ZIP container holding "<message id>.xml"
// and each attachment as "anlagen/<attachment id>/<file name>". Its payload
// is a bundle (outbox.Bundle): the XML inline, the attachments stored once
// per submission as blobs, which are streamed from the store while the
// requests are sent, one chunk at a time, never held whole. (Messages stored
// before bundles have the container itself as payload, content type
// application/zip; they are sent the same way, but from memory, and a
// multipart body with a Content-Length.)
//
// With attachments "multipart" (the default) the message is sent as one
// multipart/related request (RFC 2387): the root part is the XML or SOAP
// envelope, then one part per file with the attachment's media type (by
// file extension where the message names none), a Content-ID
// "<attachment id@amtsbote>" and a Content-Disposition naming the file. The
// body is written while it is sent, so it goes out with chunked transfer
// encoding and no Content-Length.
//
// With attachments "separate" the XML (or envelope) is sent first, with the
// header X-Amtsbote-Attachments giving the number of files to follow, then
// each file as its own POST to the same URL with the headers
// X-Amtsbote-Attachment-Id and Content-Disposition, its media type as
// above, and a Content-Length: the file's size. Its Idempotency-Key is
// "<message id>/<attachment id>", so that a receiver deduplicating by key
// keeps every file.
//
// An xdomea container (metadata message_type starting with "xdomea.") is
// sent as it is, as one application/zip body, with or without SOAP; from a
// bundle it is assembled while it is sent (chunked).
//
// Before the first request every blob of the message is looked up: a
// missing one (purged, or lost) fails the delivery permanently without
// sending anything. A blob whose content does not match its stored size
// and checksum shows that only at its end, after its bytes went out: the
// request is then broken off before it is complete (the last byte of a
// Content-Length body is held back until the check passed; a chunked body
// lacks its end), and the delivery fails permanently. A retry sends all
// requests again, their content read afresh from the store, and so is the
// content of a request that the transport resends on a new connection. The
// configured timeout bounds each request, its upload included.
//
// # Results
//
// A 2xx answer means delivered. 408, 425, 429, every 5xx, timeouts and
// connection or TLS errors are retryable errors; a Retry-After header on
// them is returned as a *RetryAfterError. Every other answer (3xx, other
// 4xx) is permanent: errors.Is(err, outbox.ErrPermanent). Errors name the
// status and the URL's host and quote the start of the response body, never
// the payload; the payload is never logged.
package httppost
