package xoev

import (
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
func WriteBytes(doc *etree.Document) ([]byte, error) {
	doc.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
	return doc.WriteToBytes()
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
