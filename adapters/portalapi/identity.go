package portalapi

import (
	"slices"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// MaxIdentityValueLength is the longest provider and postbox_reference
// accepted, in characters.
const MaxIdentityValueLength = 1024

// Members of the identity object of the request body.
const (
	memberMethod           = "method"
	memberProvider         = "provider"
	memberTrustLevel       = "trust_level"
	memberPostboxReference = "postbox_reference"
)

var (
	identityMethods = []string{transform.IdentityNone, transform.IdentityServicekonto, transform.IdentityEID}
	trustLevels     = []string{transform.TrustBasic, transform.TrustSubstantial, transform.TrustHigh}
)

// decodeIdentity decodes the identity member of the request body strictly:
// absent or null is no identity (nil); otherwise an object with
//
//	method             required: none, servicekonto or eid
//	provider           required for servicekonto, e.g. "BundID"
//	trust_level        required unless method is none: basic, substantial or high
//	postbox_reference  optional
//
// and no other members. With method none, provider, trust_level and
// postbox_reference must be absent: nobody was identified. provider and
// postbox_reference must pass transform.CheckText and have at most
// MaxIdentityValueLength characters; they are kept in NFC. An empty string
// counts as absent. Problems are appended to errs, with pointers below
// /identity; the result is nil when there is any.
func decodeIdentity(v any, errs *[]transform.FieldError) *transform.Identity {
	const pointer = "/" + memberIdentity
	if v == nil {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		*errs = append(*errs, transform.FieldError{Pointer: pointer, Code: transform.CodeType,
			Message: "identity must be a JSON object", MessageDE: "identity muss ein JSON-Objekt sein"})
		return nil
	}
	before := len(*errs)
	var id transform.Identity
	var set, wrong [4]bool // method, provider, trust_level, postbox_reference: present; of the wrong type
	id.Method, set[0], wrong[0] = identityString(obj, memberMethod, errs)
	id.Provider, set[1], wrong[1] = identityString(obj, memberProvider, errs)
	id.TrustLevel, set[2], wrong[2] = identityString(obj, memberTrustLevel, errs)
	id.PostboxReference, set[3], wrong[3] = identityString(obj, memberPostboxReference, errs)

	switch {
	case wrong[0]:
	case !set[0]:
		*errs = append(*errs, identityError(memberMethod, transform.CodeRequired,
			localized{"method is required", "method ist erforderlich"}))
	case !slices.Contains(identityMethods, id.Method):
		*errs = append(*errs, identityError(memberMethod, transform.CodeEnum,
			localized{"method must be one of none, servicekonto and eid", "method muss none, servicekonto oder eid sein"}))
	case id.Method == transform.IdentityNone:
		for i, name := range []string{memberProvider, memberTrustLevel, memberPostboxReference} {
			if set[i+1] {
				*errs = append(*errs, identityError(name, transform.CodeInvalid,
					text("%s must be absent when method is none", "%s muss fehlen, wenn method none ist", name)))
			}
		}
		set[1], set[2], set[3] = false, false, false // reported; not checked further
		id.Provider, id.TrustLevel, id.PostboxReference = "", "", ""
	default:
		if id.Method == transform.IdentityServicekonto && !set[1] && !wrong[1] {
			*errs = append(*errs, identityError(memberProvider, transform.CodeRequired,
				localized{"provider is required for method servicekonto", "provider ist für method servicekonto erforderlich"}))
		}
		if !set[2] && !wrong[2] {
			*errs = append(*errs, identityError(memberTrustLevel, transform.CodeRequired,
				localized{"trust_level is required unless method is none", "trust_level ist erforderlich, außer wenn method none ist"}))
		}
	}
	if set[2] && !slices.Contains(trustLevels, id.TrustLevel) {
		*errs = append(*errs, identityError(memberTrustLevel, transform.CodeEnum,
			localized{"trust_level must be one of basic, substantial and high", "trust_level muss basic, substantial oder high sein"}))
	}
	for _, f := range []struct {
		name  string
		value *string
	}{{memberProvider, &id.Provider}, {memberPostboxReference, &id.PostboxReference}} {
		if *f.value == "" {
			continue
		}
		p := transform.AppendPointer(pointer, f.name)
		if n := utf8.RuneCountInString(transform.NormalizeText(*f.value)); n > MaxIdentityValueLength {
			*errs = append(*errs, identityError(f.name, transform.CodeTooLong,
				text("%s has %d characters, at most %d are allowed", "%s hat %d Zeichen, höchstens %d sind zulässig",
					f.name, n, MaxIdentityValueLength)))
			continue
		}
		*errs = append(*errs, transform.CheckText(p, *f.value)...)
		*f.value = transform.NormalizeText(*f.value)
	}

	var unknown []string
	for k := range obj {
		switch k {
		case memberMethod, memberProvider, memberTrustLevel, memberPostboxReference:
		default:
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		*errs = append(*errs, transform.FieldError{Pointer: transform.AppendPointer(pointer, k), Code: CodeUnknownField,
			Message:   "unknown member; allowed are method, provider, trust_level and postbox_reference",
			MessageDE: "unbekanntes Feld; erlaubt sind method, provider, trust_level und postbox_reference"})
	}
	if len(*errs) > before {
		return nil
	}
	return &id
}

// identityString returns the string member name of the identity object,
// whether it is present (not absent, null or empty), and whether it is of
// another type than string, which it reports.
func identityString(obj map[string]any, name string, errs *[]transform.FieldError) (value string, present, wrongType bool) {
	switch v := obj[name].(type) {
	case nil:
		return "", false, false
	case string:
		return v, v != "", false
	default:
		*errs = append(*errs, identityError(name, transform.CodeType,
			text("%s must be a string", "%s muss eine Zeichenkette sein", name)))
		return "", false, true
	}
}

func identityError(member, code string, msg localized) transform.FieldError {
	return transform.FieldError{Pointer: transform.AppendPointer("/"+memberIdentity, member), Code: code,
		Message: msg.en, MessageDE: msg.de}
}

// identityFromMetadata reads back the identity that the intake wrote into
// the metadata of a message (outbox.MetaIdentityMethod and the keys after
// it); nil when the message carries none.
func identityFromMetadata(md map[string]string) *transform.Identity {
	method, ok := md[outbox.MetaIdentityMethod]
	if !ok {
		return nil
	}
	return &transform.Identity{
		Method:           method,
		Provider:         md[outbox.MetaIdentityProvider],
		TrustLevel:       md[outbox.MetaIdentityTrustLevel],
		PostboxReference: md[outbox.MetaIdentityPostboxReference],
		Verified:         md[outbox.MetaIdentityVerified] == "true",
		Issuer:           md[outbox.MetaIdentityIssuer],
	}
}

// IdentityStatus is the applicant's identity in a StatusResponse (see
// transform.Identity): as the portal stated it, or, with verified true, as
// derived from the verified identity token of the identity provider Issuer.
type IdentityStatus struct {
	Method           string `json:"method"`
	Provider         string `json:"provider,omitempty"`
	TrustLevel       string `json:"trust_level,omitempty"`
	PostboxReference string `json:"postbox_reference,omitempty"`
	Verified         bool   `json:"verified,omitempty"`
	Issuer           string `json:"issuer,omitempty"`
}

func identityStatus(id *transform.Identity) *IdentityStatus {
	if id == nil {
		return nil
	}
	return &IdentityStatus{Method: id.Method, Provider: id.Provider, TrustLevel: id.TrustLevel, PostboxReference: id.PostboxReference,
		Verified: id.Verified, Issuer: id.Issuer}
}
