// Package declarative implements transform.Mapper for procedures defined as
// data instead of Go code: a procedure directory holds
//
//	procedure.yaml       id, name, message type, target namespace, XSD, rules
//	schema.json          the JSON Schema (draft 2020-12) of the payload
//	mapping.yaml         the output mapping: elements fed from JSON pointers and expressions
//	examples/<name>.json example request bodies
//	examples/<name>.xml  their golden outputs
//
// Load reads and compiles a directory once: the payload schema (with the
// DIN SPEC 91379 formats of transform), the mapping tree (templates inlined,
// a template that uses itself refused as a loop, every JSON pointer checked
// against the payload schema) and every expression (github.com/expr-lang/expr,
// type-checked against the environment, bounded in size and memory). A
// mapping error names the file, the line and the JSON pointer.
//
// Map walks the compiled tree with etree, never with string templates, so
// that escaping and namespaces are always right, and writes the XÖV parts
// with the helpers of transform/xoev (identifikation.nachricht, code
// elements, NFC text, the document settings of every message). Map is pure
// and deterministic: expressions have no clock and no map iteration.
//
// Test runs every example against its golden output and, where xmllint is
// installed, validates it against the procedure's XSD; amtsbote check-config
// and amtsbote procedure test print its report. The format is described in
// docs/procedures.md.
package declarative
