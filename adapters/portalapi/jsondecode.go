package portalapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxJSONDepth is the deepest nesting of objects and arrays a request body
// may have; the top-level object is depth 1.
const MaxJSONDepth = 32

// decodeJSON decodes one JSON value from body in a single pass, as
// encoding/json would into an any with UseNumber, but refuses what that
// would accept silently: nesting deeper than MaxJSONDepth, and an object
// with two members whose names are equal or differ only in case (the
// later would win, or a case-insensitive reader downstream would see
// another value). It returns the offset just after the value. Its errors
// are problems (400).
//
// The value is read with jsontext's tokenizer (textDecode). A body it
// refuses, or that breaks one of the rules above, is decoded again by
// tokenDecode, whose problem is the answer: the portal words bad JSON as
// it always has (byte offsets as encoding/json counts them), never
// quoting the body.
func decodeJSON(body []byte) (v any, end int64, err error) {
	if v, end, err := textDecode(body); err == nil {
		return v, end, nil
	}
	return tokenDecode(body)
}

// textOptions are the options of textDecode's tokenizer. Duplicate names
// are checked by textDecoder.object, also in another case (jsontext's own
// check compares exactly); invalid UTF-8 and escaped lone surrogates in a
// string become U+FFFD, as with encoding/json (decodeRequest refuses
// bodies in invalid UTF-8 before).
var textOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// errRefused is textDecode's refusal of a body that jsontext accepts:
// nesting too deep, a duplicate member name or a value jsontext returns
// in a form not expected. tokenDecode words the problem.
var errRefused = errors.New("json refused")

// textDecode is decodeJSON with jsontext's tokens, without the wording of
// problems: any error only means that tokenDecode must decide.
//
// Member names, strings without escapes and numbers are substrings of one
// string copy of the body, so that decoding allocates little more than
// the maps and slices of the value (issue #20: token-wise encoding/json
// was half the handler's CPU and 90 % of its allocations).
func textDecode(body []byte) (v any, end int64, err error) {
	dec := textDecoders.Get().(*jsontext.Decoder)
	defer func() {
		dec.Reset(noInput, textOptions...) // let go of the body
		textDecoders.Put(dec)
	}()
	dec.Reset(bytes.NewBuffer(body), textOptions...) // read in place, not copied
	d := textDecoder{dec: dec, s: string(body)}
	if v, err = d.value(0); err != nil {
		return nil, 0, err
	}
	return v, dec.InputOffset(), nil
}

// textDecoders holds idle tokenizers of textDecode, whose stacks keep
// their capacity from one request to the next.
var textDecoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

// noInput is the input of an idle tokenizer.
var noInput = bytes.NewReader(nil)

// textDecoder is the state of textDecode: the tokenizer and the body as a
// string.
type textDecoder struct {
	dec *jsontext.Decoder
	s   string
}

// value decodes the next value; depth counts the objects and arrays
// around it, as in strictDecoder.value.
func (d *textDecoder) value(depth int) (any, error) {
	switch kind := d.dec.PeekKind(); kind {
	case '{', '[':
		if depth >= MaxJSONDepth {
			return nil, errRefused
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, err
		}
		if kind == '{' {
			return d.object(depth)
		}
		return d.array(depth)
	case '"':
		return d.string()
	case '0':
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, err
		}
		end := int(d.dec.InputOffset())
		return json.Number(d.s[end-len(raw) : end]), nil
	default: // null, a boolean, or an error (kind 0) or misplaced closing delimiter the read reports
		tok, err := d.dec.ReadToken()
		if err != nil {
			return nil, err
		}
		switch tok.Kind() {
		case 'n':
			return nil, nil
		case 't', 'f':
			return tok.Bool(), nil
		}
		return nil, errRefused
	}
}

// maxLinearMembers is the size up to which an object's folded member names
// are compared in a slice rather than a map.
const maxLinearMembers = 16

