// Package intake is the use case "accept a submission", below every inbound
// protocol: the portal API (adapters/portalapi) today, FIT-Connect and
// answers later. A protocol authenticates its sender, decodes the request
// into a Request and calls Service.Accept; it keeps only its protocol.
//
// Accept checks that the tenant routes the procedure to a mapper in the
// transform.Registry, has the protocol decode the attachments
// (Attachments.Check) and applies the rules of attachments to them, the
// same for every protocol: at most the procedure's MaxCount; each id a
// canonical lower-case UUID, used once; each file name a plain name for
// any file system (no path, no "." or "..", no colon, no characters or
// device names Windows forbids, NFC, transform.CheckText, at most
// MaxFileNameBytes), since it becomes part of ZIP entry names; each media
// type one the procedure allows; content of 1 to MaxBytes bytes, together
// at most MaxTotalBytes when set, whose first bytes are the signature of a
// PDF, PNG, JPEG or TIFF where it declares one. Problems are located as in
// the portal API's request: /attachments/i/filename and so on. Then the
// mapper validates the submission, which gets its id; Accept stages the
// content the protocol gave and has the protocol stream the rest, an
// upload (Attachments.Stage through a Stager, which checks size and
// signature as the content streams by), before any transaction, so that a
// slow upload holds none open, and maps the submission once per
// destination of the route. A destination in format xdomea gets the
// message filed in the E-Akte: an xdomea filing message whose ZIP
// container carries the document and the attachments; a destination in
// format xoev with attachments gets a container of the XÖV document and
// the attachments under AttachmentsDir. Containers are outbox.Bundles,
// assembled at delivery from the stored blobs.
//
// The submission, its blobs and one outbox.Message per destination commit
// in one transaction. Each message carries the metadata keys of package
// outbox (outbox.MetaTenant, MetaProcedure, MetaDestination,
// MetaMessageType, MetaContentType, MetaAttachments, MetaPayloadFormat and
// the identity keys). A protocol's follow-ups (Request.FollowUps, such as
// FIT-Connect's accept-submission event) commit in the same transaction,
// only with a new submission. What is staged and not committed is deleted.
//
// Idempotency: a request with an IdempotencyKey the portal used before
// stores nothing. With the same RequestHash it returns the original
// submission's id (Receipt.Replayed); with another it is
// ErrIdempotencyConflict. The store guarantees this for concurrent retries.
//
// Errors are typed, so that every protocol answers them its own way:
// *ValidationError lists the submission's problems (wrapping
// ErrUnknownTenant or ErrUnknownProcedure where the request names what is
// not configured), ErrIdempotencyConflict, and ErrUnavailable for a store
// failure, after which the sender retries with the same key. Errors of the
// protocol's Attachments are returned as they are; anything else is a bug
// or a broken mapper.
//
// # Answers from the authority
//
// The second use case, AnswerService (the AnswerReceiver of answer.go),
// receives the answers of Fachverfahren and DMS from every channel (HTTP
// in adapters/portalapi, the file inbox, AMQP): it parses the body as
// hostile input (transform/answers), matches it by its reference only (the
// message id it answers, else the submission id it names) to a submission
// of the tenant whose destination sent it, and stores it in one
// transaction with its effects: its audit event on the submission (which
// the reactor turns into the portal callback submission.answer) and a
// Bescheid's documents as blobs of the submission. An answer is idempotent
// by its own message id per tenant; the same id with another body is
// ErrAnswerConflict, recorded. An answer that matches nothing is stored
// unmatched, for an operator to Assign or Discard.
//
// # Why no watermill publisher
//
// The messages are inserted as outbox.Messages through the transaction
// (outbox.Tx.InsertMessages), not published through a watermill Publisher
// bound to it: that publisher turned each message into a watermill message
// and straight back in the same process, moving the submission id through
// the metadata and out again, and earned nothing for it: the intake never
// publishes anywhere but the outbox, and within one transaction there is
// nothing for watermill's router or middleware to do. The notifications
// (adapters/notify) insert outbox.Messages the same way, so there is one
// way to enqueue.
package intake
