// Command gen reads the official XSD of the DIN SPEC 91379 datatypes
// (din-norm-91379-datatypes.xsd, XÖV library) and writes tables_gen.go: for
// each of the datatypes A to E, the single characters its pattern allows, as
// ranges, and the sequences of a base character and what may follow it
// (combining marks, in one case a further letter).
//
// It understands exactly the regular-expression subset the official file
// uses: one top-level group repeated with "*", whose branches are characters
// (literal or escaped), character classes of characters and ranges, and
// concatenations of characters and groups of alternatives. Anything else is
// an error, so that a new version of the file cannot be misread silently.
//
// Usage (see go:generate in the package):
//
//	go run ./internal/gen -xsd $AMTSBOTE_XOEV_SCHEMAS/xbau-2.6/xsd_dev/din-norm-91379-datatypes.xsd
package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	xsdPath := flag.String("xsd", "", "path of din-norm-91379-datatypes.xsd")
	out := flag.String("o", "tables_gen.go", "output file")
	flag.Parse()
	if *xsdPath == "" {
		log.Fatal("gen: -xsd is required")
	}
	src, err := os.ReadFile(*xsdPath)
	if err != nil {
		log.Fatalf("gen: %v (is AMTSBOTE_XOEV_SCHEMAS set to the directory of the official XÖV schemas?)", err)
	}
	types, err := readPatterns(src)
	if err != nil {
		log.Fatalf("gen: %s: %v", *xsdPath, err)
	}
	code, err := generate(sourceName(*xsdPath), types)
	if err != nil {
		log.Fatalf("gen: %v", err)
	}
	if err := os.WriteFile(*out, code, 0o644); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

// sourceName is the path of the schema for the header of the generated file:
// its last three elements (xbau-2.6/xsd_dev/din-norm-91379-datatypes.xsd),
// which do not depend on where the official schemas are kept.
func sourceName(path string) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	if len(parts) > 3 {
		parts = parts[len(parts)-3:]
	}
	return strings.Join(parts, "/")
}

// datatypes are the simple types read, in the order of the Datatype constants.
var datatypes = []string{"datatypeA", "datatypeB", "datatypeC", "datatypeD", "datatypeE"}

// table is what one datatype's pattern allows.
type table struct {
	name    string
	version string     // the version attribute of the schema
	singles [][2]rune  // sorted, disjoint, non-adjacent ranges of single characters
	seqs    [][]string // sequences of two or more characters, grouped by first character, sorted
}

// readPatterns returns the pattern of each of the datatypes.
func readPatterns(src []byte) ([]table, error) {
	dec := xml.NewDecoder(bytes.NewReader(src))
	const xsNS = "http://www.w3.org/2001/XMLSchema"
	patterns := map[string]string{}
	var version, current string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Space != xsNS {
				continue
			}
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Space == "" && a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch el.Name.Local {
			case "schema":
				version = attr("version")
			case "simpleType":
				current = attr("name")
			case "pattern":
				if _, dup := patterns[current]; dup {
					return nil, fmt.Errorf("%s: more than one pattern", current)
				}
				patterns[current] = attr("value")
			}
		case xml.EndElement:
			if el.Name.Space == xsNS && el.Name.Local == "simpleType" {
				current = ""
			}
		}
	}
	var tables []table
	for _, name := range datatypes {
		p, ok := patterns[name]
		if !ok {
			return nil, fmt.Errorf("no pattern for %s", name)
		}
		t, err := compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		t.name, t.version = name, version
		tables = append(tables, t)
	}
	return tables, nil
}

// node is a parsed regular expression: a set of alternatives, each a
// sequence of strings (a finite language), or a class of ranges.
type node struct {
	ranges [][2]rune // a character class (or a single character)
	alts   []*node   // alternatives (group or branch)
	seq    []*node   // concatenation
}

