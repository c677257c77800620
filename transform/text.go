package transform

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeText returns s in Unicode Normalization Form C, the form in which
// every text is written into a message.
func NormalizeText(s string) string {
	return norm.NFC.String(s)
}

// CheckText checks one text value of a submission, located by pointer, and
// returns at most one FieldError: the first offending character. value must
// be valid UTF-8 (CodeInvalidUTF8 otherwise); its NFC form (see
// NormalizeText) may contain no control characters other than tab, line
// feed and carriage return (CodeControlCharacter: U+0000–U+001F, U+007F–U+009F),
// and only letters, marks, numbers, punctuation, symbols and space separators
// of the Latin, Common and Inherited scripts, without the symbols of the
// categories So and Sk above U+024F, which are mostly emoji and pictographs
// (CodeUnsupportedCharacter). The message names the character as U+XXXX and
// its position, counted in characters of the NFC form from 1, but never the
// text itself.
//
// The repertoire approximates DIN SPEC 91379 String.Latin+; it is decided here
// alone, so that the exact tables can replace it in one place.
func CheckText(pointer, value string) []FieldError {
	if !utf8.ValidString(value) {
		pos := 1
		for i := 0; i < len(value); pos++ {
			r, w := utf8.DecodeRuneInString(value[i:])
			if r == utf8.RuneError && w == 1 {
				return []FieldError{{
					Pointer: pointer,
					Code:    CodeInvalidUTF8,
					Message: fmt.Sprintf("invalid UTF-8: byte 0x%02X at position %d", value[i], pos),
				}}
			}
			i += w
		}
	}
	pos := 0
	for _, r := range NormalizeText(value) {
		pos++
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r <= 0x1F || (r >= 0x7F && r <= 0x9F):
			return []FieldError{{
				Pointer: pointer,
				Code:    CodeControlCharacter,
				Message: fmt.Sprintf("control character U+%04X at position %d is not permitted", r, pos),
			}}
		case !permittedRune(r):
			return []FieldError{{
				Pointer: pointer,
				Code:    CodeUnsupportedCharacter,
				Message: fmt.Sprintf("character U+%04X at position %d is not permitted (Latin characters only)", r, pos),
			}}
		}
	}
	return nil
}

// permittedRune reports whether r, not a control character, belongs to the
// repertoire of CheckText.
func permittedRune(r rune) bool {
	if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) {
		return false // format, private use, unassigned, surrogates, line and paragraph separators
	}
	if !unicode.In(r, unicode.Latin, unicode.Common, unicode.Inherited) {
		return false // Cyrillic, Greek, CJK, Arabic, ...
	}
	if r > 0x024F && unicode.In(r, unicode.So, unicode.Sk) {
		return false // emoji, pictographs, emoji modifiers
	}
	return true
}
