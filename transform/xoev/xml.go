package xoev

import (
	"bytes"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
)

// NewDocument returns an empty message document: the XML declaration
// (version 1.0, UTF-8) and the write settings of every message (canonical
// text and attribute values). Write it with WriteBytes.
func NewDocument() *etree.Document {
	doc := etree.NewDocument()
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	return doc
}

// WriteBytes indents doc by two spaces, keeping the whitespace of leaf
// elements, and returns its serialisation.
//
// A document as NewDocument starts it and the mappers build it (elements,
// attributes, text and processing instructions, none of them indented yet)
// is written directly, without inserting the indentation into the tree as
// etree's IndentWithSettings does, into a pooled buffer: the same bytes
// for a third of the allocations (issue #20). Any other document is
// indented and written by etree.
func WriteBytes(doc *etree.Document) ([]byte, error) {
	if doc.WriteSettings == messageSettings && directlyWritable(&doc.Element) {
		b := writeBuffers.Get().(*bytes.Buffer)
		defer writeBuffers.Put(b)
		b.Reset()
		writeIndented(b, &doc.Element, 0, &doc.WriteSettings)
		return bytes.Clone(b.Bytes()), nil
	}
	doc.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
	return doc.WriteToBytes()
}

// messageSettings are the write settings NewDocument gives a document.
var messageSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}

// writeBuffers are the buffers of WriteBytes.
var writeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// directlyWritable reports whether writeIndented writes e as etree would
// after IndentWithSettings: e and its descendants hold only elements,
// processing instructions and plain text that no indentation was inserted
// into (no whitespace CharData, no CDATA, comments or directives).
func directlyWritable(e *etree.Element) bool {
	for _, c := range e.Child {
		switch c := c.(type) {
		case *etree.Element:
			if !directlyWritable(c) {
				return false
			}
		case *etree.CharData:
			if c.IsWhitespace() || c.IsCData() {
				return false
			}
		case *etree.ProcInst:
		default:
			return false
		}
	}
	return true
}

// indentLines is a line break and the spaces of the deepest indentation
// writeIndented writes from it; deeper levels are written space by space.
const indentLines = "\n                                                                "

// writeIndent writes a line break and the indentation of depth, two spaces
// a level; a negative depth writes the line break alone.
func writeIndent(b *bytes.Buffer, depth int) {
	n := 1 + max(0, 2*depth)
	if n <= len(indentLines) {
		b.WriteString(indentLines[:n])
		return
	}
	b.WriteString(indentLines)
	for range n - len(indentLines) {
		b.WriteByte(' ')
	}
}

// writeIndented writes the children of e as etree writes them after
// (*Element).indent(depth) with two spaces: a line break and indentation
// before every child that is not text (but the first at depth 0), and
// before the end tag after a last child that is not text. depth is 0 for
// the document, 1 for its root element.
func writeIndented(b *bytes.Buffer, e *etree.Element, depth int, s *etree.WriteSettings) {
	isText, first := false, true
	for _, c := range e.Child {
		_, isText = c.(*etree.CharData)
		if !isText {
			if !first || depth > 0 {
				writeIndent(b, depth)
			}
			first = false
		}
		child, ok := c.(*etree.Element)
		if !ok {
			c.WriteTo(b, s)
			continue
		}
		b.WriteByte('<')
		writeTag(b, child)
		for i := range child.Attr {
			b.WriteByte(' ')
			child.Attr[i].WriteTo(b, s)
		}
		if len(child.Child) == 0 {
			b.WriteString("/>")
			continue
		}
		b.WriteByte('>')
		writeIndented(b, child, depth+1, s)
		b.WriteString("</")
		writeTag(b, child)
		b.WriteByte('>')
	}
	if len(e.Child) > 0 && !isText && (!first || depth > 0) {
		writeIndent(b, depth-1)
	}
}

// writeTag writes the prefixed name of e (its FullTag, without building it).
func writeTag(b *bytes.Buffer, e *etree.Element) {
	if e.Space != "" {
		b.WriteString(e.Space)
		b.WriteByte(':')
	}
	b.WriteString(e.Tag)
}

// ProductAttrs writes the root attributes produkt, produkthersteller and
// produktversion of an XÖV message from p, each in NFC and only where set.
func ProductAttrs(root *etree.Element, p transform.Product) {
	OptionalAttr(root, "produkt", p.Name)
	OptionalAttr(root, "produkthersteller", p.Manufacturer)
	OptionalAttr(root, "produktversion", p.Version)
}

// OptionalAttr writes the attribute key of e with the NFC form of value,
// unless value is empty.
func OptionalAttr(e *etree.Element, key, value string) {
	if value != "" {
		e.CreateAttr(key, transform.NormalizeText(value))
	}
}

// Text appends the element tag (with its prefix, if any) to parent with the
// NFC form of value as its content, and returns it. An empty value gives an
// empty element, written <tag/>.
func Text(parent *etree.Element, tag, value string) *etree.Element {
	e := parent.CreateElement(tag)
	e.SetText(transform.NormalizeText(value))
	return e
}

// OptionalText is Text for an optional element: nothing for an empty value.
func OptionalText(parent *etree.Element, tag, value string) {
	if value != "" {
		Text(parent, tag, value)
	}
}

// CodeList names an XÖV code list as the attributes listURI and
// listVersionID of a code element carry it. The zero CodeList writes neither
// attribute, for code types whose list the schema fixes.
type CodeList struct {
	URI     string
	Version string
}

// Code appends the code element <tag listURI=".." listVersionID=".."><code>value</code></tag>
// to parent and returns it; each attribute is written only where list sets
// it. tag carries its own prefix (or none); the code child is always
// unprefixed, as xoev-code:Code declares it unqualified. value is written as
// given: code values are tokens of their list, not text to normalise.
func Code(parent *etree.Element, tag string, list CodeList, value string) *etree.Element {
	e := parent.CreateElement(tag)
	if list.URI != "" {
		e.CreateAttr("listURI", list.URI)
	}
	if list.Version != "" {
		e.CreateAttr("listVersionID", list.Version)
	}
	e.CreateElement("code").SetText(value)
	return e
}

// IdentifikationNachricht appends the identifikation.nachricht of a
// Nachrichtenkopf to kopf and returns it: nachrichtenUUID (uuid, as given),
// the code element nachrichtentyp (code in list) and erstellungszeitpunkt
// (Timestamp of created). prefix is the namespace prefix of the elements
// with its colon, e.g. "xga:", or "" where the schema declares them
// unqualified.
func IdentifikationNachricht(kopf *etree.Element, prefix, uuid string, list CodeList, code string, created time.Time) *etree.Element {
	ident := kopf.CreateElement(prefix + "identifikation.nachricht")
	Text(ident, prefix+"nachrichtenUUID", uuid)
	Code(ident, prefix+"nachrichtentyp", list, code)
	Text(ident, prefix+"erstellungszeitpunkt", Timestamp(created))
	return ident
}
