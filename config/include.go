package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Fragment is what an included file (Config.Include) may hold: the
// entries that grow with the number of municipalities. Everything else
// stays in the main file.
type Fragment struct {
	Tenants    []Tenant    `yaml:"tenants"`
	Portals    []Portal    `yaml:"portals"`
	Procedures []Procedure `yaml:"procedures"`
}

// origins records where each merged tenant, portal and procedure came from,
// so that problems name the file and the index there.
type origins struct {
	lists map[string][]string // "tenants" → label per merged index, "" for the main file
}

// listRef matches a reference to an entry of a merged list in a problem's
// path or message.
var listRef = regexp.MustCompile(`\b(tenants|portals|procedures)\[(\d+)\]`)

// locate rewrites the references to included entries in problems, in paths
// and messages ("duplicate ..., first at tenants[3]"), to "file: list[i]".
// A nil origins leaves them as they are.
func (o *origins) locate(problems []Problem) []Problem {
	if o == nil {
		return problems
	}
	out := make([]Problem, len(problems))
	for i, p := range problems {
		p.Path = o.rewrite(p.Path)
		p.Message = o.rewrite(p.Message)
		out[i] = p
	}
	return out
}

func (o *origins) rewrite(s string) string {
	return listRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := listRef.FindStringSubmatch(ref)
		i, err := strconv.Atoi(m[2])
		labels := o.lists[m[1]]
		if err != nil || i >= len(labels) || labels[i] == "" {
			return ref
		}
		return labels[i]
	})
}

// includeFiles reads the files of cfg.Include (patterns relative to dir),
// appends their entries to cfg's and returns where each came from. A
// pattern matching no file is no problem (an empty conf.d); a malformed
// one, an unreadable file, an unset variable or an unknown key is.
func includeFiles(cfg *Config, dir string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error),
	glob func(string) ([]string, error)) (*origins, error) {
	o := &origins{lists: map[string][]string{
		"tenants":    make([]string, len(cfg.Tenants)),
		"portals":    make([]string, len(cfg.Portals)),
		"procedures": make([]string, len(cfg.Procedures)),
	}}
	var problems []Problem
	seen := map[string]bool{}
	for i, pattern := range cfg.Include {
		path := fmt.Sprintf("include[%d]", i)
		if pattern == "" {
			problems = append(problems, Problem{Path: path, Message: "is empty"})
			continue
		}
		full := pattern
		if !filepath.IsAbs(full) {
			full = filepath.Join(dir, pattern)
		}
		files, err := glob(full)
		if err != nil {
			problems = append(problems, Problem{Path: path, Message: fmt.Sprintf("invalid pattern %q: %v", pattern, err)})
			continue
		}
		slices.Sort(files)
		for _, file := range files {
			if seen[file] {
				continue // named by two patterns: read once
			}
			seen[file] = true
			frag, ps := readFragment(file, lookupEnv, readFile)
			if len(ps) > 0 {
				problems = append(problems, ps...)
				continue
			}
			for j := range frag.Tenants {
				o.lists["tenants"] = append(o.lists["tenants"], fmt.Sprintf("%s: tenants[%d]", file, j))
			}
			for j := range frag.Portals {
				o.lists["portals"] = append(o.lists["portals"], fmt.Sprintf("%s: portals[%d]", file, j))
			}
			for j := range frag.Procedures {
				o.lists["procedures"] = append(o.lists["procedures"], fmt.Sprintf("%s: procedures[%d]", file, j))
			}
			cfg.Tenants = append(cfg.Tenants, frag.Tenants...)
			cfg.Portals = append(cfg.Portals, frag.Portals...)
			cfg.Procedures = append(cfg.Procedures, frag.Procedures...)
		}
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return o, nil
}

// readFragment reads, expands and strictly decodes one included file.
// Its problems are prefixed with the file name.
func readFragment(file string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (Fragment, []Problem) {
	var frag Fragment
	data, err := readFile(file)
	if err != nil {
		return frag, []Problem{{Path: file, Message: fmt.Sprintf("read: %v", err)}}
	}
	expanded, problems := expandEnv(data, lookupEnv)
	if len(problems) > 0 {
		return frag, inFile(file, problems)
	}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&frag); err != nil {
		if errors.Is(err, io.EOF) {
			return frag, nil // an empty file adds nothing
		}
		var terr *yaml.TypeError
		if errors.As(err, &terr) {
			ps := lineProblems(terr.Errors)
			for i := range ps {
				if strings.Contains(ps[i].Message, "not found in type config.Fragment") {
					ps[i].Message += " (an included file holds only tenants, portals and procedures)"
				}
			}
			return frag, inFile(file, ps)
		}
		return frag, []Problem{{Path: file, Message: fmt.Sprintf("parse: %v", err)}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return frag, []Problem{{Path: file, Message: "more than one YAML document"}}
	}
	return frag, nil
}

// inFile prefixes the problems' paths with the file name.
func inFile(file string, problems []Problem) []Problem {
	for i := range problems {
		if problems[i].Path == "" {
			problems[i].Path = file
		} else {
			problems[i].Path = file + ": " + problems[i].Path
		}
	}
	return problems
}
