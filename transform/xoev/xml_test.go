package xoev_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform/xoev"
)

// etreeBytes is what WriteBytes wrote before it wrote documents itself:
// etree's indentation inserted into the tree, then etree's serialisation.
func etreeBytes(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	doc = doc.Copy()
	doc.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeDocuments are documents as mappers build them, and some that
// WriteBytes leaves to etree.
func writeDocuments() map[string]*etree.Document {
	docs := map[string]*etree.Document{}
	add := func(name string, build func(root *etree.Element)) {
		doc := xoev.NewDocument()
		root := doc.CreateElement("x:nachricht")
		root.CreateAttr("xmlns:x", "urn:test")
		build(root)
		docs[name] = doc
	}
	add("empty root", func(*etree.Element) {})
	add("text and codes", func(root *etree.Element) {
		kopf := root.CreateElement("x:kopf")
		xoev.Text(kopf, "x:name", "Müller & <Söhne> \"O'Brien\"\r\n\tzwei")
		xoev.Text(kopf, "x:leer", "")
		xoev.Text(kopf, "x:blank", "   ")
		xoev.Code(kopf, "x:art", xoev.CodeList{URI: "urn:a&b<c>\"d\"\t\n\r", Version: "1"}, "einzug")
		xoev.OptionalText(root, "x:fehlt", "")
	})
	add("invalid characters", func(root *etree.Element) {
		root.CreateElement("x:a").SetText("a\x01b\xffc\uFFFDd")
		root.CreateAttr("bad", "a\x02\xfe")
	})
	add("mixed content", func(root *etree.Element) {
		p := root.CreateElement("x:p")
		p.CreateText("vor ")
		p.CreateElement("x:b").SetText("fett")
		p.CreateText(" nach")
		q := root.CreateElement("x:q")
		q.CreateElement("x:i")
		q.CreateText("am Ende")
		root.CreateProcInst("pi", "inhalt")
	})
	add("deep", func(root *etree.Element) {
		e := root
		for range 60 {
			e = e.CreateElement("x:tief")
		}
		e.SetText("unten")
	})
	add("comment", func(root *etree.Element) { root.CreateComment("etree writes it") })
	add("cdata", func(root *etree.Element) { root.CreateElement("x:c").CreateCData("<roh>") })
	indented := xoev.NewDocument()
	indented.CreateElement("x:r").CreateElement("x:s").SetText("t")
	indented.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
	docs["indented already"] = indented
	return docs
}

func TestWriteBytesAsEtree(t *testing.T) {
	t.Parallel()
	for name, doc := range writeDocuments() {
		want := etreeBytes(t, doc)
		got, err := xoev.WriteBytes(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: WriteBytes wrote\n%s\netree writes\n%s", name, got, want)
		}
		if name == "text and codes" && !strings.Contains(string(got), "\n    <x:name>") {
			t.Errorf("%s: not indented:\n%s", name, got)
		}
	}
}

// TestWriteBytesAllocations proves the direct writer: a document of 200
// elements is written with a handful of allocations, where etree's
// indentation and serialisation take several per element.
func TestWriteBytesAllocations(t *testing.T) {
	doc := xoev.NewDocument()
	root := doc.CreateElement("x:nachricht")
	for range 100 {
		xoev.Text(root.CreateElement("x:person"), "x:name", "Müller")
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := xoev.WriteBytes(doc); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 20 {
		t.Errorf("WriteBytes of 201 elements: %.0f allocations, want at most 20", allocs)
	}
}
