package declarative

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"github.com/amtsbote/amtsbote/transform/xoev"
)

// nodeKind says what a compiled mapping node writes.
type nodeKind int

const (
	kindElement nodeKind = iota // an element
	kindGroup                   // the nodes of a template (use), with its each, with and if
	kindIdent                   // identifikation.nachricht of the Nachrichtenkopf
)

// sourceKind says where a value comes from.
type sourceKind int

const (
	sourceNone    sourceKind = iota
	sourcePointer            // value: a JSON pointer
	sourceExpr               // expr: an expression
	sourceText               // text: a constant
)

// source is the value of an element or attribute.
type source struct {
	kind sourceKind
	ptr  pointer
	prog *program
	text string
}

// codeList is a code list of the mapping: the listURI and listVersionID of
// its code elements and, optionally, a translation of input values to codes.
type codeList struct {
	list  xoev.CodeList
	codes map[string]string // input value -> code; nil: the value is the code
}

// attr is an attribute of an element.
type attr struct {
	line     int
	name     string
	src      source
	optional bool
}

// node is a compiled mapping node.
type node struct {
	kind     nodeKind
	line     int
	tag      string // prefixed name, for etree
	src      source
	isCode   bool
	list     *codeList
	optional bool
	cond     *program
	each     *pointer
	with     *pointer
	attrs    []attr
	children []*node

	identPrefix string // kindIdent: the prefix with its colon
	identList   xoev.CodeList
	identCode   string
}

// mapping is a compiled mapping.yaml.
type mapping struct {
	namespaces [][2]string // prefix, URI in the order written
	root       *node
	product    bool // write produkt, produkthersteller, produktversion on the root
}

// compiler compiles mapping.yaml, collecting every problem.
type compiler struct {
	file      string
	schema    *schemaDoc
	lists     map[string]*codeList
	prefixes  map[string]string
	templates map[string]*yaml.Node
	using     []string // templates being expanded, to find loops
	compiled  int      // nodes compiled, templates expanded
	errs      []error
}

// maxNodes bounds the compiled nodes of a mapping: templates that use
// templates can multiply without looping.
const maxNodes = 20_000

func (c *compiler) fail(line int, ptr string, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Pointer: ptr, Err: fmt.Errorf(format, args...)})
}

// keys checks that mapping node n has only the allowed keys and returns its
// values by key.
func (c *compiler) keys(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		c.fail(n.Line, "", "%s must be a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			c.fail(k.Line, "", "unknown key %q in %s (allowed: %s)", k.Value, what, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			c.fail(k.Line, "", "key %q given twice", k.Value)
		}
		out[k.Value] = n.Content[i+1]
	}
	return out
}

func (c *compiler) str(n *yaml.Node, what string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		c.fail(n.Line, "", "%s must be a string", what)
		return ""
	}
	return n.Value
}

func (c *compiler) boolean(n *yaml.Node, what string) bool {
	if n == nil {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		c.fail(n.Line, "", "%s must be true or false", what)
	}
	return b
}

var (
	ncName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]*$`)
	uriLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:\S+$`)
)

