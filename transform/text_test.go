package transform_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/transform"
)

func TestCheckText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		check     func(pointer, value string) []transform.FieldError // CheckText when nil
		value     string
		code      string // "" when valid
		message   string // checked when not ""
		messageDE string // checked when not ""
	}{
		{name: "empty", value: ""},
		{name: "ascii", value: "Hauptstraße 5a, 12345 Musterstadt"},
		{name: "umlauts", value: "Müller-Lüdenscheidt"},
		{name: "eszett", value: "Straße"},
		{name: "czech", value: "Dvořák"},
		{name: "polish", value: "Łódź"},
		{name: "danish", value: "Ærøskøbing"},
		{name: "turkish", value: "Çelik"},
		{name: "N circumflex as a sequence", value: "N\u0302"},
		{name: "decomposed e acute", value: "Rene\u0301"},
		{name: "tab newline carriage return", value: "Zeile 1\r\nZeile 2\tEnde"},
		{name: "latin-1 symbols", value: "© ® ° § ¶ ´ ¨ ¯ ¸"},
		{name: "currency and punctuation", value: "12,50 € O’Neill ‡ ¿¡ «»"},
		{name: "no-break space", value: "Müller\u00a0Lüdenscheidt"},
		{
			// Datatype C has no typographic quotes and dashes: DIN SPEC
			// 91379 counts them among the non-normative characters.
			name: "en dash", value: "12 – 14", code: transform.CodeUnsupportedCharacter,
			message:   "character U+2013 at position 4 is not permitted (DIN SPEC 91379, datatype C)",
			messageDE: "Zeichen U+2013 an Position 4 ist nicht zulässig (DIN SPEC 91379, Datentyp C)",
		},
		{name: "german quotation marks", value: "„zitiert“", code: transform.CodeUnsupportedCharacter},
		{
			name: "nul", value: "a\x00b", code: transform.CodeControlCharacter,
			message:   "control character U+0000 at position 2 is not permitted",
			messageDE: "Steuerzeichen U+0000 an Position 2 ist nicht zulässig",
		},
		{name: "escape", value: "\x1b[31m", code: transform.CodeControlCharacter},
		{name: "delete", value: "x\x7f", code: transform.CodeControlCharacter},
		{
			name: "c1 control", value: "ab\u0085", code: transform.CodeControlCharacter,
			message: "control character U+0085 at position 3 is not permitted",
		},
		{
			name: "cyrillic", value: "Иван", code: transform.CodeUnsupportedCharacter,
			message:   "character U+0418 at position 1 is not permitted (DIN SPEC 91379, datatype C)",
			messageDE: "Zeichen U+0418 an Position 1 ist nicht zulässig (DIN SPEC 91379, Datentyp C)",
		},
		{name: "cyrillic a looking latin", value: "P\u0430ul", code: transform.CodeUnsupportedCharacter},
		{name: "greek", value: "Ωmega", code: transform.CodeUnsupportedCharacter},
		{name: "cjk", value: "東京", code: transform.CodeUnsupportedCharacter},
		{name: "arabic", value: "محمد", code: transform.CodeUnsupportedCharacter},
		{
			name: "emoji", value: "Hallo 😀", code: transform.CodeUnsupportedCharacter,
			message: "character U+1F600 at position 7 is not permitted (DIN SPEC 91379, datatype C)",
		},
		{name: "heart", value: "\u2764", code: transform.CodeUnsupportedCharacter},
		{name: "emoji modifier", value: "x\U0001F3FB", code: transform.CodeUnsupportedCharacter},
		{name: "zero width space", value: "a\u200bb", code: transform.CodeUnsupportedCharacter},
		{name: "private use", value: "\ue000", code: transform.CodeUnsupportedCharacter},
		{name: "line separator", value: "a\u2028b", code: transform.CodeUnsupportedCharacter},
		{name: "replacement character", value: "\ufffd", code: transform.CodeUnsupportedCharacter},
		{
			name: "combining mark not listed after its base", value: "Q\u0301", code: transform.CodeUnsupportedCharacter,
			message:   "combining character U+0301 at position 2 is not permitted after the preceding character (DIN SPEC 91379, datatype C)",
			messageDE: "kombinierendes Zeichen U+0301 an Position 2 ist nach dem vorangehenden Zeichen nicht zulässig (DIN SPEC 91379, Datentyp C)",
		},
		{
			name: "invalid utf-8", value: "Mü\xffller", code: transform.CodeInvalidUTF8,
			message:   "invalid UTF-8: byte 0xFF at position 3",
			messageDE: "ungültiges UTF-8: Byte 0xFF an Position 3",
		},
		{name: "encoded surrogate", value: "a\xed\xa0\x80", code: transform.CodeInvalidUTF8},
		{name: "truncated sequence", value: "Stra\xc3", code: transform.CodeInvalidUTF8},
		{
			// Positions count characters of the NFC form: "e"+U+0301 is one.
			name: "position after normalisation", value: "Rene\u0301 Иван", code: transform.CodeUnsupportedCharacter,
			message: "character U+0418 at position 6 is not permitted (DIN SPEC 91379, datatype C)",
		},

		// CheckName: datatype B.
		{name: "name", check: transform.CheckName, value: "Dvořák-Łódź Ærøskøbing Çelik N\u0302"},
		{name: "street with house number", check: transform.CheckName, value: "Hauptstraße 5a"},
		{name: "company name", check: transform.CheckName, value: "Müller & Söhne GmbH (€)"},
		{name: "decomposed name", check: transform.CheckName, value: "Mu\u0308ller"},
		{
			name: "name with line feed", check: transform.CheckName, value: "Anna\nMaria", code: transform.CodeControlCharacter,
			message: "control character U+000A at position 5 is not permitted",
		},
		{name: "name with tab", check: transform.CheckName, value: "Anna\tMaria", code: transform.CodeControlCharacter},
		{
			name: "name with no-break space", check: transform.CheckName, value: "Anna\u00a0Maria", code: transform.CodeUnsupportedCharacter,
			message:   "character U+00A0 at position 5 is not permitted (DIN SPEC 91379, datatype B)",
			messageDE: "Zeichen U+00A0 an Position 5 ist nicht zulässig (DIN SPEC 91379, Datentyp B)",
		},
		{name: "cyrillic name", check: transform.CheckName, value: "Иванов", code: transform.CodeUnsupportedCharacter},
		{name: "invalid utf-8 name", check: transform.CheckName, value: "\xc3", code: transform.CodeInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			check := tt.check
			if check == nil {
				check = transform.CheckText
			}
			got := check("/data/x~1y", tt.value)
			if tt.code == "" {
				if got != nil {
					t.Fatalf("check(%q) = %+v, want no errors", tt.value, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("check(%q) = %+v, want exactly one error", tt.value, got)
			}
			if got[0].Pointer != "/data/x~1y" || got[0].Code != tt.code {
				t.Errorf("check(%q) = %+v, want pointer /data/x~1y, code %s", tt.value, got[0], tt.code)
			}
			if tt.message != "" && got[0].Message != tt.message {
				t.Errorf("message = %q, want %q", got[0].Message, tt.message)
			}
			if tt.messageDE != "" && got[0].MessageDE != tt.messageDE {
				t.Errorf("German message = %q, want %q", got[0].MessageDE, tt.messageDE)
			}
			if got[0].MessageDE == "" || got[0].Message == got[0].MessageDE {
				t.Errorf("German message = %q, want a translation of %q", got[0].MessageDE, got[0].Message)
			}
			if got[0].Localized("de") != got[0].MessageDE || got[0].Localized("en") != got[0].Message {
				t.Errorf("Localized does not choose the language")
			}
		})
	}
}

