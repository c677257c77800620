package din91379_test

import (
	"fmt"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/din91379"
)

// verdict is the expected result of Check for one datatype: "" when the
// text belongs to it, else the position and character reported.
type verdict struct {
	pos int
	r   rune
}

var ok = verdict{}

func bad(pos int, r rune) verdict { return verdict{pos, r} }

func TestCheck(t *testing.T) {
	t.Parallel()
	all := func(v verdict) [5]verdict { return [5]verdict{v, v, v, v, v} }
	tests := []struct {
		name string
		s    string
		want [5]verdict // for A, B, C, D, E
	}{
		{"empty", "", all(ok)},
		{"umlauts", "Müller-Lüdenscheidt Öztürk Ärger", all(ok)},
		{"eszett", "Strauß ẞ", all(ok)},
		{"czech", "Dvořák", all(ok)},
		{"polish", "Łódź", all(ok)},
		{"danish", "Ærøskøbing", all(ok)},
		{"turkish", "Çelik Işık Ğ", all(ok)},
		{"vietnamese", "Nguyễn Thị Ánh", all(ok)},
		{"apostrophe", "O’Brien d'Artagnan", all(ok)},
		{"N circumflex, no precomposed form", "N\u0302oël", all(ok)},
		{"L ring below macron", "L\u0325\u0304", all(ok)},
		{"K combining double macron below H", "K\u035FHan", all(ok)},
		{"sequence after a precomposed base", "Ḳ\u0304", all(ok)},
		{
			"digits are no part of names", "Hauptstraße 5a",
			[5]verdict{bad(13, '5'), ok, ok, ok, ok},
		},
		{
			"euro sign", "12 €",
			[5]verdict{bad(1, '1'), ok, ok, ok, ok},
		},
		{
			"tab and line breaks in C and E only", "Zeile 1\r\nZeile 2",
			[5]verdict{bad(7, '1'), bad(8, '\r'), ok, bad(8, '\r'), ok},
		},
		{
			"tab", "a\tb",
			[5]verdict{bad(2, '\t'), bad(2, '\t'), ok, bad(2, '\t'), ok},
		},
		{
			"greek in D and E only", "Ωmega",
			[5]verdict{bad(1, 'Ω'), bad(1, 'Ω'), bad(1, 'Ω'), ok, ok},
		},
		{
			"cyrillic in E only", "Иван",
			[5]verdict{bad(1, 'И'), bad(1, 'И'), bad(1, 'И'), bad(1, 'И'), ok},
		},
		{
			"cyrillic outside E", "Пётр", // ё U+0451 is not in E
			[5]verdict{bad(1, 'П'), bad(1, 'П'), bad(1, 'П'), bad(1, 'П'), bad(2, 'ё')},
		},
		{
			"german quotation marks in D and E only", "„Haus“",
			[5]verdict{bad(1, '„'), bad(1, '„'), bad(1, '„'), ok, ok},
		},
		{"en dash in none", "a – b", all(bad(3, '–'))},
		{"soft hyphen", "a\u00adb", all(bad(2, 0xAD))},
		{"emoji", "Hallo 😀", all(bad(7, '😀'))},
		{"nul", "a\x00b", all(bad(2, 0))},
		{"escape", "\x1b[31m", all(bad(1, 0x1b))},
		{"delete", "x\x7f", all(bad(2, 0x7f))},
		{"c1 control", "ab\u0085", all(bad(3, 0x85))},
		{"replacement character", "a\ufffd", all(bad(2, 0xfffd))},
		{"invalid utf-8 as replacement character", "ab\xff", all(bad(3, 0xfffd))},
		{"zero width joiner", "a\u200db", all(bad(2, 0x200d))},
		{"cjk", "東京", all(bad(1, '東'))},
		{"combining mark alone", "\u0302", all(bad(1, 0x0302))},
		{"combining mark not listed after its base", "Q\u0301", all(bad(2, 0x0301))},
		{"decomposed umlaut (not NFC)", "Mu\u0308ller", all(bad(3, 0x0308))},
		{"second mark not listed", "L\u0325\u0301", all(bad(3, 0x0301))},
		{"incomplete K sequence", "K\u035F", all(bad(2, 0x035F))},
		{"lowercase k sequence with uppercase H", "k\u035FH", all(bad(2, 0x035F))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for dt := din91379.A; dt <= din91379.E; dt++ {
				want := tt.want[dt]
				gotOK, pos, r := din91379.Check(tt.s, dt)
				if gotOK != (want == ok) || pos != want.pos || r != want.r {
					t.Errorf("Check(%+q, %v) = %v, %d, %U; want %v, %d, %U",
						tt.s, dt, gotOK, pos, r, want == ok, want.pos, want.r)
				}
			}
		})
	}
}

func TestDatatypeString(t *testing.T) {
	t.Parallel()
	for dt, want := range map[din91379.Datatype]string{
		din91379.A: "A", din91379.C: "C", din91379.E: "E", din91379.Datatype(7): "Datatype(7)",
	} {
		if got := dt.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	if got := din91379.B.XSDName(); got != "datatypeB" {
		t.Errorf("XSDName() = %q, want datatypeB", got)
	}
}

func TestCheckUnknownDatatypePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Check with Datatype(5) did not panic")
		}
	}()
	din91379.Check("a", din91379.Datatype(5))
}

func ExampleCheck() {
	for _, s := range []string{"Dvořák", "Ωmega", "Q\u0301"} {
		ok, pos, r := din91379.Check(s, din91379.B)
		fmt.Println(ok, pos, fmt.Sprintf("%U", r))
	}
	// Output:
	// true 0 U+0000
	// false 1 U+03A9
	// false 2 U+0301
}

func BenchmarkCheck(b *testing.B) {
	for _, s := range []string{"Hauptstraße 5a, 12345 Musterstadt", "N\u0302oël Ḳ\u0304 L\u0325\u0304"} {
		b.Run(fmt.Sprint(len(s)), func(b *testing.B) {
			for b.Loop() {
				din91379.Check(s, din91379.C)
			}
		})
	}
}