// compileMapping compiles the mapping document doc of file.
func compileMapping(file string, data []byte, schema *schemaDoc) (*mapping, error) {
	c := &compiler{file: file, schema: schema, lists: map[string]*codeList{}, prefixes: map[string]string{}, templates: map[string]*yaml.Node{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: file, Err: err}
	}
	if len(doc.Content) != 1 {
		return nil, &Error{File: file, Err: errors.New("empty mapping")}
	}
	top := c.keys(doc.Content[0], "the mapping", "namespaces", "codelists", "templates", "root")
	m := &mapping{}
	if ns := top["namespaces"]; ns != nil {
		for k, v := range c.pairs(ns, "namespaces") {
			uri := c.str(v, "a namespace URI")
			switch {
			case !ncName.MatchString(k.Value) || strings.Contains(k.Value, "."):
				c.fail(k.Line, "", "namespace prefix %q is not a valid prefix", k.Value)
			case k.Value == "xml" || k.Value == "xmlns":
				c.fail(k.Line, "", "namespace prefix %q is reserved", k.Value)
			case !uriLike.MatchString(uri):
				c.fail(v.Line, "", "namespace %q is not an absolute URI", uri)
			}
			c.prefixes[k.Value] = uri
			m.namespaces = append(m.namespaces, [2]string{k.Value, uri})
		}
	}
	if lists := top["codelists"]; lists != nil {
		for k, v := range c.pairs(lists, "codelists") {
			f := c.keys(v, "code list "+k.Value, "uri", "version", "codes")
			cl := &codeList{list: xoev.CodeList{URI: c.str(f["uri"], "uri"), Version: c.str(f["version"], "version")}}
			if cl.list.URI != "" && !uriLike.MatchString(cl.list.URI) {
				c.fail(f["uri"].Line, "", "code list uri %q is not an absolute URI", cl.list.URI)
			}
			if codes := f["codes"]; codes != nil {
				cl.codes = map[string]string{}
				for ck, cv := range c.pairs(codes, "codes") {
					cl.codes[ck.Value] = c.str(cv, "a code")
				}
			}
			c.lists[k.Value] = cl
		}
	}
	if tpls := top["templates"]; tpls != nil {
		for k, v := range c.pairs(tpls, "templates") {
			if v.Kind != yaml.SequenceNode {
				c.fail(v.Line, "", "template %q must be a list of nodes", k.Value)
				continue
			}
			c.templates[k.Value] = v
		}
	}
	rootNode := top["root"]
	if rootNode == nil {
		c.fail(doc.Content[0].Line, "", "no root element (root:)")
		return nil, errors.Join(c.errs...)
	}
	rf := c.keys(rootNode, "root", "element", "product_attributes", "attributes", "children")
	m.product = c.boolean(rf["product_attributes"], "product_attributes")
	top0 := c.schema.top()
	m.root = &node{kind: kindElement, line: rootNode.Line, tag: c.tag(rf["element"], rootNode.Line)}
	if rf["element"] != nil && !strings.Contains(m.root.tag, ":") && len(m.namespaces) > 0 {
		c.fail(rf["element"].Line, "", "the root element must be in a declared namespace (prefix:name)")
	}
	m.root.attrs = c.attrs(rf["attributes"], top0, top0)
	m.root.children = c.nodes(rf["children"], top0, top0)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return m, nil
}

// pairs iterates the key and value nodes of mapping n in order.
func (c *compiler) pairs(n *yaml.Node, what string) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		if n.Kind != yaml.MappingNode {
			c.fail(n.Line, "", "%s must be a mapping", what)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !yield(n.Content[i], n.Content[i+1]) {
				return
			}
		}
	}
}

// tag checks an element name, "prefix:local" with a declared prefix or an
// unqualified "local", and returns it.
func (c *compiler) tag(n *yaml.Node, line int) string {
	if n == nil {
		c.fail(line, "", "element name missing (element:)")
		return ""
	}
	name := c.str(n, "element")
	prefix, local, qualified := strings.Cut(name, ":")
	if !qualified {
		local, prefix = prefix, ""
	}
	if !ncName.MatchString(local) || strings.HasPrefix(strings.ToLower(local), "xml") {
		c.fail(n.Line, "", "%q is not a valid element name", name)
	}
	if qualified {
		if _, ok := c.prefixes[prefix]; !ok {
			c.fail(n.Line, "", "namespace prefix %q of %q is not declared under namespaces", prefix, name)
		}
	}
	return name
}

// nodes compiles a list of nodes; top and item are the schema cursors of the
// request body and of the current item.
func (c *compiler) nodes(n *yaml.Node, top, item schemaCursor) []*node {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.fail(n.Line, "", "children must be a list of nodes")
		return nil
	}
	var out []*node
	for _, e := range n.Content {
		if nd := c.node(e, top, item); nd != nil {
			out = append(out, nd)
		}
	}
	return out
}

