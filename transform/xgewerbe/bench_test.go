package xgewerbe_test

import (
	"bytes"
	"testing"

	"github.com/beevik/etree"
)

// BenchmarkMap maps the maximal example: payload schema, text checks and
// the etree document.
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

// BenchmarkValidate is the validation part of BenchmarkMap.
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

// BenchmarkRawEtree builds a document of the same shape and size as the
// output of BenchmarkMap with etree alone, from constants: the floor that
// BenchmarkMap is measured against.
func BenchmarkRawEtree(b *testing.B) {
	m := newMapper(b)
	doc, err := m.Map(fullInput(readSubmission(b, examplePath("maximal"))))
	if err != nil {
		b.Fatal(err)
	}
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(doc.XML); err != nil {
		b.Fatal(err)
	}
	// The element tree as (tag, text) steps, to rebuild without parsing.
	type node struct {
		tag, text string
		attrs     []etree.Attr
		children  []node
	}
	var flatten func(e *etree.Element) node
	flatten = func(e *etree.Element) node {
		n := node{tag: e.FullTag(), attrs: e.Attr}
		if len(e.ChildElements()) == 0 {
			n.text = e.Text()
		}
		for _, c := range e.ChildElements() {
			n.children = append(n.children, flatten(c))
		}
		return n
	}
	tree := flatten(parsed.Root())
	var build func(parent *etree.Element, n node)
	build = func(parent *etree.Element, n node) {
		e := parent.CreateElement(n.tag)
		for _, a := range n.attrs {
			e.CreateAttr(a.FullKey(), a.Value)
		}
		if n.text != "" {
			e.CreateText(n.text)
		}
		for _, c := range n.children {
			build(e, c)
		}
	}
	raw := func() []byte {
		d := etree.NewDocument()
		d.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
		d.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
		build(&d.Element, tree)
		d.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
		out, err := d.WriteToBytes()
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	if !bytes.Equal(raw(), doc.XML) {
		b.Fatal("the raw document differs from the output of Map")
	}
	b.ReportAllocs()
	for b.Loop() {
		raw()
	}
}
