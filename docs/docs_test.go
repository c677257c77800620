package docs_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/amtsbote/amtsbote/config"
)

// pages returns the Markdown files whose links are checked: the top-level
// documents and every page of docs/ (not its testdata).
func pages(t *testing.T) []string {
	t.Helper()
	files := []string{"../README.md", "../CHANGELOG.md", "../BENCHMARKS.md"}
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no docs/*.md pages found")
	}
	return append(files, docs...)
}

func TestLinksResolve(t *testing.T) {
	t.Parallel()
	for _, file := range pages(t) {
		problems, err := checkLinks(file)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
}

// TestLinkCheckerFindsBrokenLinks runs the checker on a fixture with known
// broken links, so a checker that finds nothing cannot pass unnoticed.
func TestLinkCheckerFindsBrokenLinks(t *testing.T) {
	t.Parallel()
	problems, err := checkLinks("testdata/links/page.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`testdata/links/page.md:13: "missing.md": no such file`,
		`testdata/links/page.md:14: "other.md#no-such-heading": no heading or anchor "no-such-heading" in testdata/links/other.md`,
		`testdata/links/page.md:15: "#nowhere": no heading or anchor "nowhere" in testdata/links/page.md`,
		`testdata/links/page.md:16: "../links/missing-dir/x.md": no such file`,
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if problems, err := checkLinks("testdata/links/other.md"); err != nil || len(problems) > 0 {
		t.Errorf("other.md: %v %v, want no problems", problems, err)
	}
}

func TestSlug(t *testing.T) {
	t.Parallel()
	tests := []struct{ heading, want string }{
		{"Quick start", "quick-start"},
		{"`server`", "server"},
		{"`tenants` (at least one): the municipalities", "tenants-at-least-one-the-municipalities"},
		{"Large attachments (multipart/form-data)", "large-attachments-multipartform-data"},
		{"`GET /v1/submissions/{id}`", "get-v1submissionsid"},
		{"Größe und Übermittlung", "größe-und-übermittlung"},
		{"E-Akte (xdomea)", "e-akte-xdomea"},
		{"max_conns and [a link](x.md)", "max_conns-and-a-link"},
		{"Delivering while outcomes commit (`5758c37`)", "delivering-while-outcomes-commit-5758c37"},
	}
	for _, tt := range tests {
		if got := slug(tt.heading); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

var (
	// linkRE matches an inline link or image target: [text](target "title").
	linkRE = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// codeSpanRE matches inline code, whose brackets are no links.
	codeSpanRE = regexp.MustCompile("`+[^`]*`+")
	// headingRE matches an ATX heading.
	headingRE = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	// htmlAnchorRE matches an explicit anchor: <a id="x"> or <a name="x">.
	htmlAnchorRE = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	// inlineLinkRE matches a link in a heading, whose text counts for the slug.
	inlineLinkRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// line is one line of a Markdown file outside fenced code blocks.
type line struct {
	n    int
	text string
}

// prose reads a Markdown file and returns its lines outside fenced code blocks.
func prose(file string) ([]line, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []line
	var fence string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		s := sc.Text()
		trimmed := strings.TrimSpace(s)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		lines = append(lines, line{n, s})
	}
	return lines, sc.Err()
}

// anchors returns the anchors of a Markdown file: the slug of every
// heading (a repeated one with -1, -2, ...) and every explicit <a id>.
func anchors(file string) (map[string]bool, error) {
	lines, err := prose(file)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	seen := map[string]int{}
	for _, l := range lines {
		if m := headingRE.FindStringSubmatch(l.text); m != nil {
			s := slug(m[1])
			if k := seen[s]; k > 0 {
				set[fmt.Sprintf("%s-%d", s, k)] = true
			} else {
				set[s] = true
			}
			seen[s]++
		}
		for _, m := range htmlAnchorRE.FindAllStringSubmatch(l.text, -1) {
			set[m[1]] = true
		}
	}
	return set, nil
}

// slug is GitHub's anchor of a heading: the rendered text in lower case,
// without characters other than letters, marks, digits, connector
// punctuation ('_'), spaces and '-', spaces turned into '-'. Umlauts stay.
func slug(heading string) string {
	text := inlineLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-', unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r), unicode.IsNumber(r), unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkLinks returns a problem for every relative link of file whose target
// file does not exist or whose #anchor is no heading or explicit anchor of
// a Markdown target. Links to other schemes are not followed.
func checkLinks(file string) ([]string, error) {
	lines, err := prose(file)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, l := range lines {
		text := codeSpanRE.ReplaceAllString(l.text, "")
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if _, err := os.Stat(resolved); err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: %q: no such file", file, l.n, target))
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(resolved, ".md") {
				continue
			}
			set, err := anchors(resolved)
			if err != nil {
				return nil, err
			}
			if !set[anchor] {
				problems = append(problems, fmt.Sprintf("%s:%d: %q: no heading or anchor %q in %s",
					file, l.n, target, anchor, filepath.ToSlash(resolved)))
			}
		}
	}
	return problems, nil
}

func TestConfigurationReferenceNamesEveryKey(t *testing.T) {
	t.Parallel()
	missing, unknown, err := compareKeys("configuration.md", reflect.TypeOf(config.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range missing {
		t.Errorf("configuration.md does not document the key %s (a yaml key of package config)", k)
	}
	for _, k := range unknown {
		t.Errorf("configuration.md documents %s, which is no yaml key of package config", k)
	}
}

// fixtureConfig stands in for config.Config in the checker's own test.
type fixtureConfig struct {
	Server struct {
		Listen string `yaml:"listen"`
		TLS    *struct {
			CertFile string `yaml:"cert_file"`
		} `yaml:"tls"`
	} `yaml:"server"`
	Tenants []struct {
		ID      string          `yaml:"id"`
		Timeout config.Duration `yaml:"timeout"`
		Key     config.Secret   `yaml:"key"`
		Headers map[string]string
	} `yaml:"tenants"`
	Ignored string `yaml:"-"`
}

// TestConfigKeyCheckerFindsMismatches runs the comparison on a fixture
// reference that misses a key and names one that does not exist.
func TestConfigKeyCheckerFindsMismatches(t *testing.T) {
	t.Parallel()
	missing, unknown, err := compareKeys("testdata/configuration.md", reflect.TypeOf(fixtureConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"server.tls.cert_file"}; !slices.Equal(missing, want) {
		t.Errorf("missing = %v, want %v", missing, want)
	}
	if want := []string{"server.port", "tenants[].name"}; !slices.Equal(unknown, want) {
		t.Errorf("unknown = %v, want %v", unknown, want)
	}
}

// compareKeys returns the leaf keys of the struct type root that the
// reference file does not document, and the documented keys that are
// neither a leaf nor a section of root.
func compareKeys(file string, root reflect.Type) (missing, unknown []string, err error) {
	documented, err := referenceKeys(file)
	if err != nil {
		return nil, nil, err
	}
	if len(documented) == 0 {
		return nil, nil, fmt.Errorf("%s: no keys found; see the convention at the top of docs/configuration.md", file)
	}
	leaves, sections := map[string]bool{}, map[string]bool{}
	yamlKeys(root, "", leaves, sections)
	for k := range leaves {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !leaves[k] && !sections[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unknown)
	return missing, unknown, nil
}

// yamlKeys walks the yaml-tagged fields of t. A field whose type decodes
// itself (UnmarshalYAML: Duration, Secret, Timestamp) or is no struct is a
// leaf; a struct, a pointer to one or a list of them is a section, whose
// fields are walked under "key." or "key[].".
func yamlKeys(t reflect.Type, prefix string, leaves, sections map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		key := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		_, custom := reflect.PointerTo(ft).MethodByName("UnmarshalYAML")
		switch {
		case custom:
			leaves[key] = true
		case ft.Kind() == reflect.Struct:
			sections[key] = true
			yamlKeys(ft, key+".", leaves, sections)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			sections[key] = true
			yamlKeys(ft.Elem(), key+"[].", leaves, sections)
		default:
			leaves[key] = true
		}
	}
}

var (
	// keyHeaderRE matches the first header cell of a key table: "key", or
	// "key under `prefix`" for keys relative to prefix.
	keyHeaderRE = regexp.MustCompile("^key(?: under `([^`]+)`)?$")
	// codeRE matches one key in backticks.
	codeRE = regexp.MustCompile("`([^`]+)`")
)

// referenceKeys returns the keys a configuration reference documents: in
// every table whose first header cell is "key" or "key under `prefix`",
// each backticked name in the first cell of a row, prefixed with prefix.
func referenceKeys(file string) (map[string]bool, error) {
	lines, err := prose(file)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	inTable, prefix := false, ""
	for _, l := range lines {
		s := strings.TrimSpace(l.text)
		if !strings.HasPrefix(s, "|") {
			inTable = false
			continue
		}
		first := strings.TrimSpace(strings.Split(strings.Trim(s, "|"), "|")[0])
		switch {
		case !inTable:
			m := keyHeaderRE.FindStringSubmatch(first)
			if m == nil {
				inTable, prefix = true, "\x00" // another table: skip its rows
				continue
			}
			inTable, prefix = true, ""
			if m[1] != "" {
				prefix = m[1] + "."
			}
		case prefix == "\x00", strings.Trim(first, "-: ") == "":
			// a row of another table, or the separator row
		default:
			for _, m := range codeRE.FindAllStringSubmatch(first, -1) {
				keys[prefix+m[1]] = true
			}
		}
	}
	return keys, nil
}

// TestREADME: the README stays a short introduction (at most 12 KiB) and
// links every page of docs/, so that a newcomer finds each from it.
func TestREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readme); n > 12*1024 {
		t.Errorf("README.md is %d bytes, more than 12 KiB: reference text belongs in docs/", n)
	}
	docs, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range docs {
		if !strings.Contains(string(readme), "](docs/"+page) {
			t.Errorf("README.md does not link docs/%s", page)
		}
	}
}
