package xmeld

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/amtsbote/amtsbote/transform"
)

// Validate reports every problem of s, each located by its JSON pointer into
// the request body: violations of PayloadJSONSchema; strings that fail
// transform.CheckText or contain a character outside the DIN SPEC 91379
// repertoire Validate admits for their element (see textRune, nameRune); and
// the rules the JSON Schema cannot express:
//
//   - art "einzug" requires /data/einzugsdatum and forbids /data/auszugsdatum,
//     art "auszug" the reverse;
//   - wohnungsgeberIstEigentuemer false requires /data/eigentuemer, true forbids it;
//   - identity method "servicekonto" requires provider and trust_level, "eid"
//     requires trust_level, "none" forbids provider, trust_level and
//     postbox_reference;
//   - the dates must be plausible (checkDates).
//
// The problems are ordered by pointer; nil means s is valid.
func (w *Wohnungsgeberbestaetigung) Validate(s transform.Submission) []transform.FieldError {
	payload := s.Payload()
	errs := w.payload.Validate(payload)
	for _, k := range []string{"applicant", "data", "identity"} {
		if v, ok := payload[k]; ok {
			errs = checkStrings(errs, "", k, "", v)
		}
	}
	errs = semantic(errs, payload)
	errs = checkDates(errs, s)
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b transform.FieldError) int {
		return cmp.Or(cmp.Compare(a.Pointer, b.Pointer), cmp.Compare(a.Code, b.Code))
	})
	return slices.CompactFunc(errs, func(a, b transform.FieldError) bool {
		return a.Pointer == b.Pointer && a.Code == b.Code
	})
}

// nameMembers are the members whose strings become names of natural persons
// (DIN SPEC 91379 datatype A); every other string becomes datatype B text.
var nameMembers = map[string]bool{"vorname": true, "familienname": true, "geburtsname": true}

// checkStrings checks every string below v, the value of the member key,
// at the pointer parent/token; the pointers are built for containers and
// problems only.
func checkStrings(errs []transform.FieldError, parent, token, key string, v any) []transform.FieldError {
	switch v := v.(type) {
	case string:
		// Invalid UTF-8 and control characters as transform.CheckText
		// reports them; a character outside its datatype C is also outside
		// the element's datatype A or B, reported below in those terms.
		if e := transform.CheckText("", v); e != nil && e[0].Code != transform.CodeUnsupportedCharacter {
			for i := range e {
				e[i].Pointer = transform.AppendPointer(parent, token)
			}
			return append(errs, e...)
		}
		allowed, repertoire, repertoireDE := textRune, "this text (DIN SPEC 91379 datatype B)", "DIN SPEC 91379 Datentyp B"
		if nameMembers[key] {
			allowed, repertoire, repertoireDE = nameRune, "names of natural persons (DIN SPEC 91379 datatype A)",
				"Namen natürlicher Personen, DIN SPEC 91379 Datentyp A"
		}
		pos := 0
		for _, r := range transform.NormalizeText(v) {
			pos++
			if !allowed(r) {
				return append(errs, transform.FieldError{
					Pointer: transform.AppendPointer(parent, token), Code: transform.CodeUnsupportedCharacter,
					Message:   fmt.Sprintf("character U+%04X at position %d is not permitted in %s", r, pos, repertoire),
					MessageDE: fmt.Sprintf("Zeichen U+%04X an Position %d ist hier nicht zulässig (%s)", r, pos, repertoireDE),
				})
			}
		}
	case map[string]any:
		pointer := transform.AppendPointer(parent, token)
		for k, e := range v {
			errs = checkStrings(errs, pointer, k, k, e)
		}
	case []any:
		pointer := transform.AppendPointer(parent, token)
		for i, e := range v {
			errs = checkStrings(errs, pointer, strconv.Itoa(i), key, e)
		}
	case nil, bool, json.Number:
	default:
		pointer := transform.AppendPointer(parent, token)
		// Not a value encoding/json decodes into: the Submission contract is broken.
		return append(errs, transform.FieldError{Pointer: pointer, Code: transform.CodeType,
			Message:   fmt.Sprintf("unsupported value of Go type %T", v),
			MessageDE: fmt.Sprintf("nicht unterstützter Wert vom Go-Typ %T", v)})
	}
	return errs
}

