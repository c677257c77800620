package xbau_test

import (
	"bytes"
	"testing"

	"github.com/beevik/etree"
)

// BenchmarkMap maps the maximal example: Validate (payload schema and text
// checks) plus building and serialising the message.
func BenchmarkMap(b *testing.B) {
	m := newMapper(b)
	in := fullInput(readSubmission(b, examplePath("maximal")))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is the validation part of BenchmarkMap alone.
func BenchmarkValidate(b *testing.B) {
	m := newMapper(b)
	s := readSubmission(b, examplePath("maximal"))
	b.ReportAllocs()
	for b.Loop() {
		if errs := m.Validate(s); errs != nil {
			b.Fatal(errs)
		}
	}
}

// node is an element of a prepared tree for BenchmarkRawEtree.
type node struct {
	tag      string
	attrs    []etree.Attr
	text     string
	children []node
}

func toNode(e *etree.Element) node {
	n := node{tag: e.FullTag(), attrs: e.Attr}
	if len(e.ChildElements()) == 0 {
		n.text = e.Text()
	}
	for _, c := range e.ChildElements() {
		n.children = append(n.children, toNode(c))
	}
	return n
}

func (n node) build(parent *etree.Element) {
	e := parent.CreateElement(n.tag)
	for _, a := range n.attrs {
		e.CreateAttr(a.FullKey(), a.Value)
	}
	if n.text != "" {
		e.SetText(n.text)
	}
	for _, c := range n.children {
		c.build(e)
	}
}

// BenchmarkRawEtree builds and serialises, with etree directly and the same
// settings, a document with the elements, attributes and text of the
// maximal example's message: the floor that BenchmarkMap is compared to.
func BenchmarkRawEtree(b *testing.B) {
	m := newMapper(b)
	out, err := m.Map(fullInput(readSubmission(b, examplePath("maximal"))))
	if err != nil {
		b.Fatal(err)
	}
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(out.XML); err != nil {
		b.Fatal(err)
	}
	tree := toNode(parsed.Root())
	var size int
	b.ReportAllocs()
	for b.Loop() {
		doc := etree.NewDocument()
		doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
		doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
		tree.build(&doc.Element)
		doc.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
		xml, err := doc.WriteToBytes()
		if err != nil {
			b.Fatal(err)
		}
		size = len(xml)
	}
	if size != len(out.XML) {
		b.Fatalf("raw document has %d bytes, the mapper's %d", size, len(out.XML))
	}
	if !bytes.Equal(out.XML[:len("<?xml")], []byte("<?xml")) {
		b.Fatal("no XML declaration")
	}
}
