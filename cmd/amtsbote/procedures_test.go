package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcedureTest: procedure test passes a procedure whose examples match,
// prints a diff and exits 1 when one differs, rewrites the golden output
// with --update, and refuses wrong usage with 2.
func TestProcedureTest(t *testing.T) {
	t.Parallel()
	src := "../../testdata/procedures/hundesteuer"
	dir := filepath.Join(t.TempDir(), "hundesteuer")
	for _, name := range []string{"procedure.yaml", "schema.json", "mapping.yaml", "examples/zwei-hunde.json", "examples/zwei-hunde.xml"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runArgs("procedure", "test", dir)
	if code != 0 || !strings.Contains(stdout, "ok (steuern.hundesteuer-anmeldung, 1 example(s), mapping version sha256:") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	golden := filepath.Join(dir, "examples", "zwei-hunde.xml")
	b, _ := os.ReadFile(golden)
	if err := os.WriteFile(golden, []byte(strings.Replace(string(b), "Bello", "Hasso", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runArgs("procedure", "test", dir)
	if code != 1 || !strings.Contains(stderr, "example zwei-hunde: FAIL") ||
		!strings.Contains(stderr, "-    <hst:name>Hasso</hst:name>") || !strings.Contains(stderr, "+    <hst:name>Bello</hst:name>") {
		t.Fatalf("changed golden file: exit %d, stderr %q", code, stderr)
	}
	code, stdout, _ = runArgs("procedure", "test", "--update", dir)
	if after, _ := os.ReadFile(golden); code != 0 || string(after) != string(b) || !strings.Contains(stdout, "updated ") {
		t.Fatalf("--update: exit %d, stdout %q", code, stdout)
	}
	if err := os.WriteFile(filepath.Join(dir, "mapping.yaml"), []byte("root: {element: 'x:'}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runArgs("procedure", "test", dir)
	if code != 1 || !strings.Contains(stderr, "does not compile") || !strings.Contains(stderr, "mapping.yaml:1:") {
		t.Fatalf("broken mapping: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"procedure"}, {"procedure", "run", dir}, {"procedure", "test"}, {"procedure", "test", dir, dir}} {
		if code, _, _ := runArgs(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