var nodeKeys = []string{"element", "value", "expr", "text", "code", "list", "optional", "if", "each", "with",
	"attributes", "children", "use", "identifikation_nachricht"}

// node compiles one node.
func (c *compiler) node(n *yaml.Node, top, item schemaCursor) *node {
	if c.compiled++; c.compiled > maxNodes {
		if c.compiled == maxNodes+1 {
			c.fail(n.Line, "", "the mapping expands to more than %d nodes (templates using templates)", maxNodes)
		}
		return nil
	}
	f := c.keys(n, "a node", nodeKeys...)
	nd := &node{line: n.Line, optional: c.boolean(f["optional"], "optional")}
	// each and with move the current item; relative pointers below follow it.
	if v := f["each"]; v != nil {
		p, cur := c.pointer(v, top, item)
		if p != nil {
			nd.each = p
			if it, ok := c.schema.items(cur); ok {
				item = it
			} else {
				c.fail(v.Line, p.src, "the payload schema describes no array elements here")
			}
		}
	}
	if v := f["with"]; v != nil {
		if nd.each != nil {
			c.fail(v.Line, "", "each and with exclude each other")
		}
		p, cur := c.pointer(v, top, item)
		if p != nil {
			nd.with, item = p, cur
		}
	}
	// if is evaluated for each item of each, or with the item of with.
	if v := f["if"]; v != nil {
		nd.cond = c.expr(v, true, top, &item)
	}
	switch {
	case f["identifikation_nachricht"] != nil:
		for _, k := range []string{"element", "use", "value", "expr", "text", "each", "with", "children", "attributes", "list", "code"} {
			if f[k] != nil {
				c.fail(f[k].Line, "", "%s is not allowed with identifikation_nachricht", k)
			}
		}
		nd.kind = kindIdent
		g := c.keys(f["identifikation_nachricht"], "identifikation_nachricht", "prefix", "list", "nachrichtentyp")
		if p := c.str(g["prefix"], "prefix"); p != "" {
			if _, ok := c.prefixes[p]; !ok {
				c.fail(g["prefix"].Line, "", "namespace prefix %q is not declared under namespaces", p)
			}
			nd.identPrefix = p + ":"
		}
		if l := c.codeList(g["list"]); l != nil {
			nd.identList = l.list
		}
		nd.identCode = c.str(g["nachrichtentyp"], "nachrichtentyp")
		if nd.identCode == "" {
			c.fail(n.Line, "", "identifikation_nachricht needs its nachrichtentyp")
		}
		return nd
	case f["use"] != nil:
		for _, k := range []string{"element", "value", "expr", "text", "children", "attributes", "list", "code"} {
			if f[k] != nil {
				c.fail(f[k].Line, "", "%s is not allowed with use (put it into the template)", k)
			}
		}
		nd.kind = kindGroup
		name := c.str(f["use"], "use")
		tpl, ok := c.templates[name]
		switch {
		case !ok:
			c.fail(f["use"].Line, "", "no template %q under templates", name)
		case slices.Contains(c.using, name):
			c.fail(f["use"].Line, "", "template %q uses itself (%s -> %s): a mapping must not loop",
				name, strings.Join(c.using, " -> "), name)
		default:
			c.using = append(c.using, name)
			nd.children = c.nodes(tpl, top, item)
			c.using = c.using[:len(c.using)-1]
		}
		return nd
	}
	nd.kind = kindElement
	nd.tag = c.tag(f["element"], n.Line)
	nd.src = c.source(f, top, item)
	nd.isCode = c.boolean(f["code"], "code") || f["list"] != nil
	if f["list"] != nil {
		nd.list = c.codeList(f["list"])
	}
	if nd.isCode && f["value"] == nil && f["expr"] == nil && f["text"] == nil {
		c.fail(n.Line, "", "a code element needs its value (value, expr or text)")
	}
	nd.attrs = c.attrs(f["attributes"], top, item)
	nd.children = c.nodes(f["children"], top, item)
	if nd.src.kind != sourceNone && len(nd.children) > 0 {
		c.fail(n.Line, "", "an element has either a value or children, not both")
	}
	return nd
}

