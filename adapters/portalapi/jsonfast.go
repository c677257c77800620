package portalapi

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// fastDecode decodes body as decodeJSON does when body is one JSON object
// that decodeJSON accepts: the same value (objects as map[string]any,
// arrays as []any, numbers as json.Number) and the same end offset. It
// reports ok false for anything else, without a reason: then decodeJSON
// decodes the body again with encoding/json, which words the problem.
//
// It is a single pass over one string copy of the body, whose substrings
// become the member names, numbers and strings without escapes, where the
// token-wise json.Decoder allocates for every token (issue #20: decoding
// was half the handler's CPU and 90 % of its allocations).
func fastDecode(body []byte) (v map[string]any, end int64, ok bool) {
	p := fastParser{s: string(body)}
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, 0, false // a request is an object; anything else takes the slow path
	}
	obj, ok := p.object(0)
	if !ok {
		return nil, 0, false
	}
	return obj, int64(p.i), true
}

// fastParser is the state of fastDecode: the body and the offset of the
// next byte.
type fastParser struct {
	s string
	i int
}

// space skips JSON whitespace.
func (p *fastParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// value parses the value at p.i (after whitespace), depth as in
// strictDecoder.value.
func (p *fastParser) value(depth int) (any, bool) {
	p.space()
	if p.i >= len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		obj, ok := p.object(depth)
		if !ok {
			return nil, false // a nil map in an any would not be nil
		}
		return obj, true
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.string()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return true, true
	case strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return false, true
	case strings.HasPrefix(p.s[p.i:], "null"):
		p.i += 4
		return nil, true
	}
	return nil, false
}

// maxLinearMembers is the size up to which an object's folded member names
// are compared in a slice rather than a map.
const maxLinearMembers = 16

// object parses the object at p.i, refusing duplicate member names as
// strictDecoder.value does: equal after strings.ToLower.
func (p *fastParser) object(depth int) (map[string]any, bool) {
	if depth >= MaxJSONDepth {
		return nil, false
	}
	p.i++ // '{'
	obj := map[string]any{}
	var (
		linear [maxLinearMembers]string
		names  = linear[:0]
		folded map[string]bool
	)
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return obj, true
	}
	for {
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, false
		}
		key, ok := p.string()
		if !ok {
			return nil, false
		}
		lower := strings.ToLower(key)
		switch {
		case folded != nil:
			if folded[lower] {
				return nil, false
			}
			folded[lower] = true
		case slices.Contains(names, lower):
			return nil, false
		case len(names) < maxLinearMembers:
			names = append(names, lower)
		default:
			folded = make(map[string]bool, 2*maxLinearMembers)
			for _, n := range names {
				folded[n] = true
			}
			folded[lower] = true
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, false
		}
		p.i++
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		obj[key] = v
		p.space()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return obj, true
		default:
			return nil, false
		}
	}
}

// array parses the array at p.i.
func (p *fastParser) array(depth int) (any, bool) {
	if depth >= MaxJSONDepth {
		return nil, false
	}
	p.i++ // '['
	arr := []any{}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return arr, true
	}
	for {
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		arr = append(arr, v)
		p.space()
		if p.i >= len(p.s) {
			return nil, false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return arr, true
		default:
			return nil, false
		}
	}
}

// number parses the number at p.i by the JSON grammar, as a json.Number of
// its literal text.
func (p *fastParser) number() (any, bool) {
	start := p.i
	digits := func() bool {
		n := p.i
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
		}
		return p.i > n
	}
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case !digits():
		return nil, false
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if !digits() {
			return nil, false
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if !digits() {
			return nil, false
		}
	}
	return json.Number(p.s[start:p.i]), true
}

// string parses the string at p.i (its opening quote) as encoding/json
// unquotes it: a string without escapes is a substring of the body; an
// escaped lone or mismatched surrogate becomes U+FFFD, as does a byte that
// is not UTF-8 (decodeRequest refuses those before).
func (p *fastParser) string() (string, bool) {
	p.i++ // '"'
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			return s, true
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			p.i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if r == utf8.RuneError && size == 1 {
				return p.escapedString(start) // rewritten with U+FFFD
			}
			p.i += size
		}
	}
	return "", false
}

// escapedString continues string from p.i, where the first escape or
// invalid byte of the string starting at start is, building its value.
func (p *fastParser) escapedString(start int) (string, bool) {
	b := make([]byte, 0, p.i-start+16)
	b = append(b, p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", false
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(p.s, p.i)
				if !ok {
					return "", false
				}
				p.i += 4
				if utf16.IsSurrogate(r) {
					// A pair only with the escape right after it; else
					// U+FFFD, and that escape stands for itself.
					if p.i+1 < len(p.s) && p.s[p.i] == '\\' && p.s[p.i+1] == 'u' {
						if r2, ok := hex4(p.s, p.i+2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								p.i += 6
								b = utf8.AppendRune(b, dec)
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			p.i += size
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
				continue
			}
			b = append(b, p.s[p.i-size:p.i]...)
		}
	}
	return "", false
}

// hex4 returns the four hexadecimal digits at s[i:] as a rune.
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendCanonical appends v, a value as decodeJSON returns it, encoded as
// json.Marshal encodes it: object members sorted by name, no insignificant
// whitespace, strings escaped alike (<, > and & too). It reports ok false
// for a value of any other type, which the caller encodes with
// json.Marshal.
func appendCanonical(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		if v {
			return append(b, "true"...), true
		}
		return append(b, "false"...), true
	case string:
		return appendJSONString(b, v), true
	case json.Number:
		if np := (fastParser{s: string(v)}); v == "" || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
			return b, false // json.Marshal writes "0" or fails; let it
		} else if _, ok := np.number(); !ok || np.i != len(np.s) {
			return b, false
		}
		return append(b, v...), true
	case map[string]any:
		if v == nil {
			return append(b, "null"...), true
		}
		var linear [maxLinearMembers]string
		keys := linear[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendCanonical(b, v[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendCanonical(b, e); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

// appendJSONString appends s quoted as json.Marshal quotes it with HTML
// escaping: ", \ and the control characters escaped, <, > and & as \u00XX,
// U+2028 and U+2029 escaped, and bytes that are not UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
