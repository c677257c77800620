package transform

import (
	"fmt"
	"strings"
	"time"
)

// Submission is the canonical, validated form of a portal submission.
type Submission struct {
	ID        string // submission id (UUID) assigned at intake
	Tenant    string // tenant (municipality) id from the request body
	Procedure string // procedure id from the request body, the Registry key
	// Applicant is the "applicant" object of the request body as decoded by
	// encoding/json with UseNumber: values are map[string]any, []any, string,
	// json.Number, bool or nil. A nil map stands for an absent or null member.
	Applicant map[string]any
	// Data is the "data" object of the request body, decoded like Applicant.
	Data map[string]any
	// Identity is how the portal identified the applicant; nil when the portal
	// stated nothing.
	Identity *Identity
	// Attachments are the files (Anlagen) sent with the submission, checked
	// against the procedure's limits at intake.
	Attachments []Attachment
	ReceivedAt  time.Time // when the intake accepted the request
}

// Payload is the submission as a procedure's payload schema sees it: the
// request body's members applicant, data and identity. Absent members are left
// out, and so are the empty members of identity.
func (s Submission) Payload() map[string]any {
	p := make(map[string]any, 3)
	if s.Applicant != nil {
		p["applicant"] = s.Applicant
	}
	if s.Data != nil {
		p["data"] = s.Data
	}
	if id := s.Identity; id != nil {
		m := make(map[string]any, 4)
		for k, v := range map[string]string{
			"method":            id.Method,
			"provider":          id.Provider,
			"trust_level":       id.TrustLevel,
			"postbox_reference": id.PostboxReference,
		} {
			if v != "" {
				m[k] = v
			}
		}
		p["identity"] = m
	}
	return p
}

// Attachment is one file (Anlage) of a submission.
type Attachment struct {
	ID       string // UUID chosen by the portal; mappers reference it as the document id
	FileName string // sanitised file name, no path
	MIMEType string // declared media type, one the procedure allows
	Size     int64  // bytes of content
	// Ref is where the content is stored, an outbox blob id set by the
	// intake: attachments are streamed, never held by mappers.
	Ref string
}

// Identity is the applicant's identification as the portal established it.
type Identity struct {
	// Method: "none" (not identified), "servicekonto" (a citizen or company
	// account such as BundID or Servicekonto.NRW) or "eid" (the eID function of
	// the identity card, directly).
	Method string
	// Provider names the account, e.g. "BundID", "Servicekonto.NRW"; empty for none.
	Provider string
	// TrustLevel is the eIDAS Vertrauensniveau reached: "basic", "substantial"
	// or "high"; empty for none.
	TrustLevel string
	// PostboxReference addresses the account's postbox for replies (e.g. the
	// BundID Postfach reference); empty when there is none.
	PostboxReference string
	// Verified: Method, Provider and TrustLevel were derived from a signed
	// assertion of the identity provider that Amtsbote verified, not taken
	// as the portal stated them. Only then are Issuer and SubjectRef set.
	Verified bool
	// Issuer is the verified assertion's issuer (iss).
	Issuer string
	// SubjectRef is a pseudonymous reference to the account (a keyed hash of
	// issuer and subject), the same for every submission of the account;
	// never the subject itself.
	SubjectRef string
}

// Identification methods and trust levels of Identity.
const (
	IdentityNone         = "none"
	IdentityServicekonto = "servicekonto"
	IdentityEID          = "eid"

	TrustBasic       = "basic"
	TrustSubstantial = "substantial"
	TrustHigh        = "high"
)

// Party identifies the Autor or Leser of a message, for the XÖV Nachrichtenkopf.
type Party struct {
	ID      string // configuration id of the office or authority
	Name    string // display name, e.g. "Stadt Musterstadt, Bürgeramt"
	Kennung string // address of the party, e.g. its DVDV Behördenkennung
	AGS     string // Amtlicher Gemeindeschlüssel, 8 digits
}

