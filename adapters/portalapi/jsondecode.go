package portalapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
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
func decodeJSON(body []byte) (v any, end int64, err error) {
	if obj, end, ok := fastDecode(body); ok {
		return obj, end, nil
	}
	return tokenDecode(body)
}

// tokenDecode is decodeJSON with json.Decoder's tokens: the reference that
// fastDecode must agree with, and the path of every body fastDecode does
// not take, whose problem it words.
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