func (c *compiler) codeList(n *yaml.Node) *codeList {
	if n == nil {
		return nil
	}
	name := c.str(n, "list")
	l, ok := c.lists[name]
	if !ok {
		c.fail(n.Line, "", "no code list %q under codelists", name)
	}
	return l
}

// source compiles the one of value, expr and text that f holds.
func (c *compiler) source(f map[string]*yaml.Node, top, item schemaCursor) source {
	var s source
	given := 0
	if v := f["value"]; v != nil {
		given++
		if p, _ := c.pointer(v, top, item); p != nil {
			s = source{kind: sourcePointer, ptr: *p}
		}
	}
	if v := f["expr"]; v != nil {
		given++
		if p := c.expr(v, false, top, &item); p != nil {
			s = source{kind: sourceExpr, prog: p}
		}
	}
	if v := f["text"]; v != nil {
		given++
		s = source{kind: sourceText, text: c.str(v, "text")}
	}
	if given > 1 {
		line := 0
		for _, k := range []string{"value", "expr", "text"} {
			if f[k] != nil {
				line = f[k].Line
				break
			}
		}
		c.fail(line, "", "give only one of value, expr and text")
	}
	return s
}

// pointer compiles a pointer and checks it against the payload schema.
func (c *compiler) pointer(n *yaml.Node, top, item schemaCursor) (*pointer, schemaCursor) {
	src := c.str(n, "a JSON pointer")
	p, err := parsePointer(src)
	if err != nil {
		c.fail(n.Line, src, "%v", err)
		return nil, schemaCursor{}
	}
	cur, bad, ok := c.schema.follow(top, item, p)
	if !ok {
		c.fail(n.Line, src, "the payload schema (schema.json) allows no member %q here: the pointer can never resolve", bad)
		return nil, schemaCursor{}
	}
	return &p, cur
}

// expr compiles an expression; asBool requires a boolean result. Its
// member accesses of the payload are checked against the schema (top, and
// item for the current item where there is one).
func (c *compiler) expr(n *yaml.Node, asBool bool, top schemaCursor, item *schemaCursor) *program {
	src := c.str(n, "an expression")
	prog, err := compileExpr(src, asBool)
	if err != nil {
		c.fail(n.Line, "", "expression %q: %v", src, firstLine(err.Error()))
		return nil
	}
	if ptr, bad, ok := c.schema.checkMembers(prog, top, item); !ok {
		c.fail(n.Line, ptr, "expression %q: the payload schema (schema.json) allows no member %q here: it is always nil", src, bad)
	}
	return &program{src: src, prog: prog}
}

func compileExpr(src string, asBool bool) (*vm.Program, error) {
	opts := exprOptions()
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	return expr.Compile(src, opts...)
}

// checkMembers follows every chain of member accesses in prog that starts
// at applicant, data, identity or item (with constant names or indexes)
// through the payload schema; ok is false at the first member the schema
// does not allow, named by bad, with the chain as a pointer.
func (d *schemaDoc) checkMembers(prog *vm.Program, top schemaCursor, item *schemaCursor) (ptr, bad string, ok bool) {
	ok = true
	var visit func(n ast.Node)
	visit = func(n ast.Node) {
		if !ok {
			return
		}
		if m, isMember := n.(*ast.MemberNode); isMember {
			if root, tokens, chain := memberChain(m); chain {
				p := pointer{src: "/" + strings.Join(append([]string{root}, tokens...), "/"), tokens: append([]string{root}, tokens...)}
				var cur schemaCursor
				switch root {
				case "item":
					if item == nil {
						return
					}
					p = pointer{src: "item/" + strings.Join(tokens, "/"), relative: true, tokens: tokens}
					cur = *item
				case "applicant", "data", "identity":
					cur = top
				default:
					return
				}
				if _, b, good := d.follow(cur, cur, p); !good {
					ptr, bad, ok = p.src, b, false
				}
				return
			}
		}
		for _, child := range children(n) {
			visit(child)
		}
	}
	visit(prog.Node())
	return ptr, bad, ok
}

