package xoevtest

import (
	"testing"

	"github.com/beevik/etree"
)

// RawEtree prepares the floor a mapper's BenchmarkMap is compared with: it
// parses xml, a message the mapper wrote, and returns a function that
// builds and serialises a document of the same elements, attributes and
// text with etree alone, with the settings of xoev.NewDocument and
// xoev.WriteBytes. Each call builds the document anew.
func RawEtree(tb testing.TB, xml []byte) func() ([]byte, error) {
	tb.Helper()
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(xml); err != nil {
		tb.Fatal(err)
	}
	tree := record(parsed.Root())
	return func() ([]byte, error) {
		d := etree.NewDocument()
		d.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
		d.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
		tree.build(&d.Element)
		d.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
		return d.WriteToBytes()
	}
}

// node is an element of a document to rebuild: name, attributes, the text
// of a leaf, children.
type node struct {
	tag      string
	attrs    []etree.Attr
	text     string
	children []node
}

func record(e *etree.Element) node {
	n := node{tag: e.FullTag(), attrs: e.Attr}
	if len(e.ChildElements()) == 0 {
		n.text = e.Text()
	}
	for _, c := range e.ChildElements() {
		n.children = append(n.children, record(c))
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
