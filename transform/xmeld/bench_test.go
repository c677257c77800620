package xmeld_test

import (
	"testing"

	"github.com/beevik/etree"
)

// BenchmarkMap maps the maximal example: Validate (JSON Schema, text and
// semantic checks) plus building and serialising the message.
func BenchmarkMap(b *testing.B) {
	m := newMapper(b)
	in := fullInput(readSubmission(b, examples["maximal"]))
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
	s := readSubmission(b, examples["maximal"])
	b.ReportAllocs()
	for b.Loop() {
		if errs := m.Validate(s); errs != nil {
			b.Fatal(errs)
		}
	}
}

// node is an element of a document to rebuild: name, attributes, text, children.
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

func build(parent *etree.Element, n node) {
	e := parent.CreateElement(n.tag)
	for _, a := range n.attrs {
		e.CreateAttr(a.FullKey(), a.Value)
	}
	if n.text != "" {
		e.SetText(n.text)
	}
	for _, c := range n.children {
		build(e, c)
	}
}

// BenchmarkRawEtree builds and serialises, with etree alone, a document of
// the same elements, attributes and text as BenchmarkMap's output, with the
// same settings: the floor Map's own work is measured against.
func BenchmarkRawEtree(b *testing.B) {
	doc, err := newMapper(b).Map(fullInput(readSubmission(b, examples["maximal"])))
	if err != nil {
		b.Fatal(err)
	}
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(doc.XML); err != nil {
		b.Fatal(err)
	}
	tree := record(parsed.Root())
	var size int
	b.ReportAllocs()
	for b.Loop() {
		d := etree.NewDocument()
		d.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
		d.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
		build(&d.Element, tree)
		d.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
		out, err := d.WriteToBytes()
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	if size != len(doc.XML) {
		b.Fatalf("rebuilt document has %d bytes, Map's output %d", size, len(doc.XML))
	}
}
