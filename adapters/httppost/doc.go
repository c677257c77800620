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
// A message with attachments has a ZIP payload (content type
// application/zip) holding "<message id>.xml" and each attachment as
// "anlagen/<attachment id>/<file name>". With attachments "multipart" (the
// default) it is sent as one multipart/related request (RFC 2387): the root
// part is the XML or SOAP envelope, then one part per file with its
// Content-Type by file extension, a Content-ID "<attachment id@amtsbote>"
// and a Content-Disposition naming the file. With attachments "separate" the
// XML (or envelope) is sent first, with the header X-Amtsbote-Attachments
// giving the number of files to follow, then each file as its own POST to the
// same URL with the headers X-Amtsbote-Attachment-Id and Content-Disposition;
// its Idempotency-Key is "<message id>/<attachment id>", so that a receiver
// deduplicating by key keeps every file. A retry sends all requests again.
//
// An xdomea container (metadata message_type starting with "xdomea.") is
// sent as it is, as one application/zip body, with or without SOAP.
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
