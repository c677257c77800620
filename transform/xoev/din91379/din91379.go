package din91379

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Datatype is one of the datatypes of DIN SPEC 91379.
type Datatype int

// The datatypes, as datatypeA to datatypeE of the official schema.
const (
	A Datatype = iota // names of natural persons
	B                 // other names: legal persons, places, streets
	C                 // general text: all normative characters, with tab and line breaks
	D                 // B plus the non-normative characters (e.g. Greek)
	E                 // C plus the non-normative characters (e.g. Greek, Cyrillic)
)

// String returns the datatype's letter, e.g. "C".
func (dt Datatype) String() string {
	if dt < A || dt > E {
		return fmt.Sprintf("Datatype(%d)", int(dt))
	}
	return string(rune('A' + dt))
}

// XSDName returns the name of the datatype's simple type in the official
// schema, e.g. "datatypeC".
func (dt Datatype) XSDName() string { return "datatype" + dt.String() }

// runeRange is a closed range of code points.
type runeRange struct{ lo, hi rune }

// table is what one datatype allows.
type table struct {
	singles   []runeRange       // sorted, disjoint: characters allowed on their own
	sequences map[rune][]string // by base character: the allowed sequences, base included
}

// Check reports whether s belongs to datatype dt. When it does not, pos is
// the position of the first character that is not allowed, counted in
// characters (code points) from 1, and r is that character: a character
// outside the datatype, or a combining mark (or a K/k U+035F sequence's
// second letter) after a base with which the datatype does not list it.
// Invalid UTF-8 is reported as U+FFFD at its position.
//
// Check compares code points exactly as the XSD pattern does and does not
// normalise: s must already be in Unicode Normalization Form C
// (norm.NFC.String(s)), the form the datatypes are defined for. A
// decomposed "A" U+0308 is rejected although its NFC form "Ä" is allowed.
// Check panics if dt is not one of A to E.
func Check(s string, dt Datatype) (ok bool, pos int, r rune) {
	if dt < A || dt > E {
		panic(fmt.Sprintf("din91379: unknown %v", dt))
	}
	t := &tables[dt]
	// Fast path: every character allowed on its own; ASCII by its bit.
	ascii := &asciiSingles[dt]
	simple := true
	for _, c := range s {
		if c < utf8.RuneSelf && ascii[c>>6]&(1<<(c&63)) != 0 {
			continue
		}
		if c < utf8.RuneSelf || !t.single(c) {
			simple = false
			break
		}
	}
	if simple {
		return true, 0, 0
	}
	return t.match(s)
}

// asciiSingles holds, by datatype, a bit for each ASCII character that
// single allows, for Check's fast path: most text is ASCII.
var asciiSingles = func() (out [len(tables)][2]uint64) {
	for dt := range tables {
		for c := rune(0); c < utf8.RuneSelf; c++ {
			if tables[dt].single(c) {
				out[dt][c>>6] |= 1 << (c & 63)
			}
		}
	}
	return out
}()

// single reports whether c is allowed on its own.
func (t *table) single(c rune) bool {
	i := sort.Search(len(t.singles), func(i int) bool { return t.singles[i].hi >= c })
	return i < len(t.singles) && t.singles[i].lo <= c
}

// match decides s like the pattern (token)*: reach[i] is whether the first
// i characters split into allowed single characters and sequences. The
// answer for an invalid s is the character after the longest such prefix:
// nothing allowed starts there.
func (t *table) match(s string) (bool, int, rune) {
	offsets := make([]int, 0, len(s)+1) // byte offset of each character, and len(s)
	for i := range s {
		offsets = append(offsets, i)
	}
	n := len(offsets)
	offsets = append(offsets, len(s))
	reach := make([]bool, n+1)
	reach[0] = true
	furthest := 0
	for i := 0; i < n; i++ {
		if !reach[i] {
			continue
		}
		furthest = i
		rest := s[offsets[i]:]
		c, _ := utf8.DecodeRuneInString(rest)
		if t.single(c) {
			reach[i+1] = true
		}
		for _, seq := range t.sequences[c] {
			if strings.HasPrefix(rest, seq) {
				reach[i+utf8.RuneCountInString(seq)] = true
			}
		}
	}
	if reach[n] {
		return true, 0, 0
	}
	c, _ := utf8.DecodeRuneInString(s[offsets[furthest]:])
	return false, furthest + 1, c
}
