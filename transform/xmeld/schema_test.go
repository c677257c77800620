package xmeld_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xmeld"
)

// TestPayloadSchemaClosed: the JSON Schema is draft 2020-12 and every object
// it describes forbids members it does not name.
func TestPayloadSchemaClosed(t *testing.T) {
	t.Parallel()
	var schema map[string]any
	if err := json.Unmarshal(xmeld.PayloadJSONSchema, &schema); err != nil {
		t.Fatal(err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", schema["$schema"])
	}
	objects := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["properties"]; ok || v["type"] == "object" {
				objects++
				if v["additionalProperties"] != false {
					t.Errorf("%s: additionalProperties is not false", path)
				}
			}
			for k, e := range v {
				walk(path+"/"+k, e)
			}
		case []any:
			for _, e := range v {
				walk(path+"/[]", e)
			}
		}
	}
	walk("#", schema)
	if objects < 7 {
		t.Errorf("found %d object schemas, want at least 7", objects)
	}
}

// TestSchemaDeclaresItsStatus: the XSD says it is Amtsbote's own message and
// imports the XÖV library files from its own directory, without copying them.
func TestSchemaDeclaresItsStatus(t *testing.T) {
	t.Parallel()
	xsd := string(xmeld.Schema)
	for _, want := range []string{
		`targetNamespace="` + xmeld.Namespace + `"`,
		`<xs:element name="` + xmeld.Nachrichtentyp + `">`,
		"KEINE Nachricht des Standards XMeld",
		`schemaLocation="xoev-code.xsd"`,
		`schemaLocation="din-norm-91379-datatypes.xsd"`,
		`base="din91379:datatypeA"`,
		`base="din91379:datatypeB"`,
	} {
		if !strings.Contains(xsd, want) {
			t.Errorf("wohnungsgeberbestaetigung.xsd does not contain %q", want)
		}
	}
	if strings.Count(xsd, "schemaLocation=") != 2 {
		t.Error("wohnungsgeberbestaetigung.xsd imports other files than the two XÖV library files")
	}
	if strings.Contains(xsd, "<xs:simpleType name=\"datatypeA\"") {
		t.Error("wohnungsgeberbestaetigung.xsd copies the DIN SPEC 91379 datatypes")
	}
	if xmeld.Procedure != "meldewesen.wohnungsgeberbestaetigung" || xmeld.MessageType != "xmeld.wohnungsgeberbestaetigung.0001" {
		t.Errorf("Procedure %q, MessageType %q", xmeld.Procedure, xmeld.MessageType)
	}
}