// object decodes the members of an object whose '{' has been read,
// refusing duplicate member names as strictDecoder.value does: equal after
// strings.ToLower.
func (d *textDecoder) object(depth int) (map[string]any, error) {
	obj := map[string]any{}
	var (
		linear [maxLinearMembers]string
		names  = linear[:0]
		folded map[string]bool
	)
	for d.dec.PeekKind() != '}' {
		key, err := d.string()
		if err != nil {
			return nil, err
		}
		lower := strings.ToLower(key)
		switch {
		case folded != nil:
			if folded[lower] {
				return nil, errRefused
			}
			folded[lower] = true
		case slices.Contains(names, lower):
			return nil, errRefused
		case len(names) < maxLinearMembers:
			names = append(names, lower)
		default:
			folded = make(map[string]bool, 2*maxLinearMembers)
			for _, n := range names {
				folded[n] = true
			}
			folded[lower] = true
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
	if _, err := d.dec.ReadToken(); err != nil { // '}'
		return nil, err
	}
	return obj, nil
}

// array decodes the elements of an array whose '[' has been read.
func (d *textDecoder) array(depth int) ([]any, error) {
	arr := []any{}
	for d.dec.PeekKind() != ']' {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	if _, err := d.dec.ReadToken(); err != nil { // ']'
		return nil, err
	}
	return arr, nil
}

// string decodes the next string, a value or a member name. Without
// escapes and in valid UTF-8 it is a substring of the body; else
// jsontext unquotes it. The tokenizer has checked its syntax, so the only
// complaints left to AppendUnquote are invalid UTF-8 and escaped lone
// surrogates, which it has replaced by U+FFFD as encoding/json does.
func (d *textDecoder) string() (string, error) {
	raw, err := d.dec.ReadValue()
	if err != nil {
		return "", err
	}
	if len(raw) < 2 || raw[0] != '"' {
		return "", errRefused // a member name that is not a string; jsontext reports those itself
	}
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		end := int(d.dec.InputOffset())
		return d.s[end-len(raw)+1 : end-1], nil
	}
	b, _ := jsontext.AppendUnquote(make([]byte, 0, len(raw)), raw)
	return string(b), nil
}

// tokenDecode is decodeJSON with json.Decoder's tokens: the reference that
// textDecode must agree with, and the path of every body textDecode
// refuses, whose problem it words.
func tokenDecode(body []byte) (v any, end int64, err error) {
	d := &strictDecoder{dec: json.NewDecoder(bytes.NewReader(body)), body: body}
	d.dec.UseNumber()
	v, err = d.value(0)
	if err != nil {
		return nil, 0, d.problem(err)
	}
	return v, d.dec.InputOffset(), nil
}

type strictDecoder struct {
	dec  *json.Decoder
	body []byte
}

// structureError is nesting too deep or a duplicate member name, found at offset.
type structureError struct {
	tooDeep bool
	offset  int64
}

func (e *structureError) Error() string { return "json structure" }

func (d *strictDecoder) value(depth int) (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth >= MaxJSONDepth {
		return nil, &structureError{tooDeep: true, offset: d.dec.InputOffset()}
	}
	switch delim {
	case '{':
		obj := map[string]any{}
		var folded map[string]bool
		for d.dec.More() {
			tok, err := d.dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := tok.(string)
			if !ok { // encoding/json reports this itself; be safe
				return nil, &json.SyntaxError{Offset: d.dec.InputOffset()}
			}
			if folded == nil {
				folded = map[string]bool{}
			}
			lower := strings.ToLower(key)
			if folded[lower] {
				return nil, &structureError{offset: d.dec.InputOffset()}
			}
			folded[lower] = true
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := d.dec.Token(); err != nil { // '}'
			return nil, err
		}
		return obj, nil
	case '[':
		arr := []any{}
		for d.dec.More() {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := d.dec.Token(); err != nil { // ']'
			return nil, err
		}
		return arr, nil
	default: // a closing delimiter where a value belongs
		return nil, &json.SyntaxError{Offset: d.dec.InputOffset()}
	}
}

// problem turns a decoding error into the problem answered.
func (d *strictDecoder) problem(err error) *problemError {
	var serr *json.SyntaxError
	if errors.As(err, &serr) {
		// Token reports some offsets one byte earlier than Decode; answer
		// with Decode's, the offset after the offending byte.
		var v any
		if derr := json.NewDecoder(bytes.NewReader(d.body)).Decode(&v); derr != nil {
			err = derr
		}
	}
	var structure *structureError
	switch {
	case errors.Is(err, io.EOF) && d.dec.InputOffset() == 0:
		return errMalformed(text("the request body is empty", "der Inhalt der Anfrage ist leer"))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errMalformed(text("invalid JSON: unexpected end of input at byte offset %d",
			"ungültiges JSON: unerwartetes Ende der Eingabe bei Byte-Offset %d", len(d.body)))
	case errors.As(err, &serr):
		return errMalformed(text("invalid JSON: syntax error at byte offset %d",
			"ungültiges JSON: Syntaxfehler bei Byte-Offset %d", serr.Offset))
	case errors.As(err, &structure) && structure.tooDeep:
		return errMalformed(text("JSON nested deeper than %d levels at byte offset %d",
			"JSON tiefer als %d Ebenen verschachtelt bei Byte-Offset %d", MaxJSONDepth, structure.offset))
	case errors.As(err, &structure):
		return errMalformed(text("duplicate member name (names may not differ only in case) before byte offset %d",
			"doppelter Feldname (Namen dürfen sich nicht nur in Groß-/Kleinschreibung unterscheiden) vor Byte-Offset %d",
			structure.offset))
	default:
		return errMalformed(text("invalid JSON", "ungültiges JSON"))
	}
}
