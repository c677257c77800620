package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/config"
)

// The scenarios that run the built binary (serve, signals, outages, crash
// loops) live in the e2e package; the tests here call run in-process.

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "amtsbote ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: exit %d, %q", code, errOut.String())
	}
}

// TestDeployExampleIsValid keeps deploy/amtsbote.example.yaml true: with the
// environment it documents, check-config accepts it.
func TestDeployExampleIsValid(t *testing.T) {
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "gewerbeportal.key_hash"), []byte(config.HashKey("k2")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)) // as encryption-key generate prints it
	if err := os.WriteFile(filepath.Join(secrets, "encryption-k1.key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"smtp.password": "smtp-secret", "buergerportal.callback_secret": strings.Repeat("c", 40)} {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AMTSBOTE_DB_PASSWORD", "secret")
	t.Setenv("AMTSBOTE_BUERGERPORTAL_KEY_HASH", config.HashKey("k1"))
	t.Setenv("AMTSBOTE_SECRETS_DIR", secrets)
	t.Setenv("AMTSBOTE_DATABASE_URL", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"check-config", "../../deploy/amtsbote.example.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("check-config deploy/amtsbote.example.yaml: exit %d\n%s", code, errOut.String())
	}
}