// parser parses the XSD regular-expression subset of the official patterns.
type parser struct {
	s   []rune
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("pattern at character %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

func (p *parser) more() bool { return p.pos < len(p.s) }
func (p *parser) peek() rune { return p.s[p.pos] }
func (p *parser) next() rune { r := p.s[p.pos]; p.pos++; return r }
func (p *parser) accept(r rune) bool {
	if p.more() && p.peek() == r {
		p.pos++
		return true
	}
	return false
}

// regExp = branch ('|' branch)*
func (p *parser) regExp() (*node, error) {
	var alts []*node
	for {
		b, err := p.branch()
		if err != nil {
			return nil, err
		}
		alts = append(alts, b)
		if !p.accept('|') {
			return &node{alts: alts}, nil
		}
	}
}

// branch = piece*, where a piece is an atom without quantifier (a "*" is
// allowed only on the top-level group, see compile).
func (p *parser) branch() (*node, error) {
	var seq []*node
	for p.more() && p.peek() != '|' && p.peek() != ')' {
		a, err := p.atom()
		if err != nil {
			return nil, err
		}
		if p.more() && strings.ContainsRune("*+?{", p.peek()) {
			return nil, p.errorf("quantifier %q is not supported inside the top-level group", p.peek())
		}
		seq = append(seq, a)
	}
	if len(seq) == 0 {
		return nil, p.errorf("empty branch")
	}
	return &node{seq: seq}, nil
}

func (p *parser) atom() (*node, error) {
	switch r := p.next(); r {
	case '(':
		n, err := p.regExp()
		if err != nil {
			return nil, err
		}
		if !p.accept(')') {
			return nil, p.errorf("missing )")
		}
		return n, nil
	case '[':
		return p.class()
	case '\\':
		c, err := p.escape()
		if err != nil {
			return nil, err
		}
		return &node{ranges: [][2]rune{{c, c}}}, nil
	case '.', '^', '$', ']', '{', '}', '?', '*', '+':
		if r == '^' || r == '$' { // ordinary characters in XSD regexes
			return &node{ranges: [][2]rune{{r, r}}}, nil
		}
		return nil, p.errorf("%q is not supported", r)
	default:
		return &node{ranges: [][2]rune{{r, r}}}, nil
	}
}

// escape reads a single-character escape after the backslash.
func (p *parser) escape() (rune, error) {
	if !p.more() {
		return 0, p.errorf("pattern ends with a backslash")
	}
	switch r := p.next(); r {
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case '\\', '|', '.', '?', '*', '+', '(', ')', '{', '}', '-', '[', ']', '^':
		return r, nil
	default:
		return 0, p.errorf("escape \\%c is not supported", r)
	}
}

// class reads a positive character class of characters and ranges, after "[".
func (p *parser) class() (*node, error) {
	if p.more() && p.peek() == '^' {
		return nil, p.errorf("negated character classes are not supported")
	}
	var ranges [][2]rune
	char := func() (rune, error) {
		if !p.more() {
			return 0, p.errorf("missing ]")
		}
		switch r := p.next(); r {
		case '\\':
			return p.escape()
		case '[', ']':
			return 0, p.errorf("%q in a character class is not supported", r)
		default:
			return r, nil
		}
	}
	for !p.accept(']') {
		lo, err := char()
		if err != nil {
			return nil, err
		}
		hi := lo
		if p.accept('-') {
			if hi, err = char(); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, p.errorf("range U+%04X-U+%04X is reversed", lo, hi)
			}
		}
		ranges = append(ranges, [2]rune{lo, hi})
	}
	if len(ranges) == 0 {
		return nil, p.errorf("empty character class")
	}
	return &node{ranges: ranges}, nil
}

// maxStrings bounds the expansion of a branch into strings.
const maxStrings = 1 << 16

// strings expands a node that is not a top-level class into its finite language.
func (n *node) strings() ([]string, error) {
	switch {
	case n.ranges != nil:
		var out []string
		for _, r := range n.ranges {
			for c := r[0]; c <= r[1]; c++ {
				out = append(out, string(c))
			}
		}
		return out, nil
	case n.alts != nil:
		var out []string
		for _, a := range n.alts {
			s, err := a.strings()
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	default:
		out := []string{""}
		for _, part := range n.seq {
			s, err := part.strings()
			if err != nil {
				return nil, err
			}
			if len(out)*len(s) > maxStrings {
				return nil, errors.New("pattern expands to too many strings")
			}
			var next []string
			for _, a := range out {
				for _, b := range s {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, nil
	}
}

// compile parses pattern, which must have the form (b1|b2|...)*, into a table.
func compile(pattern string) (table, error) {
	p := &parser{s: []rune(pattern)}
	if !p.accept('(') {
		return table{}, p.errorf("pattern must be a group repeated with *")
	}
	top, err := p.regExp()
	if err != nil {
		return table{}, err
	}
	if !p.accept(')') || !p.accept('*') || p.more() {
		return table{}, p.errorf("pattern must be a group repeated with * and nothing else")
	}
	var singles [][2]rune
	seqs := map[rune][]string{}
	for _, branch := range top.alts {
		// A branch that is one character class contributes ranges directly.
		if len(branch.seq) == 1 && branch.seq[0].ranges != nil {
			singles = append(singles, branch.seq[0].ranges...)
			continue
		}
		strs, err := branch.strings()
		if err != nil {
			return table{}, err
		}
		for _, s := range strs {
			rs := []rune(s)
			if len(rs) == 1 {
				singles = append(singles, [2]rune{rs[0], rs[0]})
				continue
			}
			seqs[rs[0]] = append(seqs[rs[0]], s)
		}
	}
	t := table{singles: mergeRanges(singles)}
	bases := make([]rune, 0, len(seqs))
	for b := range seqs {
		bases = append(bases, b)
	}
	slices.Sort(bases)
	for _, b := range bases {
		s := seqs[b]
		slices.Sort(s)
		t.seqs = append(t.seqs, slices.Compact(s))
	}
	return t, nil
}

// mergeRanges sorts ranges and merges overlapping and adjacent ones.
func mergeRanges(rs [][2]rune) [][2]rune {
	slices.SortFunc(rs, func(a, b [2]rune) int { return int(a[0] - b[0]) })
	var out [][2]rune
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1]+1 {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// generate writes the Go source of the tables.
func generate(srcName string, tables []table) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/gen from the official XÖV schema %s (version %s); DO NOT EDIT.\n\n", srcName, tables[0].version)
	b.WriteString("package din91379\n\n")
	fmt.Fprintf(&b, "// SourceVersion is the version attribute of the schema the tables were generated from.\n")
	fmt.Fprintf(&b, "const SourceVersion = %q\n\n", tables[0].version)
	b.WriteString("var tables = [...]table{\n")
	for i, t := range tables {
		fmt.Fprintf(&b, "\t%s: { // %s\n", string(rune('A'+i)), t.name)
		b.WriteString("\t\tsingles: []runeRange{\n")
		for _, r := range t.singles {
			fmt.Fprintf(&b, "\t\t\t{0x%04X, 0x%04X},\n", r[0], r[1])
		}
		b.WriteString("\t\t},\n")
		b.WriteString("\t\tsequences: map[rune][]string{\n")
		for _, group := range t.seqs {
			base := []rune(group[0])[0]
			fmt.Fprintf(&b, "\t\t\t0x%04X: {", base)
			for j, s := range group {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(quoteRunes(s))
			}
			b.WriteString("},\n")
		}
		b.WriteString("\t\t},\n")
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

// quoteRunes writes s as a Go string literal of \u escapes, readable whatever
// the combining marks do to an editor's rendering.
func quoteRunes(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r < 0x80 && r >= 0x20 && r != '"' && r != '\\' {
			b.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			fmt.Fprintf(&b, `\U%08X`, r)
			continue
		}
		fmt.Fprintf(&b, `\u%04X`, r)
	}
	b.WriteByte('"')
	return b.String()
}