// Product names the software that created a message (the produkt,
// produkthersteller and produktversion attributes of XÖV messages).
type Product struct {
	Name         string
	Manufacturer string
	Version      string
}

// Input is everything a Mapper needs to build a message; mapping is pure and
// deterministic given Input.
type Input struct {
	Submission Submission
	MessageID  string    // the outbox message id (UUID), used as nachrichtenUUID
	Author     Party     // the tenant's sending office
	Reader     Party     // the destination authority
	Product    Product   // produkt, produkthersteller and produktversion
	CreatedAt  time.Time // erstellungszeitpunkt
}

// Document is a generated message.
type Document struct {
	XML         []byte // the complete XML document, UTF-8 with declaration
	MessageType string // what the message is, e.g. "amtsbote.einreichung.0001"
}

// FieldError is one problem in a submission, located by an RFC 6901 JSON
// pointer into the request body.
type FieldError struct {
	Pointer string // e.g. "/data/einzugsdatum"; "" is the whole body
	Code    string // machine-readable, one of the Code constants
	Message string // human-readable, in English; names no personal data
	// MessageDE is Message in German; portals asking for German (Accept-Language) get it.
	// Empty means no translation: Message is used.
	MessageDE string
}

// Localized returns the message in lang ("de" or "en").
func (e FieldError) Localized(lang string) string {
	if lang == "de" && e.MessageDE != "" {
		return e.MessageDE
	}
	return e.Message
}

// Codes of FieldError. They are part of the API that portals see.
const (
	CodeRequired             = "required"              // a member is missing, null or empty
	CodeType                 = "type"                  // a value has the wrong JSON type
	CodeInvalidNumber        = "invalid_number"        // a number is not a valid JSON number
	CodeInvalidUTF8          = "invalid_utf8"          // text is not valid UTF-8
	CodeControlCharacter     = "control_character"     // text contains a control character
	CodeUnsupportedCharacter = "unsupported_character" // text contains a character outside the permitted repertoire
	CodeTooDeep              = "too_deep"              // objects and arrays are nested too deeply
	CodeInvalidKey           = "invalid_key"           // an object key is empty, too long or contains forbidden characters
	CodeDuplicateKey         = "duplicate_key"         // two object keys are equal after NFC normalisation
	CodeUnknownField         = "unknown_field"         // a member the payload schema does not allow
	CodeEnum                 = "enum"                  // a value outside the allowed values
	CodeFormat               = "format"                // a value not in the required format (e.g. a date)
	CodePattern              = "pattern"               // a value not matching the required pattern
	CodeTooShort             = "too_short"             // a string, array or object below its minimum size
	CodeTooLong              = "too_long"              // a string, array or object above its maximum size
	CodeOutOfRange           = "out_of_range"          // a number outside its allowed range
	CodeInvalid              = "invalid"               // any other violation of the payload schema
)

// Mapper validates and maps the submissions of one procedure.
type Mapper interface {
	// Validate returns every problem of the submission (nil when valid).
	// Pointers are relative to the request body, e.g. "/data/einzugsdatum".
	Validate(s Submission) []FieldError
	// Map builds the message. It must not do I/O and must be deterministic.
	// It returns a *ValidationError if the submission does not pass Validate.
	Map(in Input) (Document, error)
}

// ValidationError is the error of Map for a submission that does not pass
// Validate. Find it with errors.As.
type ValidationError struct {
	Errors []FieldError
}

// Error summarises the problems by pointer and code (never by value).
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid submission: %d problem(s)", len(e.Errors))
	for i, fe := range e.Errors {
		if i == 3 {
			b.WriteString(", ...")
			break
		}
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%q %s", sep, fe.Pointer, fe.Code)
	}
	return b.String()
}

// AppendPointer appends one reference token to an RFC 6901 JSON pointer,
// escaping "~" as "~0" and "/" as "~1": AppendPointer("/data", "a/b") is
// "/data/a~1b".
func AppendPointer(pointer, token string) string {
	if strings.ContainsAny(token, "~/") {
		token = strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
	}
	return pointer + "/" + token
}
