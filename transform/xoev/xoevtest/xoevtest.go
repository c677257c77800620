// Package xoevtest validates generated XML against XSDs with xmllint, for tests.
// The official XÖV schemas are read from AMTSBOTE_XOEV_SCHEMAS (default
// ../shared/xoev next to the module); tests skip where the schemas or xmllint are
// absent, unless CI=true, where both are required and their absence fails.
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

// Check validates doc against the XSD at xsdPath and returns xmllint's complaint, if any.
func Check(t testing.TB, xsdPath string, doc []byte) error {
	t.Helper()
	cmd := exec.Command(Xmllint(t), "--noout", "--nonet", "--schema", xsdPath, "-")
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
// and returns its path for Check and Validate.
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
