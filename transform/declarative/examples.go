package declarative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/transform"
)

// The fixed Nachrichtenkopf values of every example, so that golden outputs
// do not change from run to run (the same as transform/xoev/mappertest's).
const (
	ExampleMessageID    = "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6"
	ExampleSubmissionID = "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"
)

// ExampleInput returns the input of an example: s with the fixed ids,
// receipt 2026-11-28 09:59:58.123456789 CET, creation 2026-11-28 10:00:00
// UTC, product Amtsbote (Amtsbote-Projekt, version dev), and the author and
// reader of procedure.yaml's examples section (default: Stadt Musterstadt,
// Bürgeramt, psw:01234567, and Stadt Musterstadt, Meldebehörde,
// psw:01234568).
func (p *Procedure) ExampleInput(s transform.Submission) transform.Input {
	s.ID = ExampleSubmissionID
	s.ReceivedAt = time.Date(2026, 11, 28, 9, 59, 58, 123456789, time.FixedZone("CET", 3600))
	party := func(e exampleParty, name, kennung string) transform.Party {
		return transform.Party{Name: cmpOr(e.Name, name), Kennung: cmpOr(e.Kennung, kennung)}
	}
	return transform.Input{
		Submission: s,
		MessageID:  ExampleMessageID,
		Author:     party(p.meta.Examples.Author, "Stadt Musterstadt, Bürgeramt", "psw:01234567"),
		Reader:     party(p.meta.Examples.Reader, "Stadt Musterstadt, Meldebehörde", "psw:01234568"),
		Product:    transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "dev"},
		CreatedAt:  time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DecodeExample decodes an example request body (tenant, procedure,
// applicant, data, identity) as the intake does: numbers as json.Number,
// unknown members refused.
func DecodeExample(raw []byte) (transform.Submission, error) {
	var body struct {
		Tenant    string         `json:"tenant"`
		Procedure string         `json:"procedure"`
		Applicant map[string]any `json:"applicant"`
		Data      map[string]any `json:"data"`
		Identity  *struct {
			Method           string `json:"method"`
			Provider         string `json:"provider"`
			TrustLevel       string `json:"trust_level"`
			PostboxReference string `json:"postbox_reference"`
		} `json:"identity"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return transform.Submission{}, err
	}
	s := transform.Submission{Tenant: body.Tenant, Procedure: body.Procedure, Applicant: body.Applicant, Data: body.Data}
	if id := body.Identity; id != nil {
		s.Identity = &transform.Identity{Method: id.Method, Provider: id.Provider, TrustLevel: id.TrustLevel, PostboxReference: id.PostboxReference}
	}
	return s, nil
}

// TestOptions steer Test.
type TestOptions struct {
	// Update writes each example's output as its golden file instead of
	// comparing (only for a directory loaded with LoadDir).
	Update bool
	// Xmllint is the path of xmllint; empty: the outputs are not validated
	// against the procedure's XSD.
	Xmllint string
	// SchemaPath are directories xmllint searches for the files the XSD
	// imports by name (xmllint --path), such as the XÖV library's
	// xoev-code.xsd and din-norm-91379-datatypes.xsd.
	SchemaPath []string
}

// ExampleResult is the outcome of one example.
type ExampleResult struct {
	Name    string
	Err     error  // the example could not be read or mapped
	Diff    string // the difference from the golden file; empty when equal
	XSDErr  error  // xmllint's complaint about the output
	Updated bool   // the golden file was written
}

// OK reports whether the example passed.
func (r ExampleResult) OK() bool { return r.Err == nil && r.Diff == "" && r.XSDErr == nil }

// Report is the outcome of Test.
type Report struct {
	Examples []ExampleResult
	// XSDChecked is false where no output was validated: no xsd in
	// procedure.yaml, or no xmllint.
	XSDChecked bool
}

// Failed returns the number of failed examples.
func (r *Report) Failed() int {
	n := 0
	for _, e := range r.Examples {
		if !e.OK() {
			n++
		}
	}
	return n
}

// Test maps every example examples/<name>.json with ExampleInput, compares
// the output with examples/<name>.xml and, with an xmllint, validates it
// against the procedure's XSD. A procedure without examples fails: an
// untested mapping is not accepted.
func (p *Procedure) Test(opts TestOptions) (*Report, error) {
	entries, err := fs.ReadDir(p.fsys, DirExamples)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: path.Join(p.dir, DirExamples), Err: unwrapPath(err)}
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && e.Type().IsRegular() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, &Error{File: path.Join(p.dir, DirExamples), Err: errors.New("no examples (<name>.json with its golden output <name>.xml): every procedure needs at least one")}
	}
	rep := &Report{}
	var xsd string
	if p.meta.XSD != "" && opts.Xmllint != "" {
		var cleanup func()
		xsd, cleanup, err = p.xsdOnDisk()
		if err != nil {
			return nil, err
		}
		defer cleanup()
		rep.XSDChecked = true
	}
	for _, name := range names {
		rep.Examples = append(rep.Examples, p.testExample(name, opts, xsd))
	}
	return rep, nil
}

func (p *Procedure) testExample(name string, opts TestOptions, xsd string) ExampleResult {
	res := ExampleResult{Name: name}
	jsonFile := path.Join(DirExamples, name+".json")
	xmlFile := path.Join(DirExamples, name+".xml")
	raw, err := fs.ReadFile(p.fsys, jsonFile)
	if err != nil {
		res.Err = &Error{File: path.Join(p.dir, jsonFile), Err: unwrapPath(err)}
		return res
	}
	s, err := DecodeExample(raw)
	if err != nil {
		res.Err = &Error{File: path.Join(p.dir, jsonFile), Err: err}
		return res
	}
	doc, err := p.Map(p.ExampleInput(s))
	if err != nil {
		res.Err = fmt.Errorf("%s: %w", path.Join(p.dir, jsonFile), err)
		return res
	}
	if opts.Update {
		if !p.onDisk {
			res.Err = errors.New("update: the procedure was not loaded from a directory")
			return res
		}
		if err := os.WriteFile(filepath.Join(p.dir, filepath.FromSlash(xmlFile)), doc.XML, 0o644); err != nil {
			res.Err = fmt.Errorf("update: %w", err)
			return res
		}
		res.Updated = true
	}
	want, err := fs.ReadFile(p.fsys, xmlFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.Err = &Error{File: path.Join(p.dir, xmlFile), Err: errors.New("no golden output (write it with amtsbote procedure test --update, then read it)")}
	case err != nil:
		res.Err = &Error{File: path.Join(p.dir, xmlFile), Err: unwrapPath(err)}
	case !bytes.Equal(want, doc.XML):
		res.Diff = LineDiff(path.Join(p.dir, xmlFile), string(want), string(doc.XML))
	}
	if xsd != "" {
		res.XSDErr = xmllint(opts, xsd, doc.XML)
	}
	return res
}

// xsdOnDisk returns the path of the procedure's XSD as xmllint reads it:
// in place for a directory on disk, else (embedded files) the directory's
// .xsd files copied into a temporary directory.
func (p *Procedure) xsdOnDisk() (string, func(), error) {
	if p.onDisk {
		return filepath.Join(p.dir, filepath.FromSlash(p.meta.XSD)), func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "amtsbote-xsd-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	err = fs.WalkDir(p.fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".xsd") {
			return err
		}
		b, err := fs.ReadFile(p.fsys, name)
		if err != nil {
			return err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return filepath.Join(tmp, filepath.FromSlash(p.meta.XSD)), cleanup, nil
}

// xmllint validates doc against xsd; exit status 5 means the XSD itself
// could not be compiled (an import not found, most often).
func xmllint(opts TestOptions, xsd string, doc []byte) error {
	args := []string{"--noout", "--nonet"}
	if len(opts.SchemaPath) > 0 {
		args = append(args, "--path", strings.Join(opts.SchemaPath, string(os.PathListSeparator)))
	}
	args = append(args, "--schema", xsd, "-")
	cmd := exec.Command(opts.Xmllint, args...)
	cmd.Stdin = bytes.NewReader(doc)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(strings.ReplaceAll(out.String(), "-:", "line "))
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 5 {
		return fmt.Errorf("the XSD %s could not be compiled (do its imports resolve? name their directory with --xsd-path): %s", filepath.Base(xsd), firstLine(msg))
	}
	return fmt.Errorf("not valid against %s: %s", filepath.Base(xsd), msg)
}

// LineDiff is a readable line diff of want (the golden file name) and got:
// "-" lines only in want, "+" lines only in got, with two lines of context
// around each change.
func LineDiff(name, want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(w)*len(g) > 4_000_000 {
		return fmt.Sprintf("--- %s\n+++ output\n(too long to diff: %d and %d lines)\n", name, len(w), len(g))
	}
	// Longest common subsequence, by dynamic programming from the end.
	lcs := make([][]int32, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
		wn   int
	}
	var ops []line
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			ops = append(ops, line{' ', w[i], i + 1})
			i, j = i+1, j+1
		case i < len(w) && (j == len(g) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, line{'-', w[i], i + 1})
			i++
		default:
			ops = append(ops, line{'+', g[j], i + 1})
			j++
		}
	}
	const context = 2
	keep := make([]bool, len(ops))
	for k, op := range ops {
		if op.op != ' ' {
			for c := max(0, k-context); c <= min(len(ops)-1, k+context); c++ {
				keep[c] = true
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ output\n", name)
	for k, op := range ops {
		if !keep[k] {
			continue
		}
		if k == 0 || !keep[k-1] {
			fmt.Fprintf(&b, "@@ line %d @@\n", op.wn)
		}
		fmt.Fprintf(&b, "%c%s\n", op.op, op.text)
	}
	return b.String()
}
