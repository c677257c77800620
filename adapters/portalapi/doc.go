// Package portalapi is the inbound HTTP API through which citizen portals
// (Onlinedienste) submit applications to a municipality.
//
// # Submitting
//
//	POST /v1/submissions
//	Authorization: Bearer <API key>
//	Content-Type: application/json
//	Idempotency-Key: <optional, 1-255 printable ASCII characters>
//
//	{"tenant": "musterstadt", "procedure": "meldewesen.wohnungsgeberbestaetigung",
//	 "applicant": {...}, "data": {...},
//	 "identity": {"method": "servicekonto", "provider": "BundID",
//	              "trust_level": "substantial", "postbox_reference": "..."},
//	 "attachments": [...]}
//
// The API key selects the portal (config.Config.PortalByKey, compared in
// constant time). The body is decoded strictly: one UTF-8 JSON object with
// these members and no others, numbers kept as written; identity and
// attachments are optional. The handler checks the portal's permission for
// the tenant and procedure (403) and hands the decoded submission to its
// Intake (package intake), which checks, in this order, the tenant's route
// for the procedure and its mapper in the transform.Registry (422), the
// attachments (422: this package only decodes them, the rules are the
// intake's), and the mapper's Validate (422, every problem at once). Then the submission gets
// its id, the mapper builds one XÖV message per destination of the route,
// and the submission and its messages are committed to the outbox in one
// transaction, each message on its topic (config.Topic(tenant, procedure,
// destination)). The handler maps Intake's typed errors to the problems
// below. Only after the commit the answer is
//
//	202 Accepted
//	Location: /v1/submissions/<id>
//
//	{"id": "<id>", "status": "accepted"}
//
// A database failure is answered with 503 and Retry-After; the portal
// retries with the same Idempotency-Key. Keys are scoped to the portal. A
// retry with a key already used and the same request (equal after decoding:
// whitespace and member order do not matter) is answered like the original,
// with the header Idempotent-Replayed: true, and stores nothing; a different
// request under a used key is a 422 idempotency-conflict. The store
// guarantees this for concurrent retries as well.
//
// # Identity
//
// identity states how the portal identified the applicant (absent or null:
// it states nothing). method is "none", "servicekonto" (an account such as
// BundID; provider names it and is required) or "eid" (the eID function of
// the identity card); trust_level, the eIDAS Vertrauensniveau "basic",
// "substantial" or "high", is required unless method is "none", and with
// "none" provider, trust_level and postbox_reference must be absent.
// postbox_reference optionally addresses the account's postbox. Texts must
// pass transform.CheckText. Problems are 422 errors with pointers such as
// /identity/trust_level. The identity goes into transform.Submission.Identity
// for the mapper and into the metadata of every outbox message
// (outbox.MetaIdentityMethod, MetaIdentityProvider, MetaIdentityTrustLevel,
// MetaIdentityPostboxReference), so that it travels to every destination.
//
// A portal with config.Portal.IdentityToken sends the applicant's identity
// token (a JWT of the identity provider) in the header HeaderIdentityToken,
// which the handler verifies (package intake/idtoken) before it reads the
// body: missing (where required) or refused, the answer is 401
// ProblemIdentityToken with a reason; keys unavailable, 503. Method,
// provider and trust level then come from the token; the identity member
// may be absent or state the same or less (mergeIdentity: a different
// method or provider, or a higher trust level, is a 422 at its pointer).
// The verified identity, with its issuer and pseudonymous subject
// reference (outbox.MetaIdentityVerified, MetaIdentityIssuer,
// MetaIdentitySubjectRef), replaces the stated one, and the request hash
// covers it, so that an Idempotency-Key stays bound to one account.
//
// # Attachments
//
// attachments, optional, carries the files (Anlagen) of the submission:
//
//	"attachments": [{"id": "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", "filename": "Lageplan.pdf",
//	                 "mime_type": "application/pdf", "content": "JVBERi0xLjcK..."}]
//
// Each object has exactly these members (this package decodes them and
// reports unknown members, wrong types and bad base64; package intake
// applies the rules below to attachments of every protocol): id, a UUID in
// canonical lower-case form, unique within the request; filename, a plain
// name of at most MaxFileNameBytes bytes in NFC that passes transform.CheckText, without
// control characters, "/", "\" or ":", not "." or ".." and not starting
// with a dot, nothing Windows forbids (< > " | ? *, a trailing dot or space,
// device names such as CON or LPT1), rejected, never rewritten; mime_type, one of the procedure's
// config.AttachmentLimits.MIMETypes (case-insensitive); content, the file
// in standard base64 with padding (RFC 4648, section 4, no line breaks),
// 1 to MaxBytes bytes decoded. PDF, PNG, JPEG and TIFF content must start
// with the signature of its type (CodeContentMismatch); other allowed types
// are not sniffed. There may be at most MaxCount attachments, together at
// most MaxTotalBytes when the procedure sets it. Problems are
// 422 errors with pointers such as /attachments/2/content, reported before
// the mapper's Validate is called. The attachments go into
// transform.Submission.Attachments in request order.
//
// Attachments may also come as parts of a multipart/form-data request
// (RFC 7578): first the part PartSubmission with the JSON, its attachments
// described without content, then one part per attachment named by its
// id, holding the bytes as they are. Parts are streamed into staged blobs
// (outbox.StageBlob) through the intake's Stager, one chunk in memory at a
// time, which checks them on the way: size against MaxBytes (and
// MaxTotalBytes) as it arrives, the signature of its type. This package
// checks that there is no
// unknown (CodeUnknownPart) or repeated (CodeDuplicatePart) part, every
// declared one present. server.max_body_bytes bounds the submission part
// only; the connection's deadlines move with the upload's progress
// (Config.UploadIdleTimeout). The request hash covers the canonical JSON
// and each file's SHA-256.
//
// Either way the intake stages the content (intake.Stager) before the
// submission's transaction, which commits the blobs with it (outbox.Tx
// InsertBlobs); a request that fails or is an idempotent retry deletes what
// it staged. The stored
// request keeps no content. A message in format xoev of a submission with
// attachments is a bundle (outbox.Bundle, content type application/zip):
// the relay assembles its ZIP container of "<message id>.xml" and each
// attachment as intake.AttachmentsDir/<attachment id>/<file name> while it
// delivers; in format xdomea the attachments travel in the xdomea
// container, likewise assembled. Both carry the number of attachments as
// outbox.MetaAttachments. Without attachments, nothing changes: the payload is
// the XML.
//
// # Status
//
//	GET /v1/submissions/{id}
//
// shows the submission, the identity the portal stated, and the delivery of
// each of its messages (state, attempts, attempt log) to the portal that
// submitted it; for any other
// portal it does not exist (404). The status is "delivered" once every
// destination has the message, "failed" once any message is dead, and
// "accepted" before.
//
// # Errors
//
// Every error is an RFC 9457 problem (application/problem+json) whose type
// is one of the Problem constants. A 422 lists the problems of the
// submission as errors, each with an RFC 6901 JSON pointer into the request
// body and a code (the transform.Code constants and the Code constants
// here). Problems and logs never contain request values, API keys or
// bodies: only pointers, codes and ids.
//
// Problems are written in German when the request's Accept-Language prefers
// German (de or any de-* range, by q-value) over English, and in English
// otherwise: the title, the detail and the detail of each error
// (transform.FieldError.Localized). Content-Language names the language.
//
// # Security
//
// authenticate, which every endpoint calls first, checks in this order: the
// client address has not used up its failed authentications (a token
// bucket per IP address in a bounded table, Config.AuthFailureRate and
// AuthFailureBurst; else 429 before the key is looked at); the bearer key
// is a portal's, or a portal's config.Portal.PreviousKey before it expires
// (401; the request log says api_key=previous); a portal with config.Portal.ClientCert presented a
// verified TLS client certificate matching it (401; TLSConfig builds the
// server side); the portal is within its config.Portal.RateLimit (429).
// Every 429 carries Retry-After. A failure is logged at Warn with the
// client address, a reason and, where known, the portal id, never the key.
//
// The body is decoded in one pass by decodeJSON, which refuses nesting
// deeper than MaxJSONDepth and member names that repeat, also in another
// case (400), before encoding/json semantics would let the last one win.
// Intake is shared fairly among the portals (fairness.go): memory for
// bodies is reserved as the bytes arrive, never as announced, and a JSON
// body beyond Config.BodyBufferBytes is spooled to an encrypted, unlinked
// file until complete (spool.go); each portal holds at most its share of
// the memory (Config.PortalInflightBodyBytes, else 429) and of the
// submissions in progress (Config.PortalMaxUploads, else 429), all
// together at most Config.MaxInflightBodyBytes and Config.MaxUploads (else
// 503); a body below Config.MinBodyRate after Config.BodyRateGrace gets 408
// and its connection is closed. The database work of a request is bounded
// by Config.DatabaseTimeout (503 with Retry-After).
//
// # Operation
//
// Handler logs one Info record per request (method, route pattern, status,
// duration, portal and submission id), turns handler panics into 500
// problems, and answers every request with 503 while draining (SetDraining)
// during shutdown. NewServer returns an http.Server with the timeouts of
// config.Server and a limit on header size.
package portalapi