// memberChain returns the identifier and the constant member names of a
// chain such as data.schueler["anschrift"].ort; chain is false for any
// other expression.
func memberChain(m *ast.MemberNode) (root string, tokens []string, chain bool) {
	var rev []string
	var n ast.Node = m
	for {
		switch t := n.(type) {
		case *ast.MemberNode:
			switch p := t.Property.(type) {
			case *ast.StringNode:
				rev = append(rev, p.Value)
			case *ast.IntegerNode:
				rev = append(rev, strconv.Itoa(p.Value))
			default:
				return "", nil, false
			}
			n = t.Node
		case *ast.IdentifierNode:
			slices.Reverse(rev)
			return t.Value, rev, true
		default:
			return "", nil, false
		}
	}
}

// children returns the direct subexpressions of n, for checkMembers.
func children(n ast.Node) []ast.Node {
	switch t := n.(type) {
	case *ast.UnaryNode:
		return []ast.Node{t.Node}
	case *ast.BinaryNode:
		return []ast.Node{t.Left, t.Right}
	case *ast.ChainNode:
		return []ast.Node{t.Node}
	case *ast.MemberNode:
		return []ast.Node{t.Node, t.Property}
	case *ast.SliceNode:
		return []ast.Node{t.Node, t.From, t.To}
	case *ast.CallNode:
		return append([]ast.Node{t.Callee}, t.Arguments...)
	case *ast.BuiltinNode:
		return t.Arguments
	case *ast.PredicateNode:
		return []ast.Node{t.Node}
	case *ast.ConditionalNode:
		return []ast.Node{t.Cond, t.Exp1, t.Exp2}
	case *ast.ArrayNode:
		return t.Nodes
	case *ast.MapNode:
		return t.Pairs
	case *ast.PairNode:
		return []ast.Node{t.Key, t.Value}
	case *ast.VariableDeclaratorNode:
		return []ast.Node{t.Value, t.Expr}
	case *ast.SequenceNode:
		return t.Nodes
	case *ast.ConstantNode, *ast.IdentifierNode, *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return nil
	}
	return nil
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// attrs compiles the attribute list of an element: [{name, value|expr|text, optional}].
func (c *compiler) attrs(n *yaml.Node, top, item schemaCursor) []attr {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.fail(n.Line, "", "attributes must be a list of {name, value|expr|text}")
		return nil
	}
	var out []attr
	seen := map[string]bool{}
	for _, e := range n.Content {
		f := c.keys(e, "an attribute", "name", "value", "expr", "text", "optional")
		a := attr{line: e.Line, name: c.str(f["name"], "name"), optional: c.boolean(f["optional"], "optional")}
		prefix, local, qualified := strings.Cut(a.name, ":")
		if !qualified {
			local = prefix
		}
		switch {
		case !ncName.MatchString(local) || (qualified && !ncName.MatchString(prefix)):
			c.fail(e.Line, "", "%q is not a valid attribute name", a.name)
		case prefix == "xmlns" || a.name == "xmlns":
			c.fail(e.Line, "", "declare namespaces under namespaces, not as attribute %q", a.name)
		case qualified && prefix != "xml" && c.prefixes[prefix] == "":
			c.fail(e.Line, "", "namespace prefix %q of attribute %q is not declared", prefix, a.name)
		case seen[a.name]:
			c.fail(e.Line, "", "attribute %q given twice", a.name)
		}
		seen[a.name] = true
		a.src = c.source(f, top, item)
		if a.src.kind == sourceNone {
			c.fail(e.Line, "", "attribute %q needs a value (value, expr or text)", a.name)
		}
		out = append(out, a)
	}
	return out
}
