package xoevtest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the -update flag of every test binary that imports xoevtest:
// registered here once, so that the mapper packages do not each declare it.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Updating reports whether the tests run with -update, which rewrites the
// golden files (see Golden) instead of only comparing with them.
func Updating() bool { return *update }

// Golden compares got with the golden file at path and returns the file's
// content. A difference is a test error naming the first differing line
// (LineDiff); a missing file is fatal. Only with -update is got first written
// to path, so that a golden file changes only on request.
func Golden(t testing.TB, path string, got []byte) []byte {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update after checking the change):\n%s",
			path, LineDiff(string(want), string(got)))
	}
	return want
}

// LineDiff describes the first line in which want and got differ, for the
// failure message of a golden or determinism test.
func LineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference in line %d:\nwant: %q\n got: %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}

// WriteSchema writes a self-contained XSD (one without imports, such as an
// embedded schema of Amtsbote's own) as name into a temporary directory and
// returns its path for Check and Validate. Unlike LocalSchema it needs no
// official schemas. For an XSD that imports the XÖV library, use LocalSchema.
func WriteSchema(t testing.TB, name string, xsd []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, xsd, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
