package fitconnect

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Event types of the event log (the keys of a SET's events claim).
const (
	EventCreateSubmission = "https://schema.fitko.de/fit-connect/events/create-submission"
	EventSubmitSubmission = "https://schema.fitko.de/fit-connect/events/submit-submission"
	EventAcceptSubmission = "https://schema.fitko.de/fit-connect/events/accept-submission"
	EventRejectSubmission = "https://schema.fitko.de/fit-connect/events/reject-submission"
)

// Problem types of a reject-submission event.
const (
	problemBase            = "https://schema.fitko.de/fit-connect/events/problems/"
	ProblemEncryptionIssue = problemBase + "encryption-issue"     // a JWE did not decrypt
	ProblemSchemaViolation = problemBase + "schema-violation"     // metadata or Fachdaten invalid against their schema
	ProblemSyntaxViolation = problemBase + "syntax-violation"     // not parseable JSON
	ProblemHashMismatch    = problemBase + "hash-mismatch"        // a hash in the metadata differs from the content
	ProblemMissingData     = problemBase + "missing-data"         // no Fachdaten although the metadata announces them
	ProblemAttachments     = problemBase + "attachments-mismatch" // attachments of the metadata and the submission differ
	ProblemUnsupported     = problemBase + "unsupported-service"  // the service (Leistung) is not accepted here
	ProblemUnsupportedData = problemBase + "unsupported-schema"   // the Fachdaten's schema is not one we accept
	ProblemTechnicalError  = problemBase + "technical-error"      // something on our side
	ProblemInvalidSubmit   = problemBase + "invalid-submission"   // another problem of the submission
)

// SETType is the typ header of a Security Event Token.
const SETType = "secevent+jwt"

// Problem is one problem of a reject-submission event (RFC 9457 members).
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// AuthenticationTags of an accept-submission event: the JWE
// authentication tags of what was received, by part.
type AuthenticationTags struct {
	Metadata    string            `json:"metadata"`
	Data        string            `json:"data,omitempty"`
	Attachments map[string]string `json:"attachments,omitempty"`
}

// EventPayload is the payload of an accept- or reject-submission event.
type EventPayload struct {
	AuthenticationTags *AuthenticationTags `json:"authenticationTags,omitempty"`
	Problems           []Problem           `json:"problems,omitempty"`
}

// SETClaims are the claims of a Security Event Token of the event log.
type SETClaims struct {
	Issuer   string                     `json:"iss"`
	IssuedAt int64                      `json:"iat"`
	JTI      string                     `json:"jti"`
	Subject  string                     `json:"sub"` // "submission:<id>"
	TxN      string                     `json:"txn"` // "case:<id>"
	Events   map[string]json.RawMessage `json:"events"`
}

// Event is one decoded event of a SET.
type Event struct {
	Type         string
	SubmissionID string
	CaseID       string
	JTI          string
	Issuer       string
	IssuedAt     time.Time
	Payload      EventPayload
	KeyID        string // of the signature
}

// SignSET signs an event as a SET with the key (PS512, typ secevent+jwt).
func SignSET(key Key, issuer, jti, submissionID, caseID, eventType string, payload EventPayload, iat time.Time) (string, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	claims := SETClaims{Issuer: issuer, IssuedAt: iat.Unix(), JTI: jti, Subject: "submission:" + submissionID,
		TxN: "case:" + caseID, Events: map[string]json.RawMessage{eventType: p}}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType(SETType).WithHeader(jose.HeaderKey("kid"), key.KID())
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: SignatureAlgorithm, Key: key.JWK.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	obj, err := signer.Sign(body)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return obj.CompactSerialize()
}

// ErrSignature is a SET whose signature does not verify or that is malformed.
var ErrSignature = errors.New("invalid security event token")

// SETKeyID returns the kid in the header of a SET, without verifying it.
func SETKeyID(set string) (string, error) {
	obj, err := jose.ParseSignedCompact(set, []jose.SignatureAlgorithm{SignatureAlgorithm})
	if err != nil || len(obj.Signatures) != 1 {
		return "", fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return obj.Signatures[0].Header.KeyID, nil
}

// VerifySET verifies a SET with the public key and decodes its one event.
func VerifySET(key Key, set string) (Event, error) {
	obj, err := jose.ParseSignedCompact(set, []jose.SignatureAlgorithm{SignatureAlgorithm})
	if err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if len(obj.Signatures) != 1 {
		return Event{}, fmt.Errorf("%w: %d signatures", ErrSignature, len(obj.Signatures))
	}
	h := obj.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != SETType {
		return Event{}, fmt.Errorf("%w: typ %q", ErrSignature, typ)
	}
	body, err := obj.Verify(key.JWK.Key)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	var c SETClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return Event{}, fmt.Errorf("%w: claims: %v", ErrSignature, err)
	}
	if len(c.Events) != 1 {
		return Event{}, fmt.Errorf("%w: %d events in one token", ErrSignature, len(c.Events))
	}
	e := Event{JTI: c.JTI, Issuer: c.Issuer, IssuedAt: time.Unix(c.IssuedAt, 0).UTC(), KeyID: h.KeyID}
	e.SubmissionID, _ = strings.CutPrefix(c.Subject, "submission:")
	e.CaseID, _ = strings.CutPrefix(c.TxN, "case:")
	for t, p := range c.Events {
		e.Type = t
		if len(p) > 0 {
			if err := json.Unmarshal(p, &e.Payload); err != nil {
				return Event{}, fmt.Errorf("%w: payload: %v", ErrSignature, err)
			}
		}
	}
	return e, nil
}

// decodeUnverified decodes a SET's claims without verifying it, for what
// needs no proof (the age of a waiting submission).
func decodeUnverified(set string) (Event, error) {
	obj, err := jose.ParseSignedCompact(set, []jose.SignatureAlgorithm{SignatureAlgorithm})
	if err != nil {
		return Event{}, err
	}
	var c SETClaims
	if err := json.Unmarshal(obj.UnsafePayloadWithoutVerification(), &c); err != nil {
		return Event{}, err
	}
	e := Event{JTI: c.JTI, Issuer: c.Issuer, IssuedAt: time.Unix(c.IssuedAt, 0).UTC()}
	e.SubmissionID, _ = strings.CutPrefix(c.Subject, "submission:")
	e.CaseID, _ = strings.CutPrefix(c.TxN, "case:")
	for t := range c.Events {
		e.Type = t
	}
	return e, nil
}
