package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const includeMain = `include: ["conf.d/*.yaml"]
procedures:
  - id: meldewesen.wohnungsgeberbestaetigung
portals:
  - id: buergerportal
    key_hash: "sha256:24a521e41e2d1ba32f4fd551377a11cf5f5f954f51217662bdb4d3f6708c103c"
    tenants: ["*"]
    procedures: ["*"]
`

func includeTenant(id, ags string) string {
	return fmt.Sprintf(`tenants:
  - id: %s
    name: Gemeinde %s
    ags: "%s"
    behoerdenkennung: psw:%s
    procedures:
      - procedure: meldewesen.wohnungsgeberbestaetigung
        destinations:
          - id: fachverfahren
            type: filedrop
            filedrop:
              dir: /tmp/drop
`, id, id, ags, ags)
}

func TestLoadFilesInclude(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"/etc/amtsbote/amtsbote.yaml":     includeMain,
		"/etc/amtsbote/conf.d/b.yaml":     includeTenant("bdorf", "09162002"),
		"/etc/amtsbote/conf.d/a.yaml":     includeTenant("astadt", "09162001") + "procedures:\n  - id: hund.steuer\n",
		"/etc/amtsbote/conf.d/c.yml":      "server: {}\n", // not matched by the pattern
		"/etc/amtsbote/conf.d/empty.yaml": "",
	}
	glob := func(pattern string) ([]string, error) { return globOf(files, pattern) }
	cfg, err := loadFiles("/etc/amtsbote/amtsbote.yaml", noEnv, filesOf(files), glob)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tn := range cfg.Tenants {
		ids = append(ids, tn.ID)
	}
	if got := strings.Join(ids, ","); got != "astadt,bdorf" {
		t.Errorf("tenants = %s, want astadt,bdorf (file name order)", got)
	}
	if _, ok := cfg.Procedure("hund.steuer"); !ok {
		t.Error("procedure of an included file missing")
	}
}

func TestLoadFilesIncludeProblems(t *testing.T) {
	t.Parallel()
	bad := strings.Replace(includeTenant("cstadt", "09162003"), "name: Gemeinde cstadt", "name: \"\"", 1)
	files := map[string]string{
		"/c/main.yaml":     includeMain,
		"/c/conf.d/a.yaml": includeTenant("astadt", "09162001"),
		"/c/conf.d/b.yaml": includeTenant("astadt", "09162002"),
		"/c/conf.d/c.yaml": bad,
		"/c/conf.d/d.yaml": "server:\n  listen: :1\n",
		"/c/conf.d/e.yaml": "tenants:\n  - id: ${UNSET_VARIABLE}\n",
	}
	glob := func(pattern string) ([]string, error) { return globOf(files, pattern) }
	_, err := loadFiles("/c/main.yaml", noEnv, filesOf(files), glob)
	if err == nil {
		t.Fatal("no error")
	}
	// Reading problems come first and alone (a stage with problems ends the load).
	for _, want := range []string{"/c/conf.d/d.yaml: line 1", "only tenants, portals and procedures", "/c/conf.d/e.yaml: line 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	delete(files, "/c/conf.d/d.yaml")
	delete(files, "/c/conf.d/e.yaml")
	_, err = loadFiles("/c/main.yaml", noEnv, filesOf(files), glob)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`/c/conf.d/b.yaml: tenants[0].id: duplicate "astadt", first at /c/conf.d/a.yaml: tenants[0].id`,
		`/c/conf.d/c.yaml: tenants[0].name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseRefusesInclude(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(includeMain), noEnv, noFiles)
	if paths := problemPaths(t, err); len(paths) != 1 || paths[0] != "include" {
		t.Errorf("paths = %v, want [include]", paths)
	}
}

// globOf matches pattern against the names of files, like filepath.Glob.
func globOf(files map[string]string, pattern string) ([]string, error) {
	var out []string
	for name := range files {
		if ok, err := filepath.Match(pattern, name); err != nil {
			return nil, err
		} else if ok {
			out = append(out, name)
		}
	}
	return out, nil
}
