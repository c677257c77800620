// Package xoevtest validates generated XML against XSDs with xmllint, for tests.
// The official XÖV schemas are read from AMTSBOTE_XOEV_SCHEMAS (default
// ../shared/xoev next to the module); tests skip where the schemas or xmllint are
// absent, unless CI=true, where both are required and their absence fails.
//
// Official schemas are found with Schema, Amtsbote's own XSDs where they stand
// in the module with InPlace: every run of xmllint (Args) names the XÖV
// library below the official schemas with --path, so that an own XSD's
// imports by file name (xoev-code.xsd, din-norm-91379-datatypes.xsd) resolve
// without copying a schema. Check and Validate take one document, CheckFiles
// many files per run of xmllint.
package xoevtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// EnvSchemas names the directory of the official XÖV schemas (../shared/xoev).
const EnvSchemas = "AMTSBOTE_XOEV_SCHEMAS"

func required() bool { return os.Getenv("CI") == "true" }

// SchemaDir returns the directory of the official XÖV schemas.
func SchemaDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvSchemas)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "..", "shared", "xoev")
	}
	if _, err := os.Stat(dir); err != nil {
		if required() {
			t.Fatalf("XÖV schemas not found at %s (set %s): CI=true requires them", dir, EnvSchemas)
		}
		t.Skipf("XÖV schemas not found at %s (set %s): skipping schema validation", dir, EnvSchemas)
	}
	return dir
}

// Schema returns the path of a schema below SchemaDir, e.g.
// Schema(t, "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd").
func Schema(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SchemaDir(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("schema %s: %v", rel, err)
	}
	return p
}

// Xmllint returns the path of xmllint, skipping (or, in CI, failing) without it.
func Xmllint(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if required() {
			t.Fatalf("xmllint not found: CI=true requires it (apt-get install libxml2-utils)")
		}
		t.Skip("xmllint not found: skipping schema validation (apt-get install libxml2-utils)")
	}
	return bin
}

// Check validates doc against the XSD at xsdPath and returns xmllint's
// complaint, if any. Imports the XSD names by file name only, such as
// xoev-code.xsd, are found in LibraryDir (see Args).
func Check(t testing.TB, xsdPath string, doc []byte) error {
	t.Helper()
	cmd := exec.Command(Xmllint(t), append(Args(xsdPath), "-")...)
	cmd.Stdin = bytes.NewReader(doc)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xmllint: %w\n%s", err, out.Bytes())
	}
	return nil
}

// Validate fails the test when doc is not valid against the XSD at xsdPath.
func Validate(t testing.TB, xsdPath string, doc []byte) {
	t.Helper()
	if err := Check(t, xsdPath, doc); err != nil {
		t.Fatalf("%s\ndocument:\n%s", err, doc)
	}
}

// Args returns the arguments of xmllint that validate against the XSD at
// xsdPath, without the files to validate: --noout --nonet, --path naming
// LibraryDir below the official schemas (when they are present), so that an
// own XSD that imports xoev-code.xsd or din-norm-91379-datatypes.xsd by file
// name validates where it stands, and --schema xsdPath. The command a user
// runs is the same (docs/procedures.md, "Validating a delivered file").
func Args(xsdPath string) []string {
	args := []string{"--noout", "--nonet"}
	if lib := libraryPath(); lib != "" {
		args = append(args, "--path", lib)
	}
	return append(args, "--schema", xsdPath)
}

// libraryPath is LibraryDir below the official schemas, or "" where they
// are absent (then only self-contained XSDs validate).
func libraryPath() string {
	dir := os.Getenv(EnvSchemas)
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return ""
		}
		dir = filepath.Join(root, "..", "shared", "xoev")
	}
	lib := filepath.Join(dir, LibraryDir)
	if _, err := os.Stat(lib); err != nil {
		return ""
	}
	return lib
}

// InPlace returns the absolute path of one of Amtsbote's own XSDs in the
// module, rel relative to the module root (e.g.
// "transform/xmeld/wohnungsgeberbestaetigung.xsd"), for Check and Validate:
// the file is validated against where it stands, its imports of the XÖV
// library resolved through LibraryDir (Args). An XSD that imports the
// library needs the official schemas: without them the test skips (fails
// with CI=true), as with Schema.
func InPlace(t testing.TB, rel string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	xsd, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("own schema %s: %v", rel, err)
	}
	for _, m := range schemaLocation.FindAllSubmatch(xsd, -1) {
		file := string(m[1])
		if strings.ContainsAny(file, "/:") {
			continue
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), file)); err == nil {
			continue // beside the XSD in the module
		}
		lib := Schema(t, LibraryDir) // skips without the official schemas
		if _, err := os.Stat(filepath.Join(lib, file)); err != nil {
			t.Fatalf("%s imports %s, which is neither beside it nor in %s", rel, file, lib)
		}
	}
	return p
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// LibraryDir holds the XÖV library schemas (xoev-code.xsd,
// din-norm-91379-datatypes.xsd, ...) below SchemaDir; Amtsbote's own schemas
// import them by file name.
const LibraryDir = "xbau-2.6/xsd_dev"

// LocalSchema writes one of Amtsbote's own XSDs into a temporary directory, with
// each schemaLocation naming a file of LibraryDir pointed at the official copy,
// and returns its path for Check and Validate. InPlace validates against the
// file where it stands instead, as a user does.
func LocalSchema(t testing.TB, name string, xsd []byte) string {
	t.Helper()
	lib := Schema(t, LibraryDir)
	text := schemaLocation.ReplaceAllStringFunc(string(xsd), func(attr string) string {
		file := schemaLocation.FindStringSubmatch(attr)[1]
		abs := filepath.Join(lib, file)
		if strings.ContainsRune(file, '/') {
			return attr
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatalf("%s imports %s, which is not in %s", name, file, lib)
		}
		return `schemaLocation="` + filepath.ToSlash(abs) + `"`
	})
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var schemaLocation = regexp.MustCompile(`schemaLocation="([^"]+)"`)

// filesPerRun bounds the command line of one xmllint run in CheckFiles.
const filesPerRun = 200

// CheckFiles validates the files at paths against the XSD at xsdPath, many
// per run of xmllint, and returns xmllint's complaint for each file that is
// not valid; an empty map when all are. A file counts as valid only when
// xmllint reports it as "validates".
func CheckFiles(t testing.TB, xsdPath string, paths []string) map[string]string {
	t.Helper()
	bad := map[string]string{}
	for start := 0; start < len(paths); start += filesPerRun {
		chunk := paths[start:min(start+filesPerRun, len(paths))]
		cmd := exec.Command(Xmllint(t), append(Args(xsdPath), chunk...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		lines := strings.Split(out.String(), "\n")
		for _, p := range chunk {
			var complaint []string
			valid := false
			for _, l := range lines {
				switch {
				case l == p+" validates":
					valid = true
				case strings.HasPrefix(l, p+":") || l == p+" fails to validate":
					complaint = append(complaint, l)
				}
			}
			if !valid {
				if len(complaint) == 0 {
					complaint = append(complaint, fmt.Sprintf("xmllint: %v\n%s", err, out.Bytes()))
				}
				bad[p] = strings.Join(complaint, "\n")
			}
		}
	}
	return bad
}
