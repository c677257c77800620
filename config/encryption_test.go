package config

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseEncryption(t *testing.T) {
	t.Parallel()
	key := func(b byte) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), 32))) }
	parse := func(section string, env, files map[string]string) (*Config, error) {
		return Parse(withHash(minimalYAML+"database:\n  encryption:\n"+section), envOf(env), filesOf(files))
	}

	cfg, err := parse(`
    current: k2026
    keys:
      - {id: k2025, key: {env: OLD_KEY}}
      - {id: k2026, key: {file: /run/secrets/amtsbote.key}}
`, map[string]string{"OLD_KEY": key('a')}, map[string]string{"/run/secrets/amtsbote.key": key('b') + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Database.Encryption
	if e == nil || e.Current != "k2026" || len(e.Keys) != 2 {
		t.Fatalf("encryption = %+v", e)
	}
	if b, err := e.Keys[1].Bytes(); err != nil || string(b) != strings.Repeat("b", 32) {
		t.Fatalf("key k2026 = %q, %v", b, err)
	}

	for _, tc := range []struct {
		name, section string
		want          []string
	}{
		{"empty section", "    current: k1\n    keys: []\n",
			[]string{"database.encryption.keys", "database.encryption.current"}},
		{"current names no key", "    current: k9\n    keys: [{id: k1, key: " + key('a') + "}]\n",
			[]string{"database.encryption.current"}},
		{"short key and bad id", "    current: K1\n    keys: [{id: K1, key: " + base64.StdEncoding.EncodeToString([]byte("short")) + "}]\n",
			[]string{"database.encryption.keys[0].id", "database.encryption.keys[0].key", "database.encryption.current"}},
		{"not base64", "    current: k1\n    keys: [{id: k1, key: \"not base64!\"}]\n",
			[]string{"database.encryption.keys[0].key"}},
		{"duplicate id, missing key", "    current: k1\n    keys: [{id: k1, key: " + key('a') + "}, {id: k1}]\n",
			[]string{"database.encryption.keys[1].id", "database.encryption.keys[1].key"}},
		{"unset file", "    current: k1\n    keys: [{id: k1, key: {file: /nope}}]\n",
			[]string{"database.encryption.keys[0].key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.section, nil, nil)
			got := problemPaths(t, err)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("problems at %v, want %v\n%v", got, tc.want, err)
			}
			if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("short"))) || strings.Contains(err.Error(), "not base64!") {
				t.Fatalf("problem text shows the key: %v", err)
			}
		})
	}
}