func TestNormalizeText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"Rene\u0301", "Ren\u00e9"},
		{"Mu\u0308ller", "M\u00fcller"},
		{"M\u00fcller", "M\u00fcller"},
		{"\u212b", "\u00c5"}, // ANGSTROM SIGN is canonically equivalent to Å
	}
	for _, tt := range tests {
		if got := transform.NormalizeText(tt.in); got != tt.want {
			t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendPointer(t *testing.T) {
	t.Parallel()
	tests := []struct{ base, token, want string }{
		{"", "data", "/data"},
		{"/data", "einzugsdatum", "/data/einzugsdatum"},
		{"/data", "a/b", "/data/a~1b"},
		{"/data", "m~n", "/data/m~0n"},
		{"/data", "~/", "/data/~0~1"},
		{"/data", "~1", "/data/~01"},
		{"/data", "", "/data/"},
		{"/data/liste", "0", "/data/liste/0"},
	}
	for _, tt := range tests {
		if got := transform.AppendPointer(tt.base, tt.token); got != tt.want {
			t.Errorf("AppendPointer(%q, %q) = %q, want %q", tt.base, tt.token, got, tt.want)
		}
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	err := &transform.ValidationError{Errors: []transform.FieldError{
		{Pointer: "/applicant", Code: transform.CodeRequired, Message: "secret 1"},
		{Pointer: "/data/a", Code: transform.CodeType, Message: "secret 2"},
		{Pointer: "/data/b", Code: transform.CodeType},
		{Pointer: "/data/c", Code: transform.CodeType},
	}}
	want := `invalid submission: 4 problem(s): "/applicant" required, "/data/a" type, "/data/b" type, ...`
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
