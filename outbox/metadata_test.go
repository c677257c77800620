package outbox_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/outbox"
)

// The metadata keys are stored in the databases: a changed string would
// orphan the metadata of every stored message. This is the one place
// besides their declaration that spells them out.
func TestMetadataKeysStayTheSame(t *testing.T) {
	t.Parallel()
	for _, k := range []struct{ got, want string }{
		{outbox.MetaSubmissionID, "submission_id"},
		{outbox.MetaTenant, "tenant"},
		{outbox.MetaProcedure, "procedure"},
		{outbox.MetaDestination, "destination"},
		{outbox.MetaMessageType, "message_type"},
		{outbox.MetaContentType, "content_type"},
		{outbox.MetaAttachments, "attachments"},
		{outbox.MetaPayloadFormat, "payload_format"},
		{outbox.PayloadFormatBundle, "bundle"},
		{outbox.MetaIdentityMethod, "identity_method"},
		{outbox.MetaIdentityProvider, "identity_provider"},
		{outbox.MetaIdentityTrustLevel, "identity_trust_level"},
		{outbox.MetaIdentityPostboxReference, "identity_postbox_reference"},
		{outbox.MetaIdentityVerified, "identity_verified"},
		{outbox.MetaIdentityIssuer, "identity_issuer"},
		{outbox.MetaIdentitySubjectRef, "identity_subject_ref"},
	} {
		if k.got != k.want {
			t.Errorf("metadata key %q, want %q", k.got, k.want)
		}
	}
}
