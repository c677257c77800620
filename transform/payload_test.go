package transform

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const testSchema = `{
  "type": "object",
  "required": ["applicant", "data"],
  "additionalProperties": false,
  "properties": {
    "applicant": {
      "oneOf": [
        {"type": "object", "required": ["familienname"], "additionalProperties": false,
         "properties": {"familienname": {"type": "string", "minLength": 1, "maxLength": 10}}},
        {"type": "object", "required": ["firma"], "additionalProperties": false,
         "properties": {"firma": {"type": "string"}}}
      ]
    },
    "data": {
      "type": "object",
      "required": ["art", "datum"],
      "properties": {
        "art": {"enum": ["einzug", "auszug"]},
        "datum": {"type": "string", "format": "date"},
        "plz": {"type": "string", "pattern": "^[0-9]{5}$"},
        "personen": {"type": "array", "minItems": 1, "items": {"type": "object"}},
        "anzahl": {"type": "integer", "minimum": 1}
      }
    }
  }
}`

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPayloadSchema(t *testing.T) {
	t.Parallel()
	ps, err := CompilePayloadSchema("test.schema.json", []byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		payload string
		want    []string // "pointer code"
	}{
		{"valid person", `{"applicant":{"familienname":"Köhler"},"data":{"art":"einzug","datum":"2026-12-01"}}`, nil},
		{"valid organisation", `{"applicant":{"firma":"ACME GmbH"},"data":{"art":"auszug","datum":"2026-12-01","personen":[{}],"anzahl":2}}`, nil},
		{"missing members", `{}`, []string{"/applicant required", "/data required"}},
		{"unknown member", `{"applicant":{"firma":"x"},"data":{"art":"einzug","datum":"2026-12-01"},"extra":1}`, []string{"/extra unknown_field"}},
		{"closest alternative", `{"applicant":{"familienname":"Sehr-Langer-Name"},"data":{"art":"einzug","datum":"2026-12-01"}}`,
			[]string{"/applicant/familienname too_long"}},
		{"enum format pattern range", `{"applicant":{"firma":"x"},"data":{"art":"umzug","datum":"01.12.2026","plz":"1234","personen":[],"anzahl":0}}`,
			[]string{"/data/anzahl out_of_range", "/data/art enum", "/data/datum format", "/data/personen too_short", "/data/plz pattern"}},
		{"type", `{"applicant":{"firma":"x"},"data":{"art":"einzug","datum":"2026-12-01","anzahl":"zwei"}}`, []string{"/data/anzahl type"}},
		{"number beyond math/big", `{"applicant":{"firma":"x"},"data":{"art":"einzug","datum":"2026-12-01","anzahl":1e100000000000,"personen":[{"n":-1E-100000000000}]}}`,
			[]string{"/data/anzahl invalid_number", "/data/personen/0/n invalid_number"}},
		{"large but exact number", `{"applicant":{"firma":"x"},"data":{"art":"einzug","datum":"2026-12-01","anzahl":1e400}}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			errs := ps.Validate(decode(t, c.payload))
			var got []string
			for _, e := range errs {
				got = append(got, e.Pointer+" "+e.Code)
				if e.Message == "" || e.MessageDE == "" {
					t.Errorf("%s: message missing in a language: %+v", e.Pointer, e)
				}
				for _, secret := range []string{"umzug", "01.12.2026", "1234", "zwei", "Sehr-Langer-Name"} {
					if strings.Contains(e.Message, secret) || strings.Contains(e.MessageDE, secret) {
						t.Errorf("%s: message quotes the submitted value %q: %q", e.Pointer, secret, e.Message)
					}
				}
			}
			if strings.Join(got, "; ") != strings.Join(c.want, "; ") {
				t.Fatalf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestCompilePayloadSchemaRejectsBrokenSchema(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`{`, `{"type": 5}`} {
		if _, err := CompilePayloadSchema("broken", bytes.NewBufferString(s).Bytes()); err == nil {
			t.Errorf("schema %s compiled", s)
		}
	}
}

func TestLocalized(t *testing.T) {
	t.Parallel()
	e := FieldError{Message: "is required", MessageDE: "ist erforderlich"}
	if e.Localized("de") != "ist erforderlich" || e.Localized("en") != "is required" {
		t.Fatalf("Localized: %q %q", e.Localized("de"), e.Localized("en"))
	}
	if (FieldError{Message: "x"}).Localized("de") != "x" {
		t.Fatal("missing translation must fall back to English")
	}
}

// TestDINFormats: the formats din91379-a to -c check the NFC form of a
// string against the DIN SPEC 91379 datatype and name the character, not the text.
func TestDINFormats(t *testing.T) {
	t.Parallel()
	ps, err := CompilePayloadSchema("din.schema.json", []byte(`{"type": "object", "properties": {
		"a": {"type": "string", "format": "din91379-a"},
		"b": {"type": "string", "format": "din91379-b"},
		"c": {"type": "string", "format": "din91379-c"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		payload string
		want    string // "pointer code" or ""
	}{
		{`{"a": "Mu\u0308ller-Łódź", "b": "Am Mühlbach 3 & 4", "c": "Zeile 1\nZeile 2"}`, ""},
		{`{"c": "Иван"}`, "/c unsupported_character"},
		{`{"a": "Müller2"}`, "/a unsupported_character"},
		{`{"b": "Иван"}`, "/b unsupported_character"},
	} {
		errs := ps.Validate(decode(t, c.payload))
		var got string
		for _, e := range errs {
			got = e.Pointer + " " + e.Code
			if !strings.Contains(e.Message, "U+") || !strings.Contains(e.MessageDE, "Datentyp") || strings.Contains(e.Message, "Иван") {
				t.Errorf("%s: message %q / %q", c.payload, e.Message, e.MessageDE)
			}
		}
		if len(errs) > 1 || got != c.want {
			t.Errorf("%s: got %+v, want %q", c.payload, errs, c.want)
		}
	}
}
