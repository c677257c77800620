package answers

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// node is an element of a parsed answer: its expanded name, attributes,
// character data (for a leaf) and children. Parse builds it in the same
// pass that enforces the limits, so the tree never exceeds them.
type node struct {
	space, local string
	attrs        []xml.Attr
	text         strings.Builder
	children     []*node
	path         string // element path for errors, e.g. /xbau:baugenehmigung.bescheid.0205/bezug
}

// prefixes are the prefixes element paths use for the namespaces of
// answers; an element in another namespace is written with "{ns}".
var prefixes = map[string]string{
	nsXBau:    "xbau",
	nsXBauK:   "xbauk",
	nsXdomea:  "xdomea",
	"":        "",
	nsXSI:     "xsi",
	nsXMLName: "xml",
}

const (
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	nsXMLName = "http://www.w3.org/XML/1998/namespace"
)

func qualified(space, local string) string {
	p, ok := prefixes[space]
	switch {
	case !ok:
		return "{?}" + local // never echo an unknown namespace
	case p == "":
		return local
	default:
		return p + ":" + local
	}
}

// readXML parses body as one XML document, hostile: it refuses any
// directive (DOCTYPE, ENTITY and the like), so no DTD and no entity
// declaration is ever read; an encoding other than UTF-8; nesting deeper
// than maxDepth; and anything not well-formed (encoding/xml in strict mode
// knows only the five predefined entities). Comments and processing
// instructions other than the XML declaration are skipped.
func readXML(body []byte, maxDepth int) (*node, error) {
	if !utf8.Valid(body) {
		return nil, &Error{Reason: "the body is not valid UTF-8"}
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, errors.New("only UTF-8 is accepted")
	}
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &Error{Reason: "the body is not well-formed XML: " + syntaxReason(err), Err: errWellFormed}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, &Error{Reason: "elements are nested deeper than the limit", Err: ErrTooDeep}
			}
			n := &node{space: t.Name.Space, local: t.Name.Local, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, &Error{Reason: "the body has more than one root element", Err: errWellFormed}
				}
				root = n
				n.path = "/" + qualified(n.space, n.local)
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
				n.path = parent.path + "/" + qualified(n.space, n.local)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, &Error{Reason: "the body has text outside the root element", Err: errWellFormed}
			}
		case xml.Directive:
			return nil, &Error{Reason: "the body has a document type declaration or another directive; DTDs and entity declarations are refused", Err: ErrDTD}
		case xml.ProcInst:
			if t.Target == "xml" {
				if enc := declaredEncoding(t.Inst); enc != "" && !strings.EqualFold(enc, "utf-8") {
					return nil, &Error{Reason: "the XML declaration names an encoding other than UTF-8"}
				}
			}
		}
	}
	if root == nil {
		return nil, &Error{Reason: "the body has no root element", Err: errWellFormed}
	}
	return root, nil
}

// errWellFormed marks an XML body that is not well-formed.
var errWellFormed = errors.New("not well-formed")

// Sentinels a caller may test for with errors.Is.
var (
	// ErrDTD: the XML body has a DOCTYPE or another directive.
	ErrDTD = errors.New("DTD refused")
	// ErrTooDeep: the body nests deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("nested too deep")
	// ErrTooLarge: the body, or what a container unpacks to, exceeds
	// Limits.MaxBytes.
	ErrTooLarge = errors.New("too large")
	// ErrUnknownType: the body is no answer this package knows (root
	// element, namespace, JSON type, media type).
	ErrUnknownType = errors.New("unknown answer type")
	// ErrNoReference: the answer does not say which message it answers.
	ErrNoReference = errors.New("no reference")
)

// syntaxReason words a decoder error without quoting the body: the
// messages of encoding/xml may contain names and text from it, so only
// the line is kept.
func syntaxReason(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return "syntax error in line " + itoa(se.Line)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end"
	}
	return "syntax error"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// declaredEncoding returns the encoding pseudo-attribute of an XML
// declaration, or "".
func declaredEncoding(inst []byte) string {
	s := string(inst)
	i := strings.Index(s, "encoding")
	if i < 0 {
		return ""
	}
	s = strings.TrimLeft(s[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(s, "=") {
		return ""
	}
	s = strings.TrimLeft(s[1:], " \t\r\n")
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return ""
	}
	q := s[0]
	end := strings.IndexByte(s[1:], q)
	if end < 0 {
		return ""
	}
	return s[1 : 1+end]
}

// child returns the first child of n named local in namespace space, or nil.
func (n *node) child(space, local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.local == local && c.space == space {
			return c
		}
	}
	return nil
}

// all returns every child of n named local in space.
func (n *node) all(space, local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.local == local && c.space == space {
			out = append(out, c)
		}
	}
	return out
}

// get follows a path of unqualified child names from n; nil where one is
// missing.
func (n *node) get(locals ...string) *node {
	for _, l := range locals {
		n = n.child("", l)
	}
	return n
}

// value is the trimmed text of n, "" for nil.
func (n *node) value() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text.String())
}

// attr returns the value of the unqualified attribute name of n.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// childPath is the path of a child of n that may be missing.
func (n *node) childPath(locals ...string) string {
	p := n.path
	for _, l := range locals {
		p += "/" + l
	}
	return p
}
