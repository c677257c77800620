package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

// parseKeyOutput returns the key and key_hash lines of portal-key's output.
func parseKeyOutput(t *testing.T, out string) (key, hash string) {
	t.Helper()
	for line := range strings.Lines(out) {
		name, value, _ := strings.Cut(strings.TrimSpace(line), ": ")
		switch name {
		case "key":
			key = value
		case "key_hash":
			hash = value
		default:
			t.Fatalf("unexpected output line %q", line)
		}
	}
	return key, hash
}

func TestPortalKeyGeneratesKeyAndHash(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3 {
		var stdout, stderr bytes.Buffer
		if code := runPortalKey(nil, strings.NewReader(""), rand.Reader, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, stderr %s", code, stderr.String())
		}
		key, hash := parseKeyOutput(t, stdout.String())
		if raw, err := base64.RawURLEncoding.DecodeString(key); err != nil || len(raw) != portalKeyBytes {
			t.Fatalf("key %q: %d bytes, %v; want %d random bytes in base64url", key, len(raw), err, portalKeyBytes)
		}
		if seen[key] {
			t.Fatalf("key %q generated twice", key)
		}
		seen[key] = true
		if strings.Contains(stderr.String(), key) {
			t.Error("the key is repeated on stderr")
		}
		// The hash authenticates the key through the configuration.
		cfg := &config.Config{Portals: []config.Portal{
			{ID: "other", KeyHash: config.NewSecret(config.HashKey("other-key"))},
			{ID: "portal", KeyHash: config.NewSecret(hash)},
		}}
		if p, use := cfg.PortalByKey(key, time.Now()); use != config.KeyCurrent || p.ID != "portal" {
			t.Fatalf("PortalByKey(generated key) = %v, %v; want portal", p, use)
		}
		if _, use := cfg.PortalByKey(key+"x", time.Now()); use != config.KeyNone {
			t.Fatal("a different key authenticates")
		}
	}
}

func TestPortalKeyHashOfExistingKey(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := runPortalKey([]string{"--hash"}, strings.NewReader("demo-key\n"), rand.Reader, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	const want = "sha256:c48a01f49fd0f2cc404bc3cbbc80e91457a3d41bb429a695243de4c61794155c\n"
	if stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
}

func TestPortalKeyUsage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args  []string
		stdin string
		want  int
	}{
		{[]string{"extra"}, "", 2},
		{[]string{"--nope"}, "", 2},
		{[]string{"--hash"}, "", 1},
		{[]string{"--hash"}, "\n", 1},
	} {
		var stdout, stderr bytes.Buffer
		if code := runPortalKey(tt.args, strings.NewReader(tt.stdin), rand.Reader, &stdout, &stderr); code != tt.want {
			t.Errorf("%v with stdin %q: exit %d, want %d", tt.args, tt.stdin, code, tt.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q, want nothing", tt.args, stdout.String())
		}
	}
}