// latinLetter reports whether r is one of the accented Latin letters that
// both DIN SPEC 91379 datatypes A and B contain and Validate admits: Latin-1
// and Latin Extended-A letters, Romanian Ș ș Ț ț, capital ẞ and the
// Vietnamese letters U+1EA0–U+1EF9.
func latinLetter(r rune) bool {
	return 0xC0 <= r && r <= 0x17E && r != 0xD7 && r != 0xF7 ||
		0x218 <= r && r <= 0x21B || r == 0x1E9E || 0x1EA0 <= r && r <= 0x1EF9
}

// nameRune reports whether Validate admits r in a name of a natural person:
// a conservative subset of DIN SPEC 91379 datatype A (letters, space,
// apostrophes, comma, hyphen, full stop). Combining sequences without a
// precomposed form are not admitted.
func nameRune(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || latinLetter(r) ||
		r == ' ' || r == '\'' || r == ',' || r == '-' || r == '.' || r == '’'
}

// textRune reports whether Validate admits r in other text: a conservative
// subset of DIN SPEC 91379 datatype B (printable ASCII, the letters of
// latinLetter, ’ § ° €). Tab and line breaks are not admitted.
func textRune(r rune) bool {
	return 0x20 <= r && r <= 0x7E || latinLetter(r) || r == '’' || r == '§' || r == '°' || r == '€'
}

// semantic appends the violations of the rules the JSON Schema cannot express.
func semantic(errs []transform.FieldError, payload map[string]any) []transform.FieldError {
	required := func(pointer, why, whyDE string) {
		errs = append(errs, transform.FieldError{Pointer: pointer, Code: transform.CodeRequired,
			Message: "is required " + why, MessageDE: "ist erforderlich, " + whyDE})
	}
	forbidden := func(pointer, why, whyDE string) {
		errs = append(errs, transform.FieldError{Pointer: pointer, Code: transform.CodeInvalid,
			Message: "must be absent " + why, MessageDE: "muss fehlen, " + whyDE})
	}
	if data, ok := payload["data"].(map[string]any); ok {
		_, einzug := data["einzugsdatum"]
		_, auszug := data["auszugsdatum"]
		switch data["art"] {
		case "einzug":
			if !einzug {
				required("/data/einzugsdatum", `when art is "einzug"`, `wenn art "einzug" ist`)
			}
			if auszug {
				forbidden("/data/auszugsdatum", `when art is "einzug"`, `wenn art "einzug" ist`)
			}
		case "auszug":
			if !auszug {
				required("/data/auszugsdatum", `when art is "auszug"`, `wenn art "auszug" ist`)
			}
			if einzug {
				forbidden("/data/einzugsdatum", `when art is "auszug"`, `wenn art "auszug" ist`)
			}
		}
		_, eigentuemer := data["eigentuemer"]
		switch data["wohnungsgeberIstEigentuemer"] {
		case false:
			if !eigentuemer {
				required("/data/eigentuemer", "when the Wohnungsgeber is not the owner (wohnungsgeberIstEigentuemer false)",
					"wenn der Wohnungsgeber nicht Eigentümer ist (wohnungsgeberIstEigentuemer false)")
			}
		case true:
			if eigentuemer {
				forbidden("/data/eigentuemer", "when the Wohnungsgeber is the owner (wohnungsgeberIstEigentuemer true)",
					"wenn der Wohnungsgeber Eigentümer ist (wohnungsgeberIstEigentuemer true)")
			}
		}
	}
	if id, ok := payload["identity"].(map[string]any); ok {
		_, provider := id["provider"]
		_, trust := id["trust_level"]
		_, postbox := id["postbox_reference"]
		switch id["method"] {
		case transform.IdentityServicekonto:
			if !provider {
				required("/identity/provider", `when method is "servicekonto"`, `wenn method "servicekonto" ist`)
			}
			if !trust {
				required("/identity/trust_level", `when method is "servicekonto"`, `wenn method "servicekonto" ist`)
			}
		case transform.IdentityEID:
			if !trust {
				required("/identity/trust_level", `when method is "eid"`, `wenn method "eid" ist`)
			}
		case transform.IdentityNone:
			for _, m := range []struct {
				name    string
				present bool
			}{{"provider", provider}, {"trust_level", trust}, {"postbox_reference", postbox}} {
				if m.present {
					forbidden("/identity/"+m.name, `when method is "none"`, `wenn method "none" ist`)
				}
			}
		}
	}
	return errs
}
