package transform

import "strings"

// inlineDefinitions returns the payload schema document doc (as
// jsonschema.UnmarshalJSON decodes it) with each reference to a definition
// of the document itself ("$ref": "#/$defs/<name>" or "#/definitions/<name>")
// replaced by a copy of that definition, where the reference stands alone
// (beside annotations such as description) and the definition does not
// refer back to itself on the way. The definitions stay in place for the
// references that are kept.
//
// Such a reference applies its definition to the same value, and so does
// the copy: the instance is valid under both documents alike, and the
// violations are the same leaves at the same instance locations, which is
// all that collect reads (the reference only adds a node around them). The
// validator walks each value once per schema on its way, with a few
// allocations each: without the reference nodes it does about a third
// less work (issue #20).
//
// A document that has identifiers or anchors below its root, dynamic or
// recursive references, or that would grow beyond maxInlinedNodes schemas,
// is returned unchanged: there, where a schema stands can change what it
// means or costs.
func inlineDefinitions(doc any) any {
	root, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	in := inliner{defs: map[string]map[string]any{}, placed: placedKeywords}
	if dialect, _ := root["$schema"].(string); strings.Contains(dialect, "draft-04") || strings.Contains(dialect, "draft-03") {
		in.placed = append([]string{"id"}, placedKeywords...) // the identifier of these drafts
	}
	if !in.inlinable(root, true) {
		return doc
	}
	for _, prefix := range []string{"$defs", "definitions"} {
		defs, _ := root[prefix].(map[string]any)
		for name, def := range defs {
			if d, ok := def.(map[string]any); ok && plainName(name) {
				in.defs["#/"+prefix+"/"+name] = d
			}
		}
	}
	if len(in.defs) == 0 {
		return doc
	}
	out := in.schema(root, nil)
	if in.nodes > maxInlinedNodes {
		return doc
	}
	return out
}

// maxInlinedNodes bounds the schemas of an inlined document: definitions
// that refer to others several times over could otherwise multiply.
const maxInlinedNodes = 20000

// placedKeywords tie a schema to where it stands: identifiers (but the
// root's), anchors, and references resolved along the dynamic scope.
var placedKeywords = []string{"$id", "$schema", "$anchor", "$dynamicAnchor", "$dynamicRef", "$recursiveAnchor", "$recursiveRef"}

// plainName reports whether a definition's name needs no escaping in a
// JSON pointer or a URI fragment.
func plainName(name string) bool {
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return name != ""
}

// inliner copies schemas, replacing references by their definitions.
type inliner struct {
	defs   map[string]map[string]any // by reference: "#/$defs/<name>"
	placed []string                  // placedKeywords of the document's dialect
	nodes  int                       // schemas written
}

// Keywords whose values hold schemas: one, an array of them, or an object
// of them by name. Every other keyword's value is copied as it is.
var (
	schemaKeywords = map[string]bool{
		"additionalProperties": true, "additionalItems": true, "items": true, "contains": true,
		"propertyNames": true, "if": true, "then": true, "else": true, "not": true,
		"unevaluatedItems": true, "unevaluatedProperties": true, "contentSchema": true,
	}
	schemaArrayKeywords = map[string]bool{
		"allOf": true, "anyOf": true, "oneOf": true, "prefixItems": true, "items": true,
	}
	schemaMapKeywords = map[string]bool{
		"properties": true, "patternProperties": true, "dependentSchemas": true, "dependencies": true,
	}
	// annotationKeywords assert nothing: a reference beside them alone
	// may be replaced.
	annotationKeywords = map[string]bool{
		"$ref": true, "$comment": true, "title": true, "description": true, "examples": true,
		"default": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	}
)

// schema copies the schema v; expanding lists the references being
// replaced around it, which are kept when met again (a recursion).
func (in *inliner) schema(v any, expanding []string) any {
	s, ok := v.(map[string]any)
	if !ok {
		return v // true or false
	}
	in.nodes++
	if in.nodes > maxInlinedNodes {
		return v
	}
	if ref, ok := s["$ref"].(string); ok {
		if def, ok := in.defs[ref]; ok && onlyAnnotations(s) {
			for _, e := range expanding {
				if e == ref {
					return v
				}
			}
			return in.schema(def, append(expanding, ref))
		}
	}
	out := make(map[string]any, len(s))
	for k, e := range s {
		switch {
		case k == "$defs" || k == "definitions":
			out[k] = e // kept as they are, for the references not replaced
		case schemaKeywords[k] && !isArray(e):
			out[k] = in.schema(e, expanding)
		case schemaArrayKeywords[k] && isArray(e):
			arr := e.([]any)
			c := make([]any, len(arr))
			for i, x := range arr {
				c[i] = in.schema(x, expanding)
			}
			out[k] = c
		case schemaMapKeywords[k]:
			m, ok := e.(map[string]any)
			if !ok {
				out[k] = e
				continue
			}
			c := make(map[string]any, len(m))
			for name, x := range m {
				if _, ok := x.([]any); ok { // dependencies: required names
					c[name] = x
					continue
				}
				c[name] = in.schema(x, expanding)
			}
			out[k] = c
		default:
			out[k] = e
		}
	}
	return out
}

// onlyAnnotations reports whether s has no keyword besides $ref and
// annotations.
func onlyAnnotations(s map[string]any) bool {
	for k := range s {
		if !annotationKeywords[k] {
			return false
		}
	}
	return true
}

func isArray(v any) bool {
	_, ok := v.([]any)
	return ok
}

// inlinable reports whether no schema below v, the definitions included,
// has one of in.placed (the root may have $id and $schema).
func (in *inliner) inlinable(v any, root bool) bool {
	s, ok := v.(map[string]any)
	if !ok {
		return true
	}
	for _, k := range in.placed {
		if _, ok := s[k]; ok && !(root && (k == "$id" || k == "$schema" || k == "id")) {
			return false
		}
	}
	ok = true
	in.subschemas(s, func(sub any) {
		ok = ok && in.inlinable(sub, false)
	})
	return ok
}

// subschemas calls fn with each schema directly below s, the definitions
// included.
func (in *inliner) subschemas(s map[string]any, fn func(any)) {
	for k, e := range s {
		switch {
		case schemaKeywords[k] && !isArray(e):
			fn(e)
		case schemaArrayKeywords[k] && isArray(e):
			for _, x := range e.([]any) {
				fn(x)
			}
		case schemaMapKeywords[k] || k == "$defs" || k == "definitions":
			m, _ := e.(map[string]any)
			for _, x := range m {
				if !isArray(x) { // dependencies: required names
					fn(x)
				}
			}
		}
	}
}
