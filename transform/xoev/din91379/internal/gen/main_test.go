package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// The committed tables are what the generator makes of the official file.
func TestGeneratedTablesUpToDate(t *testing.T) {
	t.Parallel()
	const rel = "xbau-2.6/xsd_dev/din-norm-91379-datatypes.xsd"
	src, err := os.ReadFile(xoevtest.Schema(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := readPatterns(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := generate(rel, tables)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../tables_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("tables_gen.go is stale: run go generate ./transform/xoev/din91379 with AMTSBOTE_XOEV_SCHEMAS set")
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	tb, err := compile("([a-c]|\\.|x(\u0301|y\u0302)|[d-e])*")
	if err != nil {
		t.Fatal(err)
	}
	if want := [][2]rune{{'.', '.'}, {'a', 'e'}}; !equalRanges(tb.singles, want) {
		t.Errorf("singles = %v, want %v", tb.singles, want)
	}
	if len(tb.seqs) != 1 || strings.Join(tb.seqs[0], " ") != "xy\u0302 x\u0301" {
		t.Errorf("sequences = %q, want [[xy\u0302 x\u0301]] (byte order)", tb.seqs)
	}
}

func TestCompileRejectsUnsupportedSyntax(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		`[a-z]*`,         // no top-level group
		`([a-z])`,        // not repeated
		`([a-z])+`,       // other quantifier
		`([a-z]+)*`,      // quantifier inside
		`([^a])*`,        // negated class
		`(\p{L})*`,       // category escape
		`(.)*`,           // wildcard
		`(a|)*`,          // empty branch
		`([z-a])*`,       // reversed range
		`(a(b|c)*`,       // unbalanced
		`([a-z])*` + "x", // trailing text
	} {
		if _, err := compile(p); err == nil {
			t.Errorf("compile(%q) succeeded, want an error", p)
		}
	}
}

func equalRanges(a, b [][2]rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
