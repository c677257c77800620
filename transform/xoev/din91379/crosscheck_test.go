package din91379

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// officialXSD is the official schema below xoevtest.SchemaDir.
const officialXSD = "xbau-2.6/xsd_dev/din-norm-91379-datatypes.xsd"

// TestCheckAgreesWithXmllint validates a few thousand random strings, built
// from allowed characters and sequences and from forbidden characters and
// marks, with xmllint against the official datatypes, and compares each
// verdict with Check's.
func TestCheckAgreesWithXmllint(t *testing.T) {
	t.Parallel()
	xsd := xoevtest.Schema(t, officialXSD)
	bin := xoevtest.Xmllint(t)

	rng := rand.New(rand.NewPCG(91379, 2022))
	var samples []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			samples = append(samples, s)
		}
	}
	for dt := A; dt <= E; dt++ {
		for range 600 {
			s := randomText(rng, &tables[dt])
			add(s)
			add(norm.NFC.String(s)) // the form Check is meant for
		}
	}

	// One element per sample and datatype, one per line, every character
	// as a character reference so that line ends survive XML parsing.
	dir := t.TempDir()
	schema := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:din="urn:xoev-de:kosit:xoev:datentyp:din-91379_2022-08">
  <xs:import namespace="urn:xoev-de:kosit:xoev:datentyp:din-91379_2022-08" schemaLocation="%s"/>
  <xs:element name="t">
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">
        <xs:element name="A" type="din:datatypeA"/>
        <xs:element name="B" type="din:datatypeB"/>
        <xs:element name="C" type="din:datatypeC"/>
        <xs:element name="D" type="din:datatypeD"/>
        <xs:element name="E" type="din:datatypeE"/>
      </xs:choice>
    </xs:complexType>
  </xs:element>
