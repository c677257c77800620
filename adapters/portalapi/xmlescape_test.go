package portalapi_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"testing"
)

// TestXMLInStringFieldsIsEscaped sends XML markup in free-text fields and
// object keys, where it is legitimate text ("Müller & Söhne <GmbH>"), and
// checks that the message carries it as text: no DOCTYPE, no entity, no
// processing instruction and no element comes from the request.
func TestXMLInStringFieldsIsEscaped(t *testing.T) {
	t.Parallel()
	texts := []string{
		`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`,
		"<!DOCTYPE l [\n<!ENTITY l0 \"ha\">\n<!ENTITY l1 \"&l0;&l0;&l0;\">]>&l1;",
		`]]><injected attr="1"/><![CDATA[`,
		`<?xml-stylesheet href="http://example.invalid/x.xsl"?>`,
		`Müller & Söhne <GmbH> "zitiert" 'einfach'`,
		`&#x3C;script&#x3E; &amp;amp; &lt;`,
	}
	keys := []string{`<a xmlns="urn:x">`, `<?php ?>`, `&x;`}
	e := newEnv(t)
	body := demoBody(t, func(m map[string]any) {
		data := object(t, m, "data")
		for i, s := range texts {
			data[string(rune('a'+i))+"bemerkung"] = s
		}
		for _, k := range keys {
			data[k] = "wert"
		}
		object(t, m, "applicant")["vorname"] = texts[0]
		m["identity"] = map[string]any{"method": "servicekonto", "provider": texts[1], "trust_level": "high"}
	})
	accepted(t, e.submit(t, demoKey, body))
	msgs := e.claim(t, demoTopic)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	var seen []string
	dec := xml.NewDecoder(bytes.NewReader(msgs[0].Payload))
	elements := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the message is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.Directive:
			t.Errorf("a directive in the message: <!%s>", tok)
		case xml.ProcInst:
			if tok.Target != "xml" {
				t.Errorf("a processing instruction in the message: <?%s %s?>", tok.Target, tok.Inst)
			}
		case xml.StartElement:
			elements++
			if tok.Name.Local == "injected" || tok.Name.Space == "urn:x" {
				t.Errorf("an element from the request: %v", tok.Name)
			}
			for _, a := range tok.Attr {
				seen = append(seen, a.Value)
			}
		case xml.CharData:
			seen = append(seen, string(tok))
		}
	}
	for _, s := range append(slices.Clone(texts), keys...) {
		if !slices.Contains(seen, s) {
			t.Errorf("%q is not in the message as text", s)
		}
	}
	if elements == 0 {
		t.Fatal("no elements in the message")
	}
}
