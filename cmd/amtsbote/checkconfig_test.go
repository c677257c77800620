package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/config"
)

// xdomeaConfig is a configuration with one xdomea file drop; %[1]s is a
// directory, %[2]s the destination's xdomea block's extra lines.
const xdomeaConfig = `
database:
  path: %[1]s/amtsbote.db
procedures:
  - id: bau.baugenehmigung
    name: Bauantrag
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: bau.baugenehmigung
        destinations:
          - id: eakte
            type: filedrop
            format: xdomea
            filedrop:
              dir: %[1]s/drop
            xdomea:
              creator: amtsbote
%[2]s
portals:
  - id: demo-portal
    key_hash: %[3]s
    tenants: [musterstadt]
    procedures: [bau.baugenehmigung]
`

// TestCheckConfigXDomea: check-config refuses an Akte title outside DIN
// SPEC 91379, with its path, which xdomea.Build would refuse for every
// submission; and it warns, without failing, about a file drop without
// ablageort.
func TestCheckConfigXDomea(t *testing.T) {
	t.Parallel()
	const path = "tenants[0].procedures[0].destinations[0].xdomea."
	for _, tt := range []struct {
		name, extra string
		code        int
		want, not   string
	}{
		{"akte title outside DIN SPEC 91379", "              ablageort: '\\\\dms01\\import'\n              akte:\n                betreff: \"Bauanträge … {jahr}\"",
			1, path + "akte.betreff: character U+2026 at position 12 is not permitted", "ok"},
		{"no ablageort", "", 0, "warning: " + path + "ablageort: not set", ""},
		{"ablageort", "              ablageort: '\\\\dms01\\import'\n              akte:\n                betreff: \"Bauanträge {jahr}\"", 0, "", "warning: " + path},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "amtsbote.yaml")
			text := fmt.Sprintf(xdomeaConfig, dir, tt.extra, config.HashKey("k"))
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			code := checkConfig(context.Background(), []string{file}, &out, &errOut)
			all := out.String() + errOut.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, all)
			}
			if tt.want != "" && !strings.Contains(all, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, all)
			}
			if tt.not != "" && strings.Contains(all, tt.not) {
				t.Errorf("output has %q:\n%s", tt.not, all)
			}
		})
	}
}
