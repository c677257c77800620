package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/declarative"
)

// loadProcedureDir loads the declarative procedure of p.Dir and runs its
// examples (compared with their golden outputs and, where xmllint is
// installed, validated against the procedure's XSD): a procedure that does
// not compile or fails an example is refused, so that serve does not start
// and check-config fails, with every reason and a diff.
func loadProcedureDir(p config.Procedure) (*declarative.Procedure, error) {
	proc, err := declarative.LoadDir(p.Dir)
	if err != nil {
		return nil, err
	}
	if proc.ID() != p.ID {
		return nil, fmt.Errorf("%s/%s names procedure %q, not %q", p.Dir, declarative.FileProcedure, proc.ID(), p.ID)
	}
	opts := declarative.TestOptions{SchemaPath: p.XSDPath}
	if bin, err := exec.LookPath("xmllint"); err == nil {
		opts.Xmllint = bin
	}
	rep, err := proc.Test(opts)
	if err != nil {
		return nil, err
	}
	if rep.Failed() > 0 {
		return nil, errors.New(formatReport(rep, false))
	}
	return proc, nil
}

// formatReport describes the outcome of a procedure's examples: every
// failure with its reason or diff; with all, also the examples that passed.
func formatReport(rep *declarative.Report, all bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d example(s) failed", rep.Failed(), len(rep.Examples))
	for _, e := range rep.Examples {
		switch {
		case e.OK() && all:
			state := "ok"
			if e.Updated {
				state = "updated"
			}
			fmt.Fprintf(&b, "\n  example %s: %s", e.Name, state)
		case !e.OK():
			fmt.Fprintf(&b, "\n  example %s: FAIL", e.Name)
			if e.Err != nil {
				fmt.Fprintf(&b, "\n    %v", e.Err)
			}
			if e.Diff != "" {
				b.WriteString("\n    output differs from the golden file:\n")
				b.WriteString(indent(e.Diff, "      "))
			}
			if e.XSDErr != nil {
				fmt.Fprintf(&b, "\n    %v", e.XSDErr)
			}
		}
	}
	if !rep.XSDChecked {
		b.WriteString("\n  (outputs not validated against an XSD: none declared, or xmllint not installed)")
	}
	return b.String()
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

const procedureUsage = `Usage:
  amtsbote procedure test DIR [--update] [--xsd-path DIR]...
      Compile the declarative procedure in DIR (procedure.yaml, schema.json,
      mapping.yaml), map every example examples/NAME.json and compare the
      output with examples/NAME.xml, printing a diff for each difference;
      where xmllint is installed, validate every output against the XSD that
      procedure.yaml declares. Exit 0 when every example passes, 1 when not.

  --update          write each output as its golden file NAME.xml (then read
                    the changes before committing them)
  --xsd-path DIR    a directory in which xmllint finds the files the XSD
                    imports by name (xoev-code.xsd, ...); may be repeated
`

// procedureCmd runs "amtsbote procedure test".
func procedureCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprint(stderr, procedureUsage)
		return 2
	}
	fs := flag.NewFlagSet("procedure test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	update := fs.Bool("update", false, "write the outputs as golden files")
	var xsdPath stringList
	fs.Var(&xsdPath, "xsd-path", "directory of the files the XSD imports (repeatable)")
	// The directory may come before or after the flags.
	rest := args[1:]
	var dirs []string
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		rest = fs.Args()
		if len(rest) > 0 {
			dirs, rest = append(dirs, rest[0]), rest[1:]
		}
	}
	if len(dirs) != 1 {
		fmt.Fprint(stderr, procedureUsage)
		return 2
	}
	dir := dirs[0]
	proc, err := declarative.LoadDir(dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: the procedure does not compile:\n", dir)
		for _, e := range flatten(err) {
			fmt.Fprintf(stderr, "  %v\n", e)
		}
		return 1
	}
	opts := declarative.TestOptions{Update: *update, SchemaPath: xsdPath}
	if bin, err := exec.LookPath("xmllint"); err == nil {
		opts.Xmllint = bin
	}
	rep, err := proc.Test(opts)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", dir, err)
		return 1
	}
	if rep.Failed() > 0 {
		fmt.Fprintf(stderr, "%s: %s\n", dir, formatReport(rep, true))
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%s, %d example(s), mapping version %s)\n", dir, proc.ID(), len(rep.Examples), proc.MappingVersion())
	for _, e := range rep.Examples {
		if e.Updated {
			fmt.Fprintf(stdout, "  updated %s/%s/%s.xml\n", dir, declarative.DirExamples, e.Name)
		}
	}
	if !rep.XSDChecked {
		fmt.Fprintf(stderr, "%s: note: outputs not validated against an XSD (none declared in procedure.yaml, or xmllint not installed)\n", dir)
	}
	return 0
}

// flatten splits an errors.Join tree into its leaves.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// stringList is a repeatable string flag.
type stringList []string

// String joins the values (flag.Value).
func (l *stringList) String() string { return strings.Join(*l, ",") }

// Set appends a value (flag.Value).
func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// versioned is a mapper that names the version of its mapping (a
// declarative procedure: the content hash of its directory).
type versioned interface{ MappingVersion() string }

// mappingVersions returns the procedure ids and mapping versions of the
// declarative procedures in reg, by id.
func mappingVersions(reg *transform.Registry) [][2]string {
	var out [][2]string
	if reg == nil {
		return nil
	}
	for _, id := range reg.Procedures() {
		if m, ok := reg.Mapper(id); ok {
			if v, ok := m.(versioned); ok {
				out = append(out, [2]string{id, v.MappingVersion()})
			}
		}
	}
	return out
}

// logMappingVersions logs the mapping version of every declarative procedure.
func logMappingVersions(logger *slog.Logger, reg *transform.Registry) {
	for _, v := range mappingVersions(reg) {
		logger.Info("declarative procedure", slog.String("procedure", v[0]), slog.String("mapping_version", v[1]))
	}
}