</xs:schema>
`, fileURI(t, xsd))
	schemaPath := filepath.Join(dir, "test.xsd")
	if err := os.WriteFile(schemaPath, []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	type item struct {
		s  string
		dt Datatype
	}
	var doc bytes.Buffer
	doc.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<t>\n")
	line := 2
	items := map[int]item{} // by line
	for _, s := range samples {
		for dt := A; dt <= E; dt++ {
			line++
			items[line] = item{s, dt}
			fmt.Fprintf(&doc, "<%v>", dt)
			for _, r := range s {
				fmt.Fprintf(&doc, "&#x%X;", r)
			}
			fmt.Fprintf(&doc, "</%v>\n", dt)
		}
	}
	doc.WriteString("</t>\n")
	docPath := filepath.Join(dir, "samples.xml")
	if err := os.WriteFile(docPath, doc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	cmd := exec.Command(bin, "--noout", "--nonet", "--schema", schemaPath, docPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, isExit := err.(*exec.ExitError); err != nil && (!isExit || ee.ExitCode() != 3) {
		t.Fatalf("xmllint: %v\n%.2000s", err, out.Bytes())
	}
	// Each invalid element is reported as "FILE:LINE: element X: Schemas
	// validity error : Element 'X': [facet 'pattern'] ..."; the reports quote
	// the pattern and the value, which may contain line breaks themselves.
	invalid := map[int]bool{}
	report := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(docPath) +
		`:(\d+): element ([A-E]): Schemas validity error : Element '[A-E]': \[facet 'pattern'\]`)
	reports := report.FindAllStringSubmatch(out.String(), -1)
	if n := strings.Count(out.String(), "Schemas validity error"); n != len(reports) {
		t.Fatalf("xmllint reported %d errors, %d of them about patterns:\n%.3000s", n, len(reports), out.Bytes())
	}
	for _, m := range reports {
		n, _ := strconv.Atoi(m[1])
		it, known := items[n]
		if !known || it.dt.String() != m[2] {
			t.Fatalf("xmllint reports line %d (element %s), which holds no sample of that datatype", n, m[2])
		}
		invalid[n] = true
	}

	counts := [5][2]int{} // valid, invalid per datatype, by xmllint
	mismatches := 0
	for n, it := range items {
		want := !invalid[n]
		if want {
			counts[it.dt][0]++
		} else {
			counts[it.dt][1]++
		}
		if got, pos, r := Check(it.s, it.dt); got != want {
			mismatches++
			if mismatches <= 20 {
				t.Errorf("Check(%+q, %v) = %v (%d, %U), xmllint says %v", it.s, it.dt, got, pos, r, want)
			}
		}
	}
	for dt := A; dt <= E; dt++ {
		// The samples must exercise both outcomes, or the comparison says little.
		if counts[dt][0] < 100 || counts[dt][1] < 100 {
			t.Errorf("datatype %v: %d valid, %d invalid samples; want at least 100 of each", dt, counts[dt][0], counts[dt][1])
		}
	}
	t.Logf("%d samples × 5 datatypes; valid/invalid per datatype: %v; %d mismatches", len(samples), counts, mismatches)
}

// TestCheckPosition checks the reported position on random strings: the
// text before it belongs to the datatype, the text up to and including it
// does not, and the character is the one at that position.
func TestCheckPosition(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for dt := A; dt <= E; dt++ {
		for range 2000 {
			s := randomText(rng, &tables[dt])
			ok, pos, r := Check(s, dt)
			if ok {
				continue
			}
			runes := []rune(s)
			if pos < 1 || pos > len(runes) || runes[pos-1] != r {
				t.Fatalf("Check(%+q, %v) = %d, %U: not the character at that position", s, dt, pos, r)
			}
			if ok, _, _ := Check(string(runes[:pos-1]), dt); !ok {
				t.Errorf("Check(%+q, %v) = %d: the text before is not valid", s, dt, pos)
			}
			if ok, p2, r2 := Check(string(runes[:pos]), dt); ok || p2 != pos || r2 != r {
				t.Errorf("Check(%+q, %v) = %d, %U; its prefix gives %v, %d, %U", s, dt, pos, r, ok, p2, r2)
			}
		}
	}
}

// randomText returns a string of 1 to 10 items: mostly characters and
// sequences that t allows, sometimes something forbidden or forbidden in
// this place.
func randomText(rng *rand.Rand, t *table) string {
	var b strings.Builder
	for range 1 + rng.IntN(10) {
		switch p := rng.IntN(100); {
		case p < 60: // an allowed single character
			rr := t.singles[rng.IntN(len(t.singles))]
			b.WriteRune(rr.lo + rng.Int32N(rr.hi-rr.lo+1))
		case p < 78: // an allowed sequence
			b.WriteString(randomSequence(rng, t))
		case p < 82: // a sequence of another datatype, or cut short
			other := &tables[rng.IntN(len(tables))]
			seq := []rune(randomSequence(rng, other))
			b.WriteString(string(seq[:1+rng.IntN(len(seq))]))
		case p < 86: // a base letter with a combining mark it may not have
			b.WriteRune(rune('A' + rng.IntN(26)))
			b.WriteRune(0x0300 + rng.Int32N(0x70))
		case p < 88: // a combining mark alone
			b.WriteRune(0x0300 + rng.Int32N(0x70))
		default: // any other character that XML 1.0 can carry
			b.WriteRune(noise[rng.IntN(len(noise))](rng))
		}
	}
	return b.String()
}

func randomSequence(rng *rand.Rand, t *table) string {
	bases := make([]rune, 0, len(t.sequences))
	for base := range t.sequences {
		bases = append(bases, base)
	}
	// Map order is random; pick by the rng, deterministically, from the sorted bases.
	slices.Sort(bases)
	seqs := t.sequences[bases[rng.IntN(len(bases))]]
	return seqs[rng.IntN(len(seqs))]
}

// noise are generators of characters most of which no datatype allows.
var noise = []func(*rand.Rand) rune{
	func(rng *rand.Rand) rune { return 0x0370 + rng.Int32N(0x90) },  // Greek
	func(rng *rand.Rand) rune { return 0x0400 + rng.Int32N(0x60) },  // Cyrillic
	func(rng *rand.Rand) rune { return 0x2000 + rng.Int32N(0x270) }, // punctuation, super- and subscripts, currency, symbols
	func(rng *rand.Rand) rune { return 0x1F600 + rng.Int32N(0x50) }, // emoji
	func(rng *rand.Rand) rune { return 0x0080 + rng.Int32N(0x30) },  // C1 controls, Latin-1 punctuation
	func(rng *rand.Rand) rune { return 0x0180 + rng.Int32N(0x180) }, // Latin Extended-B, IPA, modifier letters
	func(rng *rand.Rand) rune { return 0x1E00 + rng.Int32N(0x100) }, // Latin Extended Additional
	func(rng *rand.Rand) rune { return []rune{'\t', '\n', '\r', 0xFFFD, 0xAD, 0x7F}[rng.IntN(6)] },
	func(rng *rand.Rand) rune { // anywhere in the BMP that XML allows
		for {
			r := 0x20 + rng.Int32N(0xFFFE-0x20)
			if utf8.ValidRune(r) {
				return r
			}
		}
	},
}

// fileURI returns path as a file URI for schemaLocation.
func fileURI(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.ToSlash(abs)
}

// TestASCIIFastPath: Check's bits for ASCII decide every ASCII character,
// alone and around others, as the tables' ranges (single) and the
// sequences (match) do.
func TestASCIIFastPath(t *testing.T) {
	t.Parallel()
	for dt := range tables {
		for c := rune(0); c < utf8.RuneSelf; c++ {
			for _, s := range []string{string(c), "Ab" + string(c) + "ä", string(c) + "\u0301", "K" + string(c)} {
				wantOK, wantPos, wantR := tables[dt].match(s)
				ok, pos, r := Check(s, Datatype(dt))
				if ok != wantOK || pos != wantPos || r != wantR {
					t.Errorf("Check(%q, %v) = %v %d %U, want %v %d %U", s, Datatype(dt), ok, pos, r, wantOK, wantPos, wantR)
				}
			}
			if got := asciiSingles[dt][c>>6]&(1<<(c&63)) != 0; got != tables[dt].single(c) {
				t.Errorf("%v: bit of %U is %v", Datatype(dt), c, got)
			}
		}
	}
}
