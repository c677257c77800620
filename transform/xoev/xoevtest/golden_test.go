package xoevtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLineDiff(t *testing.T) {
	t.Parallel()
	tests := []struct{ want, got, diff string }{
		{"a\nb\n", "a\nb\n", "(no line differs)"},
		{"a\nb\n", "a\nc\n", "first difference in line 2:\nwant: \"b\"\n got: \"c\""},
		{"a\n", "a\nb", "first difference in line 2:\nwant: \"\"\n got: \"b\""},
	}
	for _, tt := range tests {
		if got := LineDiff(tt.want, tt.got); got != tt.diff {
			t.Errorf("LineDiff(%q, %q) = %q, want %q", tt.want, tt.got, got, tt.diff)
		}
	}
}

func TestGoldenEqual(t *testing.T) {
	t.Parallel()
	if Updating() {
		t.Skip("-update would rewrite the file")
	}
	p := filepath.Join(t.TempDir(), "x.golden.xml")
	if err := os.WriteFile(p, []byte("<a/>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if want := Golden(t, p, []byte("<a/>\n")); string(want) != "<a/>\n" {
		t.Errorf("Golden returned %q", want)
	}
}

func TestWriteSchema(t *testing.T) {
	t.Parallel()
	xsd := []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a"/></xs:schema>`)
	p := WriteSchema(t, "a.xsd", xsd)
	if err := Check(t, p, []byte("<a/>")); err != nil {
		t.Errorf("valid document: %v", err)
	}
	if err := Check(t, p, []byte("<b/>")); err == nil {
		t.Error("invalid document passed")
	}
}

func TestRawEtree(t *testing.T) {
	t.Parallel()
	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<x:a xmlns:x="urn:x" k="v &amp; w">
  <x:b>Text &lt;1&gt;</x:b>
  <x:c/>
</x:a>
`)
	out, err := RawEtree(t, doc)()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(doc) {
		t.Errorf("rebuilt:\n%s\nwant:\n%s", out, doc)
	}
}
