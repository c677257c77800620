package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/amtsbote/amtsbote/transform/xoev/din91379"
)

// PayloadSchema is the JSON Schema (draft 2020-12) of a procedure's payload: the
// request body members a portal sends besides tenant and procedure (applicant, data,
// identity, ...). Violations become FieldErrors that point into the request body
// and, unlike the validator's own messages, never quote the submitted value.
type PayloadSchema struct {
	schema *jsonschema.Schema
}

// CompilePayloadSchema compiles a schema document; name identifies it in errors
// (e.g. "wohnungsgeberbestaetigung.schema.json"). Formats such as "date" are asserted.
func CompilePayloadSchema(name string, schemaJSON []byte) (*PayloadSchema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("payload schema %s: %w", name, err)
	}
	url := "urn:amtsbote:schema:" + name
	s, err := compileSchema(url, inlineDefinitions(doc))
	if err != nil {
		// Report what the document says where it says it, not in the
		// copies of its definitions.
		if s, err = compileSchema(url, doc); err != nil {
			return nil, fmt.Errorf("payload schema %s: %w", name, err)
		}
	}
	return &PayloadSchema{schema: s}, nil
}

// compileSchema compiles the schema document doc as url: draft 2020-12
// unless it names another, formats asserted, the DIN SPEC 91379 formats
// known.
func compileSchema(url string, doc any) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, f := range dinFormats {
		c.RegisterFormat(f)
	}
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// Validate checks payload, the request body members as decoded with
// json.Decoder.UseNumber (objects as map[string]any). It returns every violation.
func (p *PayloadSchema) Validate(payload map[string]any) []FieldError {
	// The validator panics on a number math/big cannot hold (an exponent
	// beyond its limit, such as 1e100000000000): those are reported alone.
	if hasUnparsableNumber(payload) {
		bad := unparsableNumbers("", payload, nil)
		sort.Slice(bad, func(i, j int) bool { return bad[i].Pointer < bad[j].Pointer })
		return bad
	}
	err := p.schema.Validate(toSchemaValue(payload))
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []FieldError{{Code: CodeInvalid, Message: "the payload could not be validated", MessageDE: "Die Nutzdaten konnten nicht geprüft werden"}}
	}
	var out []FieldError
	collect(verr, &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return dedupe(out)
}

// dinFormatNames and dinFormats are the JSON Schema formats "din91379-a",
// "din91379-b" and "din91379-c" that every payload schema may use: a string
// whose NFC form belongs to DIN SPEC 91379 datatype A, B or C
// (din91379.Check). A violation is reported as CodeUnsupportedCharacter
// naming the first character outside the datatype and its position, never
// the text. Datatypes D and E are not offered: they admit characters outside
// datatype C, the repertoire of every text of a message (CheckText).
var dinFormatNames = map[string]string{
	"din91379-a": "A", "din91379-b": "B", "din91379-c": "C",
}

var dinFormats = func() []*jsonschema.Format {
	var out []*jsonschema.Format
	for _, dt := range []din91379.Datatype{din91379.A, din91379.B, din91379.C} {
		out = append(out, &jsonschema.Format{
			Name: "din91379-" + strings.ToLower(dt.String()),
			Validate: func(v any) error {
				s, ok := v.(string)
				if !ok {
					return nil
				}
				if ok, pos, r := din91379.Check(NormalizeText(s), dt); !ok {
					return &dinError{r: r, pos: pos}
				}
				return nil
			},
		})
	}
	return out
}()

// dinError is the failure of a DIN SPEC 91379 format: the first character
// outside the datatype and its position in characters from 1.
type dinError struct {
	r   rune
	pos int
}

func (e *dinError) Error() string {
	return fmt.Sprintf("character U+%04X at position %d is outside the datatype", e.r, e.pos)
}

// hasUnparsableNumber reports whether unparsableNumbers finds any below v,
// without building the pointers of the values it passes.
func hasUnparsableNumber(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if hasUnparsableNumber(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasUnparsableNumber(e) {
				return true
			}
		}
	case json.Number:
		return unparsableNumber(v)
	}
	return false
}

// unparsableNumber reports whether big.Rat cannot parse n. Only numbers
// with an exponent can fail.
func unparsableNumber(n json.Number) bool {
	if !strings.ContainsAny(string(n), "eE") {
		return false
	}
	_, ok := new(big.Rat).SetString(string(n))
	return !ok
}

// unparsableNumbers reports every json.Number below v at pointer that
// big.Rat cannot parse. Only numbers with an exponent can fail.
func unparsableNumbers(pointer string, v any, out []FieldError) []FieldError {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			out = unparsableNumbers(AppendPointer(pointer, k), e, out)
		}
	case []any:
		for i, e := range v {
			out = unparsableNumbers(AppendPointer(pointer, strconv.Itoa(i)), e, out)
		}
	case json.Number:
		if unparsableNumber(v) {
			out = append(out, FieldError{Pointer: pointer, Code: CodeInvalidNumber,
				Message: "is a number out of any range", MessageDE: "ist eine Zahl außerhalb jedes Wertebereichs"})
		}
	}
	return out
}

// toSchemaValue turns map[string]any trees into the plain any trees the validator
// walks (it needs []any and map[string]any; typed maps and slices pass through JSON).
// A tree that is plain already, as decoded JSON is, is returned as it is.
func toSchemaValue(v any) any {
	if isSchemaValue(v) {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = toSchemaValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toSchemaValue(e)
		}
		return out
	case nil, bool, string, json.Number, float64, int, int64:
		return t
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return t
		}
		var out any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if d.Decode(&out) != nil {
			return t
		}
		return out
	}
}

