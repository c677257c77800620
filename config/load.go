package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvDatabaseURL names the environment variable that, when set and
// non-empty, overrides database.url.
const EnvDatabaseURL = "AMTSBOTE_DATABASE_URL"

// Load reads the configuration file at path and the files its include
// patterns name, and parses them with the process environment and file
// system; see Parse and LoadFiles.
func Load(path string) (*Config, error) {
	return LoadFiles(path, os.LookupEnv, os.ReadFile)
}

// LoadFiles reads the main file at path and the files its include
// patterns name (relative to the main file's directory), merges their
// tenants, portals and procedures behind the main file's, and validates the
// whole as Parse does. An included file may hold only tenants, portals and
// procedures. Problems of an included entry name its file and its index
// there ("conf.d/musterstadt.yaml: tenants[0].name"), and an id defined
// twice names both places.
func LoadFiles(path string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (*Config, error) {
	return loadFiles(path, lookupEnv, readFile, filepath.Glob)
}

func loadFiles(path string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error),
	glob func(string) ([]string, error)) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := parse(path, data, lookupEnv, readFile, glob)
	if err != nil {
		var verr *ValidationError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("config %s:\n%w", path, err)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.ResolveProcedurePaths(filepath.Dir(path))
	return cfg, nil
}

// Parse turns the YAML configuration data into a validated Config:
//
//  1. expand ${VAR} references with lookupEnv ($$ is a literal $; an unset
//     variable is a problem),
//  2. decode strictly: unknown keys, duplicate keys and type mismatches are problems,
//  3. let AMTSBOTE_DATABASE_URL, when set and non-empty, override database.url,
//  4. resolve Secret references with lookupEnv and readFile,
//  5. apply defaults and validate.
//
// Problems are returned as a *ValidationError: all of one stage at once, and
// the stages up to the first with problems (secret and validation problems
// are reported together). Parse reads no included files: a configuration
// with include is a problem here (use LoadFiles).
func Parse(data []byte, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (*Config, error) {
	return parse("", data, lookupEnv, readFile, nil)
}

// parse is Parse, reading the included files relative to the directory of
// path when path is not empty.
func parse(path string, data []byte, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error),
	glob func(string) ([]string, error)) (*Config, error) {
	expanded, problems := expandEnv(data, lookupEnv)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}

	cfg, err := decode(expanded)
	if err != nil {
		return nil, err
	}
	var origins *origins
	if len(cfg.Include) > 0 {
		if path == "" {
			return nil, &ValidationError{Problems: []Problem{{Path: "include",
				Message: "included files are read only when the configuration is loaded from a file"}}}
		}
		if origins, err = includeFiles(cfg, filepath.Dir(path), lookupEnv, readFile, glob); err != nil {
			return nil, err
		}
	}

	if url, ok := lookupEnv(EnvDatabaseURL); ok && url != "" {
		cfg.Database.URL = url
	}

	secretProblems := resolveSecrets(reflect.ValueOf(cfg).Elem(), "", lookupEnv, readFile)

	cfg.ApplyDefaults()
	err = cfg.Validate()
	var verr *ValidationError
	if err != nil && !errors.As(err, &verr) {
		return nil, err
	}
	if len(secretProblems) > 0 {
		// A secret that could not be resolved is also empty; report why,
		// not that it is missing.
		merged := secretProblems
		if verr != nil {
			failed := make(map[string]bool, len(secretProblems))
			for _, p := range secretProblems {
				failed[p.Path] = true
			}
			for _, p := range verr.Problems {
				if !failed[p.Path] {
					merged = append(merged, p)
				}
			}
		}
		return nil, &ValidationError{Problems: origins.locate(merged)}
	}
	if verr != nil {
		return nil, &ValidationError{Problems: origins.locate(verr.Problems)}
	}
	return cfg, nil
}

// decode decodes exactly one YAML document strictly into a Config.
func decode(data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config is empty")
		}
		var terr *yaml.TypeError
		if errors.As(err, &terr) {
			return nil, &ValidationError{Problems: lineProblems(terr.Errors)}
		}
		return nil, fmt.Errorf("parse config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse config: more than one YAML document")
	}
	return &cfg, nil
}

// lineProblems turns the "line N: message" errors of the YAML decoder into
// problems with path "line N".
func lineProblems(errs []string) []Problem {
	problems := make([]Problem, 0, len(errs))
	for _, e := range errs {
		path, msg, ok := strings.Cut(e, ": ")
		if !ok || !strings.HasPrefix(path, "line ") {
			path, msg = "", e
		}
		problems = append(problems, Problem{Path: path, Message: msg})
	}
	return problems
}

// expandEnv replaces every ${NAME} in data with the value of the environment
// variable NAME and every $$ with $. Any other $ is kept as it is. Unset
// variables and malformed references are problems with path "line N".
// Expansion is textual: it also applies inside comments and quoted strings.
func expandEnv(data []byte, lookupEnv func(string) (string, bool)) ([]byte, []Problem) {
	var (
		out      bytes.Buffer
		problems []Problem
		line     = 1
	)
	out.Grow(len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '\n' {
			line++
		}
		if c != '$' || i+1 >= len(data) {
			out.WriteByte(c)
			continue
		}
		switch data[i+1] {
		case '$':
			out.WriteByte('$')
			i++
		case '{':
			rest := data[i+2:]
			if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
				rest = rest[:nl]
			}
			end := bytes.IndexByte(rest, '}')
			if end < 0 {
				problems = append(problems, Problem{Path: lineRef(line), Message: "unterminated ${ reference"})
				i++ // skip the '{'; the rest of the line is scanned as usual
				continue
			}
			name := string(data[i+2 : i+2+end])
			i += 2 + end
			if !isEnvName(name) {
				problems = append(problems, Problem{Path: lineRef(line), Message: fmt.Sprintf("invalid variable reference ${%s}", name)})
				continue
			}
			v, ok := lookupEnv(name)
			if !ok {
				problems = append(problems, Problem{Path: lineRef(line), Message: fmt.Sprintf("environment variable %s is not set", name)})
				continue
			}
			out.WriteString(v)
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes(), problems
}

func lineRef(line int) string { return "line " + strconv.Itoa(line) }

// isEnvName reports whether s is a portable environment variable name:
// letters, digits and '_', not starting with a digit.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// resolveSecrets resolves every Secret reachable from v, so that a secret
// added to a destination's settings block later is resolved without further
// wiring. Paths are built from the yaml tags.
func resolveSecrets(v reflect.Value, path string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) []Problem {
	var problems []Problem
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			problems = append(problems, resolveSecrets(v.Elem(), path, lookupEnv, readFile)...)
		}
	case reflect.Slice:
		for i := range v.Len() {
			problems = append(problems, resolveSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), lookupEnv, readFile)...)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[Secret]() {
			s := v.Addr().Interface().(*Secret)
			if s.IsZero() {
				return nil
			}
			if err := s.resolve(lookupEnv, readFile); err != nil {
				problems = append(problems, Problem{Path: path, Message: err.Error()})
			}
			return problems
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if path != "" {
				name = path + "." + name
			}
			problems = append(problems, resolveSecrets(v.Field(i), name, lookupEnv, readFile)...)
		}
	}
	return problems
}
