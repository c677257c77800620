package transform

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/amtsbote/amtsbote/transform/xoev/din91379"
)

// NormalizeText returns s in Unicode Normalization Form C, the form in which
// every text is written into a message.
func NormalizeText(s string) string {
	return norm.NFC.String(s)
}

// CheckText checks one text value of a submission, located by pointer, and
// returns at most one FieldError: the first offending character. value must
// be valid UTF-8 (CodeInvalidUTF8 otherwise), and its NFC form (see
// NormalizeText) must belong to DIN SPEC 91379 datatype C, all normative
// characters of String.Latin+ with tab, line feed and carriage return
// (din91379.C, exactly as the official XÖV schema defines it). A control
// character is reported as CodeControlCharacter, any other character
// outside the datatype, or a combining mark that the datatype does not list
// after its base character, as CodeUnsupportedCharacter.
//
// The message, in English and German (MessageDE), names the character as
// U+XXXX and its position, counted in characters of the NFC form from 1,
// but never the text itself.
func CheckText(pointer, value string) []FieldError {
	return checkDIN91379(pointer, value, din91379.C)
}

// CheckName is CheckText for names, of persons as well as of places,
// streets and legal persons: the NFC form of value must belong to DIN SPEC
// 91379 datatype B (din91379.B), which has no tab or line breaks and fewer
// symbols than datatype C. The errors are those of CheckText. An empty
// value passes; whether a name is required is the caller's decision.
func CheckName(pointer, value string) []FieldError {
	return checkDIN91379(pointer, value, din91379.B)
}

func checkDIN91379(pointer, value string, dt din91379.Datatype) []FieldError {
	if !utf8.ValidString(value) {
		pos := 1
		for i := 0; i < len(value); pos++ {
			r, w := utf8.DecodeRuneInString(value[i:])
			if r == utf8.RuneError && w == 1 {
				return []FieldError{{
					Pointer:   pointer,
					Code:      CodeInvalidUTF8,
					Message:   fmt.Sprintf("invalid UTF-8: byte 0x%02X at position %d", value[i], pos),
					MessageDE: fmt.Sprintf("ungültiges UTF-8: Byte 0x%02X an Position %d", value[i], pos),
				}}
			}
			i += w
		}
	}
	ok, pos, r := din91379.Check(NormalizeText(value), dt)
	if ok {
		return nil
	}
	fe := FieldError{Pointer: pointer, Code: CodeUnsupportedCharacter}
	switch {
	case r <= 0x1F || (r >= 0x7F && r <= 0x9F):
		fe.Code = CodeControlCharacter
		fe.Message = fmt.Sprintf("control character U+%04X at position %d is not permitted", r, pos)
		fe.MessageDE = fmt.Sprintf("Steuerzeichen U+%04X an Position %d ist nicht zulässig", r, pos)
	case unicode.Is(unicode.Mn, r):
		fe.Message = fmt.Sprintf("combining character U+%04X at position %d is not permitted after the preceding character (DIN SPEC 91379, datatype %v)", r, pos, dt)
		fe.MessageDE = fmt.Sprintf("kombinierendes Zeichen U+%04X an Position %d ist nach dem vorangehenden Zeichen nicht zulässig (DIN SPEC 91379, Datentyp %v)", r, pos, dt)
	default:
		fe.Message = fmt.Sprintf("character U+%04X at position %d is not permitted (DIN SPEC 91379, datatype %v)", r, pos, dt)
		fe.MessageDE = fmt.Sprintf("Zeichen U+%04X an Position %d ist nicht zulässig (DIN SPEC 91379, Datentyp %v)", r, pos, dt)
	}
	return []FieldError{fe}
}