// isSchemaValue reports whether v is a tree of the values the validator
// walks: maps and slices of any, strings, numbers, booleans and nil.
func isSchemaValue(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			if !isSchemaValue(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range t {
			if !isSchemaValue(e) {
				return false
			}
		}
		return true
	case nil, bool, string, json.Number, float64, int, int64:
		return true
	}
	return false
}

// collect flattens the error tree into leaf violations.
func collect(e *jsonschema.ValidationError, out *[]FieldError) {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		// Report the alternative that came closest, not every alternative's complaints.
		if len(e.Causes) > 0 {
			var best []FieldError
			for i, c := range e.Causes {
				var leaves []FieldError
				collect(c, &leaves)
				if i == 0 || len(leaves) < len(best) {
					best = leaves
				}
			}
			*out = append(*out, best...)
			return
		}
	}
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collect(c, out)
		}
		return
	}
	ptr := pointerOf(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, FieldError{Pointer: AppendPointer(ptr, m), Code: CodeRequired,
				Message: "is required", MessageDE: "ist erforderlich"})
		}
	case *kind.AdditionalProperties:
		for _, m := range k.Properties {
			*out = append(*out, FieldError{Pointer: AppendPointer(ptr, m), Code: CodeUnknownField,
				Message: "is not a known field", MessageDE: "ist kein bekanntes Feld"})
		}
	default:
		*out = append(*out, describe(ptr, e.ErrorKind))
	}
}

// describe words a violation from the schema's side: what is allowed, never what was sent.
func describe(ptr string, k jsonschema.ErrorKind) FieldError {
	fe := func(code, en, de string) FieldError {
		return FieldError{Pointer: ptr, Code: code, Message: en, MessageDE: de}
	}
	switch k := k.(type) {
	case *kind.Type:
		want := strings.Join(k.Want, " or ")
		return fe(CodeType, "must be of type "+want, "muss vom Typ "+want+" sein")
	case *kind.Enum:
		allowed := allowedValues(k.Want)
		return fe(CodeEnum, "must be one of "+allowed, "muss einer der Werte "+allowed+" sein")
	case *kind.Const:
		allowed := allowedValues([]any{k.Want})
		return fe(CodeEnum, "must be "+allowed, "muss "+allowed+" sein")
	case *kind.Format:
		var de *dinError
		if dt, ok := dinFormatNames[k.Want]; ok && errors.As(k.Err, &de) {
			// Name the character and its position, never the text.
			return fe(CodeUnsupportedCharacter,
				fmt.Sprintf("character U+%04X at position %d is not permitted (DIN SPEC 91379, datatype %s)", de.r, de.pos, dt),
				fmt.Sprintf("Zeichen U+%04X an Position %d ist nicht zulässig (DIN SPEC 91379, Datentyp %s)", de.r, de.pos, dt))
		}
		return fe(CodeFormat, "must be a valid "+k.Want, "muss ein gültiges Format "+k.Want+" haben")
	case *kind.Pattern:
		return fe(CodePattern, "does not have the required form", "hat nicht die geforderte Form")
	case *kind.MinLength:
		n := fmt.Sprint(k.Want)
		return fe(CodeTooShort, "must have at least "+n+" characters", "muss mindestens "+n+" Zeichen lang sein")
	case *kind.MaxLength:
		n := fmt.Sprint(k.Want)
		return fe(CodeTooLong, "must have at most "+n+" characters", "darf höchstens "+n+" Zeichen lang sein")
	case *kind.MinItems:
		n := fmt.Sprint(k.Want)
		return fe(CodeTooShort, "must have at least "+n+" entries", "muss mindestens "+n+" Einträge haben")
	case *kind.MaxItems:
		n := fmt.Sprint(k.Want)
		return fe(CodeTooLong, "must have at most "+n+" entries", "darf höchstens "+n+" Einträge haben")
	case *kind.Minimum:
		n := k.Want.RatString()
		return fe(CodeOutOfRange, "must be at least "+n, "muss mindestens "+n+" sein")
	case *kind.Maximum:
		n := k.Want.RatString()
		return fe(CodeOutOfRange, "must be at most "+n, "darf höchstens "+n+" sein")
	case *kind.ExclusiveMinimum:
		n := k.Want.RatString()
		return fe(CodeOutOfRange, "must be greater than "+n, "muss größer als "+n+" sein")
	case *kind.ExclusiveMaximum:
		n := k.Want.RatString()
		return fe(CodeOutOfRange, "must be less than "+n, "muss kleiner als "+n+" sein")
	case *kind.UniqueItems:
		return fe(CodeInvalid, "must not contain duplicate entries", "darf keine doppelten Einträge enthalten")
	case *kind.FalseSchema:
		return fe(CodeUnknownField, "is not allowed here", "ist hier nicht erlaubt")
	}
	kw := strings.Join(k.KeywordPath(), "/")
	return fe(CodeInvalid, "violates the payload schema ("+kw+")", "verletzt das Schema der Nutzdaten ("+kw+")")
}

func allowedValues(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		b, _ := json.Marshal(v)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}

func pointerOf(tokens []string) string {
	p := ""
	for _, t := range tokens {
		p = AppendPointer(p, t)
	}
	return p
}

func dedupe(in []FieldError) []FieldError {
	seen := map[[2]string]bool{}
	out := in[:0]
	for _, e := range in {
		k := [2]string{e.Pointer, e.Code}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}
