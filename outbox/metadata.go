package outbox

// Metadata keys of the messages of a submission. They are written by the
// intake (package intake) and read by the relay, the delivery adapters, the
// notifications and the CLI, which all import them from here: the outbox is
// the one package every one of them may import. The strings are stored in
// the databases and must never change.
const (
	// MetaSubmissionID carries a message's SubmissionID in the metadata of
	// watermill messages (those the Subscriber hands out, those
	// outboxtest.Publisher stores); a stored Message keeps it in its
	// SubmissionID field, and deliverers read Delivery.SubmissionID.
	MetaSubmissionID = "submission_id"
	// MetaTenant is the tenant id.
	MetaTenant = "tenant"
	// MetaProcedure is the procedure id.
	MetaProcedure = "procedure"
	// MetaDestination is the destination id within the tenant's route.
	MetaDestination = "destination"
	// MetaMessageType names the XÖV message of a payload (e.g.
	// "xbau.baugenehmigung.antrag.0200", or the xdomea message "xdomea.0401"
	// in format xdomea), when set by the producer; the audit trail records it
	// with EventTransformed.
	MetaMessageType = "message_type"
	// MetaContentType is the payload's media type ("application/xml",
	// "application/zip" for containers); adapters that name files or set
	// headers read it. Absent means "application/xml".
	MetaContentType = "content_type"
	// MetaAttachments is the number of attachments that travel in a
	// message's payload (decimal), set only when there are any.
	MetaAttachments = "attachments"
	// MetaFileName is the base name, without extension, under which
	// adapters deliver the message as a file (a file drop's file, an HTTP
	// Content-Disposition), when it is not the message id: an xdomea
	// container is named like the message inside it,
	// "<message id>_FVDaten.SGOAblegen.0605". Read it with
	// Delivery.BaseName.
	MetaFileName = "file_name"
	// MetaPayloadFormat names how a message's payload is stored;
	// PayloadFormatBundle is its only value. Without it the payload is the
	// content itself.
	MetaPayloadFormat = "payload_format"
	// MetaMappingVersion names the mapping that produced a message's
	// payload: a declarative mapping's content hash, or for a Go mapper
	// "go:<procedure>@<build version>". A replay with re-mapping records
	// the old and the new one in the audit trail.
	MetaMappingVersion = "mapping_version"
)

// PayloadFormatBundle is the MetaPayloadFormat of a payload that is a
// Bundle: a ZIP container assembled at delivery.
const PayloadFormatBundle = "bundle"

// Metadata keys that carry the applicant's identity (transform.Identity) to
// every destination. They are set only when the submission has an identity:
// MetaIdentityMethod always, the others when not empty.
const (
	MetaIdentityMethod           = "identity_method"            // none, servicekonto or eid
	MetaIdentityProvider         = "identity_provider"          // e.g. BundID
	MetaIdentityTrustLevel       = "identity_trust_level"       // basic, substantial or high
	MetaIdentityPostboxReference = "identity_postbox_reference" // the account's postbox for replies
	// MetaIdentityVerified is "true" when method, provider and trust level
	// come from a verified identity token (transform.Identity.Verified);
	// absent when they are the portal's word.
	MetaIdentityVerified   = "identity_verified"
	MetaIdentityIssuer     = "identity_issuer"      // the verified token's iss
	MetaIdentitySubjectRef = "identity_subject_ref" // pseudonymous reference to the account, never the subject
)
