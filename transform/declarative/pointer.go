package declarative

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// pointer is a compiled JSON pointer of a mapping: absolute (RFC 6901,
// "/data/wohnung/ort", from the request body) or relative to the current
// item of an each or with ("." the item itself, "./ort" below it).
type pointer struct {
	src      string   // as written
	relative bool     // from the current item
	tokens   []string // unescaped reference tokens
}

// parsePointer compiles s.
func parsePointer(s string) (pointer, error) {
	p := pointer{src: s}
	rest := s
	switch {
	case s == ".":
		p.relative = true
		return p, nil
	case strings.HasPrefix(s, "./"):
		p.relative = true
		rest = s[1:]
	case strings.HasPrefix(s, "/"):
	default:
		return p, fmt.Errorf("pointer %q must start with \"/\" (from the request body) or \"./\" (from the current item)", s)
	}
	for _, tok := range strings.Split(rest[1:], "/") {
		if tok == "" {
			return p, fmt.Errorf("pointer %q has an empty reference token", s)
		}
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(tok, "~0", ""), "~1", ""), "~") {
			return p, fmt.Errorf("pointer %q: \"~\" must be escaped as \"~0\"", s)
		}
		p.tokens = append(p.tokens, strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
	}
	if !p.relative && p.tokens[0] != "applicant" && p.tokens[0] != "data" && p.tokens[0] != "identity" {
		return p, fmt.Errorf("pointer %q must start with /applicant, /data or /identity", s)
	}
	return p, nil
}

// resolve returns the value p names and its absolute pointer; ok is false
// when a member or index on the way is absent (or the way leads through a
// scalar).
func (p pointer) resolve(root map[string]any, item any, itemPtr string) (v any, abs string, ok bool) {
	v, abs = any(root), ""
	if p.relative {
		v, abs = item, itemPtr
	}
	for _, tok := range p.tokens {
		abs = appendToken(abs, tok)
		switch c := v.(type) {
		case map[string]any:
			v, ok = c[tok]
			if !ok {
				return nil, abs, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, abs, false
			}
			v = c[i]
		default:
			return nil, abs, false
		}
	}
	return v, abs, v != nil
}

// appendToken is transform.AppendPointer without its import cycle worries.
func appendToken(ptr, tok string) string {
	if strings.ContainsAny(tok, "~/") {
		tok = strings.NewReplacer("~", "~0", "/", "~1").Replace(tok)
	}
	return ptr + "/" + tok
}

// schemaCursor is where a pointer stands in the payload schema: the
// subschemas that may describe the value there (several through oneOf,
// anyOf, allOf, if/then/else), or open where the schema does not say.
type schemaCursor struct {
	schemas []map[string]any
	open    bool
}

// schemaDoc is the parsed payload schema, for following pointers.
type schemaDoc struct {
	root map[string]any
}

func newSchemaDoc(raw []byte) (*schemaDoc, error) {
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	return &schemaDoc{root: root}, nil
}

// top is the cursor of the request body.
func (d *schemaDoc) top() schemaCursor { return d.expand([]map[string]any{d.root}) }

// expand resolves local $refs and collects the applicators' subschemas.
func (d *schemaDoc) expand(in []map[string]any) schemaCursor {
	var c schemaCursor
	var add func(s map[string]any, depth int)
	add = func(s map[string]any, depth int) {
		if depth > 32 {
			return
		}
		if ref, ok := s["$ref"].(string); ok {
			if t := d.ref(ref); t != nil {
				add(t, depth+1)
			} else {
				c.open = true
			}
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			if list, ok := s[k].([]any); ok {
				for _, e := range list {
					if m, ok := e.(map[string]any); ok {
						add(m, depth+1)
					}
				}
			}
		}
		for _, k := range []string{"then", "else"} {
			if m, ok := s[k].(map[string]any); ok {
				add(m, depth+1)
			}
		}
		c.schemas = append(c.schemas, s)
	}
	for _, s := range in {
		add(s, 0)
	}
	return c
}

// ref resolves a local reference "#/$defs/name"; nil for any other.
func (d *schemaDoc) ref(ref string) map[string]any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var v any = d.root
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[tok]
	}
	m, _ := v.(map[string]any)
	return m
}

// member moves the cursor to the member or array index tok; ok is false
// when the schema allows no such member.
func (d *schemaDoc) member(c schemaCursor, tok string) (schemaCursor, bool) {
	if c.open {
		return c, true
	}
	var next []map[string]any
	open := false
	_, errIndex := strconv.Atoi(tok)
	isIndex := errIndex == nil
	for _, s := range c.schemas {
		if props, ok := s["properties"].(map[string]any); ok {
			if p, ok := props[tok].(map[string]any); ok {
				next = append(next, p)
			} else if b, ok := props[tok].(bool); ok && b {
				open = true
			}
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			next = append(next, ap)
		}
		if _, ok := s["patternProperties"]; ok {
			open = true
		}
		if isIndex {
			if it, ok := s["items"].(map[string]any); ok {
				next = append(next, it)
			}
			if _, ok := s["prefixItems"]; ok {
				open = true
			}
		}
	}
	if open {
		return schemaCursor{open: true}, true
	}
	if len(next) == 0 {
		// A schema that says nothing about objects and arrays (no
		// properties, no items, no type) leaves the value open.
		for _, s := range c.schemas {
			if _, typed := s["type"]; !typed && s["properties"] == nil && s["items"] == nil &&
				s["enum"] == nil && s["const"] == nil && s["$ref"] == nil && s["oneOf"] == nil &&
				s["anyOf"] == nil && s["allOf"] == nil && s["additionalProperties"] == nil {
				return schemaCursor{open: true}, true
			}
		}
		return schemaCursor{}, false
	}
	return d.expand(next), true
}

// items is the cursor of the elements of the array at c (for each).
func (d *schemaDoc) items(c schemaCursor) (schemaCursor, bool) { return d.member(c, "0") }

// follow moves c (the current item's cursor for a relative pointer, the
// body's for an absolute one) along p; ok is false at the first token the
// schema does not allow, named by bad.
func (d *schemaDoc) follow(top, item schemaCursor, p pointer) (c schemaCursor, bad string, ok bool) {
	c = top
	if p.relative {
		c = item
	}
	for _, tok := range p.tokens {
		if c, ok = d.member(c, tok); !ok {
			return c, tok, false
		}
	}
	return c, "", true
}
