package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
	"github.com/amtsbote/amtsbote/transform/xschule"
)

// TestSchuelerOnlineDemo: the demo accepts a Schüler Online enrolment (202),
// drops an XSchule message valid against its XSD, and refuses an invalid
// one with a 422 problem document pointing at the fields.
func TestSchuelerOnlineDemo(t *testing.T) {
	t.Parallel()
	xsd := xoevtest.LocalSchema(t, "xschule-anmeldung.xsd", xschule.Schema)
	dir := t.TempDir()
	p := start(t, dir, []string{"AMTSBOTE_DEMO_PORTAL_KEY=demo-key"})
	body := readFile(t, "../testdata/submissions/schule.schueleranmeldung.json")
	id := p.accept(t, "demo-key", "", body)
	st := p.awaitStatus(t, "demo-key", id, "delivered", 10*time.Second)
	d := destination(t, st)
	drop := filepath.Join(dir, "amtsbote-data", "drop", "musterstadt", xschule.Procedure, d["message_id"].(string)+".xml")
	msg := readFile(t, drop)
	xoevtest.Validate(t, xsd, msg)
	for _, want := range []string{"<xschule:schule.anmeldung.0001 ", "<xschule:sorgeberechtigter nummer=\"2\">", "<code>gymnasium</code>", "<xschule:geburtsdatum>2016-03-14<"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("dropped message lacks %q", want)
		}
	}

	// A minor without Sorgeberechtigte and with a Cyrillic name: 422 at both fields.
	bad := strings.Replace(string(body), `"familienname": "Özdemir-Nguyễn",
      "vornamen"`, `"familienname": "Иванова",
      "vornamen"`, 1)
	from, to := strings.Index(bad, `"sorgeberechtigte"`), strings.Index(bad, `"aktuelleSchule"`)
	if from < 0 || to < from || bad == string(body) {
		t.Fatal("the example changed: adapt the test")
	}
	bad = bad[:from] + bad[to:]
	code, resp := p.post(t, "demo-key", "", []byte(bad))
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("invalid enrolment: %d %v", code, resp)
	}
	// The schema's problem first; the rules run only on a payload that passes it.
	if got := toJSON(resp); !strings.Contains(got, `"/data/schueler/familienname"`) || !strings.Contains(got, "unsupported_character") || strings.Contains(got, "Иванова") {
		t.Errorf("problem document %s: want /data/schueler/familienname unsupported_character, without the value", got)
	}
	bad = strings.Replace(bad, "Иванова", "Ivanova", 1)
	code, resp = p.post(t, "demo-key", "", []byte(bad))
	if code != http.StatusUnprocessableEntity || !strings.Contains(toJSON(resp), `"/data/sorgeberechtigte"`) {
		t.Errorf("minor without Sorgeberechtigte: %d %v", code, resp)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
}

// copyDir copies the regular files below src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeclarativeProcedureDir: a procedure directory named by
// procedures[].dir (relative to the configuration file) serves
// submissions; a broken mapping or a golden output that no longer matches
// fails check-config with file, line, pointer or diff, and serve refuses to
// start with the same reasons.
func TestDeclarativeProcedureDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proc := filepath.Join(dir, "procedures", "wgb")
	copyDir(t, "../transform/declarative/testdata/wohnungsgeberbestaetigung", proc)
	text := strings.Replace(fmt.Sprintf(retryConfig, dir, config.HashKey("k")),
		"    name: Wohnungsgeberbestätigung\n", "    name: Wohnungsgeberbestätigung\n    dir: procedures/wgb\n", 1)
	cfg := writeConfig(t, dir, text)
	if code, out, errOut := cli(t, dir, "check-config", cfg); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("check-config: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	p := start(t, dir, nil, "--config", cfg)
	id := p.accept(t, "k", "", readFile(t, "../testdata/submissions/meldewesen.wohnungsgeberbestaetigung-minimal.json"))
	st := p.awaitStatus(t, "k", id, "delivered", 10*time.Second)
	msg := readFile(t, filepath.Join(dir, "drop", "musterstadt", xmeld.Procedure, destination(t, st)["message_id"].(string)+".xml"))
	xoevtest.Validate(t, xoevtest.LocalSchema(t, "wohnungsgeberbestaetigung.xsd", xmeld.Schema), msg)
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}

	mapping := filepath.Join(proc, "mapping.yaml")
	original := string(readFile(t, mapping))
	for _, c := range []struct {
		name  string
		edit  func() error
		wants []string
	}{
		{"pointer the schema does not know", func() error {
			return os.WriteFile(mapping, []byte(strings.Replace(original, "value: ./strasse}", "value: ./strase}", 1)), 0o644)
		}, []string{"mapping.yaml:", "./strase", `no member "strase"`}},
		{"expression that does not compile", func() error {
			return os.WriteFile(mapping, []byte(strings.Replace(original, `if: data.art == "einzug"`, `if: data.art == `, 1)), 0o644)
		}, []string{"mapping.yaml:", "expression"}},
		{"template that uses itself", func() error {
			return os.WriteFile(mapping, []byte(strings.Replace(original, "    - {element: xmeld:ort, value: ./ort}", "    - {element: xmeld:ort, value: ./ort}\n    - {use: anschrift}", 1)), 0o644)
		}, []string{"mapping.yaml:", "uses itself", "loop"}},
		{"golden output differs", func() error {
			return os.WriteFile(mapping, []byte(strings.Replace(original, "xmeld:hausnummer, value: ./hausnummer", "xmeld:hausnummer, value: ./adresszusatz", 1)), 0o644)
		}, []string{"example maximal: FAIL", "-      <xmeld:hausnummer>3a</xmeld:hausnummer>", "+      <xmeld:hausnummer>Hinterhaus, 2. OG links</xmeld:hausnummer>"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.edit(); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := cli(t, dir, "check-config", cfg)
			if code != 1 {
				t.Fatalf("check-config: exit %d, want 1\n%s", code, errOut)
			}
			for _, w := range c.wants {
				if !strings.Contains(errOut, w) {
					t.Errorf("check-config output lacks %q:\n%s", w, errOut)
				}
			}
			code, _, errOut = run(t, dir, nil, "", "serve", "--config", cfg, "--listen", freeAddr(t))
			if code != 1 || !strings.Contains(errOut, c.wants[0]) {
				t.Errorf("serve: exit %d, want 1 naming %q:\n%s", code, c.wants[0], errOut)
			}
		})
	}
}
