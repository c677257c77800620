package envelope_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// problem is the part of a FieldError the validation tests compare exactly.
type problem struct{ Pointer, Code string }

// nested returns n objects nested under the key "x", the innermost holding leaf.
func nested(n int, leaf any) map[string]any {
	v := leaf
	for range n {
		v = map[string]any{"x": v}
	}
	return v.(map[string]any)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	applicant := map[string]any{"vorname": "Jürgen", "familienname": "Größmann"}
	tests := []struct {
		name      string
		applicant map[string]any
		data      map[string]any
		want      []problem
	}{
		{
			name:      "valid",
			applicant: applicant,
			data: map[string]any{
				"art":          "einzug",
				"einzugsdatum": "2026-12-01",
				"wohnung":      map[string]any{"strasse": "Am Mühlbach", "hausnummer": "3a"},
				"meldepflichtige": []any{
					map[string]any{"vorname": "Sören", "familienname": "Köhler"},
				},
				"anzahl": json.Number("2"), "eigentuemer": nil, "bestaetigt": true,
			},
		},
		{name: "empty data", applicant: applicant, data: map[string]any{}},
		{
			name: "accepted Latin names", applicant: applicant,
			data: map[string]any{"namen": []any{"Dvořák", "Łódź", "Ærøskøbing", "Müller-Lüdenscheidt", "Straße", "Ame\u0301lie"}},
		},
		{
			name: "missing applicant and data",
			want: []problem{{"/applicant", transform.CodeRequired}, {"/data", transform.CodeRequired}},
		},
		{
			name: "empty applicant", applicant: map[string]any{}, data: map[string]any{},
			want: []problem{{"/applicant", transform.CodeRequired}},
		},
		{
			name: "pointer escaping", applicant: applicant,
			data: map[string]any{"a/b": "Иван", "m~n": "x\x00", "~1": "😀", "ok/~": "Straße"},
			want: []problem{
				{"/data/a~1b", transform.CodeUnsupportedCharacter},
				{"/data/m~0n", transform.CodeControlCharacter},
				{"/data/~01", transform.CodeUnsupportedCharacter},
			},
		},
		{
			name:      "nested pointers",
			applicant: map[string]any{"anschrift": map[string]any{"ort": "Мюнхен"}},
			data: map[string]any{"meldepflichtige": []any{
				map[string]any{"vorname": "Sören"},
				map[string]any{"vorname": "Zoë", "familienname": "Köhler\u0085"},
				"🏠",
			}},
			want: []problem{
				{"/applicant/anschrift/ort", transform.CodeUnsupportedCharacter},
				{"/data/meldepflichtige/1/familienname", transform.CodeControlCharacter},
				{"/data/meldepflichtige/2", transform.CodeUnsupportedCharacter},
			},
		},
		{
			name: "invalid utf-8", applicant: map[string]any{"name": "M\xfcller"}, data: map[string]any{},
			want: []problem{{"/applicant/name", transform.CodeInvalidUTF8}},
		},
		{
			name: "keys", applicant: applicant,
			data: map[string]any{
				"":                         "leer",
				strings.Repeat("ä", 128):   "längster erlaubter Schlüssel",
				strings.Repeat("ö", 129):   "zu lang",
				"ключ":                     "kyrillischer Schlüssel",
				"tab\tim Schlüssel":        "erlaubt wie im Text",
				"gruppe mit falschem Kind": map[string]any{"ключ": "x", "ok": "Иван"},
			},
			want: []problem{
				{"/data/", transform.CodeInvalidKey},
				{"/data/gruppe mit falschem Kind/ok", transform.CodeUnsupportedCharacter},
				{"/data/gruppe mit falschem Kind/ключ", transform.CodeInvalidKey},
				{"/data/" + strings.Repeat("ö", 129), transform.CodeInvalidKey},
				{"/data/ключ", transform.CodeInvalidKey},
			},
		},
		{
			// The members are ordered by raw key among equal NFC keys:
			// "e\u0301" (0x65...) comes before "\u00e9" (0xC3...), which is the duplicate.
			name: "duplicate keys after NFC", applicant: applicant,
			data: map[string]any{"e\u0301": "1", "\u00e9": "2"},
			want: []problem{{"/data/\u00e9", transform.CodeDuplicateKey}},
		},
		{
			name: "numbers", applicant: applicant,
			data: map[string]any{
				"ok": []any{json.Number("0"), json.Number("-0"), json.Number("12.50"), json.Number("1E-7"), json.Number("12345678901234567890")},
				"bad": []any{json.Number(""), json.Number("1."), json.Number("0x10"), json.Number(" 1"), json.Number("01"),
					json.Number("NaN")},
			},
			want: []problem{
				{"/data/bad/0", transform.CodeInvalidNumber},
				{"/data/bad/1", transform.CodeInvalidNumber},
				{"/data/bad/2", transform.CodeInvalidNumber},
				{"/data/bad/3", transform.CodeInvalidNumber},
				{"/data/bad/4", transform.CodeInvalidNumber},
				{"/data/bad/5", transform.CodeInvalidNumber},
			},
		},
		{
			name: "values of other Go types", applicant: map[string]any{"alter": 42}, data: map[string]any{"betrag": 12.5, "t": time.Time{}},
			want: []problem{
				{"/applicant/alter", transform.CodeType},
				{"/data/betrag", transform.CodeType},
				{"/data/t", transform.CodeType},
			},
		},
		{
			// data is level 1, so 15 objects below it make 16 levels.
			name: "deepest allowed nesting", applicant: applicant,
			data: nested(15, map[string]any{"blatt": "Straße"}),
		},
		{
			name: "too deep", applicant: applicant,
			data: nested(16, map[string]any{"blatt": "Иван"}),
			want: []problem{{"/data" + strings.Repeat("/x", 16), transform.CodeTooDeep}},
		},
		{
			name: "too deep in arrays", applicant: applicant,
			data: nested(14, map[string]any{"l": []any{[]any{"a"}}}),
			want: []problem{{"/data" + strings.Repeat("/x", 14) + "/l/0", transform.CodeTooDeep}},
		},
	}
	m := envelope.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mappertest.CheckProblems(t, m.Validate(transform.Submission{Applicant: tt.applicant, Data: tt.data}), tt.want)
		})
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	errs := envelope.New().Validate(transform.Submission{
		Applicant: map[string]any{"name": "Hallo 😀"},
		Data:      map[string]any{strings.Repeat("a", 129): "x", "k": nested(17, nil)},
	})
	want := []transform.FieldError{
		{
			Pointer: "/applicant/name", Code: transform.CodeUnsupportedCharacter,
			Message:   "character U+1F600 at position 7 is not permitted (DIN SPEC 91379, datatype C)",
			MessageDE: "Zeichen U+1F600 an Position 7 ist nicht zulässig (DIN SPEC 91379, Datentyp C)",
		},
		{
			Pointer: "/data/" + strings.Repeat("a", 129), Code: transform.CodeInvalidKey,
			Message:   "object key has 129 characters, at most 128 are allowed",
			MessageDE: "Objektschlüssel hat 129 Zeichen, höchstens 128 sind zulässig",
		},
		{
			Pointer: "/data/k" + strings.Repeat("/x", 15), Code: transform.CodeTooDeep,
			Message:   "objects and arrays nest deeper than 16 levels",
			MessageDE: "Objekte und Arrays sind tiefer als 16 Ebenen verschachtelt",
		},
	}
	if !slices.Equal(errs, want) {
		t.Errorf("Validate:\n got %q\nwant %q", errs, want)
	}
}
