package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFitConnectConfigIsValid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"decryption.jwk", "signing.jwk"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(`{"kty":"RSA"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path, err := writeGatewayConfig(dir, gatewayConfig{Dir: dir, ReceiverURL: "http://127.0.0.1:1/eingang",
		KeyHash: "sha256:" + strings.Repeat("0", 64), Concurrency: 16, Lease: time.Minute,
		Extra: fmt.Sprintf(fitconnectExtra, "http://127.0.0.1:2", dir, "127.0.0.1:3")})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkConfig(path); err != nil {
		t.Fatalf("generated configuration is invalid: %v", err)
	}
}

func TestFitConnectFachdaten(t *testing.T) {
	t.Parallel()
	got, err := fitconnectFachdaten(defaultBody)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["data"]; !ok || m["tenant"] != nil || m["procedure"] != nil {
		t.Errorf("Fachdaten %s", got)
	}
	if _, err := fitconnectFachdaten([]byte(`{"tenant":"x"}`)); err == nil {
		t.Error("Fachdaten without data accepted")
	}
}
