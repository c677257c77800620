package mappertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// Suite describes a mapper for Run: the mapper, what its messages are, where
// their schema is, and its examples. Only Mapper, MessageType, Root and
// Valid are required.
type Suite struct {
	// Mapper is the mapper under test.
	Mapper transform.Mapper
	// MessageType is the Document.MessageType of every message.
	MessageType string
	// Root is the local name of the root element of every message.
	Root string
	// Procedure and Tenant, when set, are those of every golden input;
	// unset, the inputs need only name some.
	Procedure, Tenant string
	// Schema returns the path of the XSD every message must be valid
	// against (xoevtest.Schema, LocalSchema or WriteSchema, which skip the
	// test where the schemas or xmllint are missing); nil validates nothing.
	Schema func(t testing.TB) string
	// Valid returns a valid input, a new one on every call, since the tests
	// change its maps: the base of the error and validation cases.
	Valid func(t testing.TB) transform.Input
	// Deterministic returns the input mapped repeatedly by the determinism
	// check, best the largest example; nil uses Valid.
	Deterministic func(t testing.TB) transform.Input
	// Golden are the examples with a golden file testdata/<Name>.golden.xml.
	Golden []Golden
	// MapErrors are the mapper's own cases of a failing Map, beyond those
	// every mapper shares (Run's contract cases).
	MapErrors []MapError
	// NoPayload marks a mapper that checks no payload of its own (xdomea
	// files a message another mapper made from a valid submission): Run then
	// leaves out the checks of Validate.
	NoPayload bool
}

// Golden is an example whose message is compared with its golden file.
type Golden struct {
	// Name names the subtest and the file testdata/<Name>.golden.xml.
	Name string
	// Input returns the example's input.
	Input func(t testing.TB) transform.Input
	// Mapper, when set, maps this example instead of Suite.Mapper.
	Mapper transform.Mapper
}

// MapError is a case of Map failing: Modify breaks a valid input, and Map
// must fail with a *transform.ValidationError exactly when Invalid, with an
// error message containing Want and without XML (CheckMapError).
type MapError struct {
	Name    string
	Modify  func(in *transform.Input)
	Invalid bool
	Want    string
}

// xmlDeclaration begins every message.
const xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// determinismRuns is how often the determinism check maps its input.
const determinismRuns = 50

// Run checks the contract every mapper meets, each part a subtest:
//
//   - golden: every example names a tenant and a procedure (Procedure and
//     Tenant, when set), passes Validate and maps to a message of
//     MessageType and Root that is byte-identical to its golden file and,
//     like the golden file, valid against Schema. Golden files change only
//     with go test -update.
//   - golden-files: every committed testdata/*.golden.xml, also one whose
//     example was removed, starts with the XML declaration and is valid.
//   - deterministic: the same input maps to the same bytes, 50 times.
//   - map-errors: Map refuses a message id or submission id that is no UUID,
//     a zero creation or receipt time and, unless NoPayload, a submission
//     without data or applicant, then the MapErrors; never with XML.
//   - validate (unless NoPayload): a submission without applicant and data
//     has exactly those two problems; hostile values in every field of the
//     valid example never panic and give complete problems located by JSON
//     pointers into the payload, and Map agrees with Validate (Check).
func Run(t *testing.T, s Suite) {
	t.Helper()
	for _, g := range s.Golden {
		t.Run("golden/"+g.Name, func(t *testing.T) {
			t.Parallel()
			s.checkGolden(t, g)
		})
	}
	t.Run("golden-files", func(t *testing.T) {
		t.Parallel()
		s.checkGoldenFiles(t)
	})
	t.Run("deterministic", func(t *testing.T) {
		t.Parallel()
		in := s.Valid
		if s.Deterministic != nil {
			in = s.Deterministic
		}
		MapDeterministic(t, s.Mapper, in(t), determinismRuns)
	})
	for _, c := range append(s.contractErrors(), s.MapErrors...) {
		t.Run("map-errors/"+c.Name, func(t *testing.T) {
			t.Parallel()
			in := s.Valid(t)
			c.Modify(&in)
			CheckMapError(t, s.Mapper, in, c.Invalid, c.Want)
		})
	}
	if !s.NoPayload {
		t.Run("validate/absent-members", func(t *testing.T) {
			t.Parallel()
			sub := s.Valid(t).Submission
			sub.Applicant, sub.Data, sub.Identity = nil, nil, nil
			got := Problems[problem](s.Mapper.Validate(sub))
			want := []problem{{"/applicant", transform.CodeRequired}, {"/data", transform.CodeRequired}}
			if !slices.Equal(got, want) {
				t.Errorf("Validate without applicant and data:\n got %q\nwant %q", got, want)
			}
		})
		for _, h := range hostileValues {
			t.Run("validate/hostile/"+h.name, func(t *testing.T) {
				t.Parallel()
				in := s.Valid(t)
				in.Submission.Applicant = replaceLeaves(in.Submission.Applicant, h.value).(map[string]any)
				in.Submission.Data = replaceLeaves(in.Submission.Data, h.value).(map[string]any)
				errs := s.Check(t, in)
				if h.code != "" && !slices.ContainsFunc(errs, func(e transform.FieldError) bool { return e.Code == h.code }) {
					t.Errorf("no problem %s among %q", h.code, Problems[problem](errs))
				}
			})
		}
	}
}

func (s Suite) checkGolden(t *testing.T, g Golden) {
	m := s.Mapper
	if g.Mapper != nil {
		m = g.Mapper
	}
	in := g.Input(t)
	if sub := in.Submission; sub.Tenant == "" || sub.Procedure == "" {
		t.Errorf("example without tenant (%q) or procedure (%q)", sub.Tenant, sub.Procedure)
	}
	if s.Procedure != "" && in.Submission.Procedure != s.Procedure {
		t.Errorf("procedure = %q, want %q", in.Submission.Procedure, s.Procedure)
	}
	if s.Tenant != "" && in.Submission.Tenant != s.Tenant {
		t.Errorf("tenant = %q, want %q", in.Submission.Tenant, s.Tenant)
	}
	if !s.NoPayload {
		if errs := m.Validate(in.Submission); errs != nil {
			t.Fatalf("Validate: %+v", errs)
		}
	}
	doc, err := m.Map(in)
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if doc.MessageType != s.MessageType {
		t.Errorf("MessageType = %q, want %q", doc.MessageType, s.MessageType)
	}
	s.checkRoot(t, doc.XML)
	want := xoevtest.Golden(t, filepath.Join("testdata", g.Name+".golden.xml"), doc.XML)
	if s.Schema != nil {
		xsd := s.Schema(t)
		xoevtest.Validate(t, xsd, doc.XML)
		xoevtest.Validate(t, xsd, want)
	}
}

func (s Suite) checkGoldenFiles(t *testing.T) {
	if xoevtest.Updating() {
		t.Skip("the golden files are being rewritten")
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(s.Golden) {
		t.Fatalf("found %d golden files, want at least %d (run go test -update)", len(files), len(s.Golden))
	}
	var xsd string
	if s.Schema != nil {
		xsd = s.Schema(t)
	}
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(doc, []byte(xmlDeclaration)) {
			t.Errorf("%s: no XML declaration", f)
		}
		if xsd != "" {
			xoevtest.Validate(t, xsd, doc)
		}
	}
}

// contractErrors are the cases of a failing Map that every mapper shares.
func (s Suite) contractErrors() []MapError {
	cases := []MapError{
		{"message id not a UUID", func(in *transform.Input) { in.MessageID = "../../etc/passwd" }, false, "message id is not a UUID"},
		{"empty message id", func(in *transform.Input) { in.MessageID = "" }, false, "message id is not a UUID"},
		{"submission id not a UUID", func(in *transform.Input) { in.Submission.ID = "0b0f1c6e7d4a4f5e9a513c2d1e0f9a8b" }, false, "submission id is not a UUID"},
		{"empty submission id", func(in *transform.Input) { in.Submission.ID = "" }, false, "submission id is not a UUID"},
		{"zero creation time", func(in *transform.Input) { in.CreatedAt = time.Time{} }, false, "creation time is zero"},
		{"zero receipt time", func(in *transform.Input) { in.Submission.ReceivedAt = time.Time{} }, false, "receipt time is zero"},
	}
	if !s.NoPayload {
		cases = append(cases,
			MapError{"no data", func(in *transform.Input) { in.Submission.Data = nil }, true, `"/data" required`},
			MapError{"no applicant", func(in *transform.Input) { in.Submission.Applicant = nil }, true, `"/applicant" required`},
		)
	}
	return cases
}

// Check maps in as the intake would and checks what every mapper promises of
// any submission, valid or not; it returns Validate's problems. Validate
// does not panic; each problem has a code and an English and a German
// message, and a JSON pointer into applicant, data or identity; the problems
// are ordered by pointer. Map fails with a *transform.ValidationError
// holding the same problems where Validate finds any, and otherwise
// succeeds: twice with the same bytes, well-formed XML with the declaration
// and the root element Root and, outside -fuzz runs (where starting xmllint for every input would
// be too slow), valid against Schema. The fuzz tests call it for every input.
func (s Suite) Check(t *testing.T, in transform.Input) []transform.FieldError {
	t.Helper()
	errs := s.Mapper.Validate(in.Submission)
	for _, e := range errs {
		if e.Code == "" || e.Message == "" || e.MessageDE == "" {
			t.Errorf("incomplete FieldError %+v", e)
		}
		if !slices.ContainsFunc([]string{"/applicant", "/data", "/identity"}, func(root string) bool {
			return e.Pointer == root || strings.HasPrefix(e.Pointer, root+"/")
		}) {
			t.Errorf("pointer %q outside the payload", e.Pointer)
		}
	}
	if !slices.IsSortedFunc(errs, func(a, b transform.FieldError) int { return strings.Compare(a.Pointer, b.Pointer) }) {
		t.Errorf("problems not ordered by pointer: %q", Problems[problem](errs))
	}
	doc, err := s.Mapper.Map(in)
	if errs != nil {
		var verr *transform.ValidationError
		if !errors.As(err, &verr) {
			t.Fatalf("Map error = %v for a submission Validate rejects (%q), want a *transform.ValidationError", err, Problems[problem](errs))
		}
		if !slices.Equal(verr.Errors, errs) {
			t.Errorf("Map reports %q, Validate %q", Problems[problem](verr.Errors), Problems[problem](errs))
		}
		if doc.XML != nil {
			t.Error("Map returned XML with an error")
		}
		return errs
	}
	if err != nil {
		t.Fatalf("Map of a valid submission: %v", err)
	}
	if !bytes.HasPrefix(doc.XML, []byte(xmlDeclaration)) {
		t.Fatal("no XML declaration")
	}
	s.checkRoot(t, doc.XML)
	again, err := s.Mapper.Map(in)
	if err != nil || !bytes.Equal(again.XML, doc.XML) {
		t.Fatalf("Map is not deterministic (%v)", err)
	}
	if vm, ok := s.Mapper.(transform.ValidatedMapper); ok {
		v, err := vm.MapValidated(in)
		if err != nil || !bytes.Equal(v.XML, doc.XML) || v.MessageType != doc.MessageType {
			t.Fatalf("MapValidated of a valid submission differs from Map (%v)", err)
		}
	}
	if s.Schema != nil && !fuzzing() {
		xoevtest.Validate(t, s.Schema(t), doc.XML)
	}
	return nil
}

// checkRoot fails the test unless xml is well-formed with the root element Root.
func (s Suite) checkRoot(t *testing.T, xml []byte) {
	t.Helper()
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(xml); err != nil {
		t.Fatalf("output is not well-formed: %v\n%s", err, xml)
	}
	if root := parsed.Root(); root == nil || root.Tag != s.Root {
		t.Fatalf("root element is not %s in\n%s", s.Root, xml)
	}
}

// fuzzing reports whether the test binary runs with -test.fuzz.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// problem is where and what a FieldError is, for messages.
type problem struct{ Pointer, Code string }

// hostileValues replace every leaf of the valid example in the validate
// cases; code, when set, is a problem Validate must then report.
var hostileValues = []struct {
	name  string
	value any
	code  string
}{
	{"invalid UTF-8", "M\xfcnchen", transform.CodeInvalidUTF8},
	{"NUL", "Muster\x00stadt", transform.CodeControlCharacter},
	{"bell", "Muster\astadt", transform.CodeControlCharacter},
	{"cyrillic", "Иван", ""},
	{"markup", `<x a="1">&amp;]]></x>`, ""},
	{"decomposed", "Mu\u0308ller", ""},
	{"empty", "", ""},
	{"long", strings.Repeat("ä", 10_000), ""},
	{"huge number", json.Number("1e999"), ""},
	{"negative number", json.Number("-1"), ""},
	{"bool", true, ""},
	{"null", nil, ""},
	{"array", []any{"a", json.Number("1"), nil}, ""},
	{"object", map[string]any{"a/b~c": "d", "": nil}, ""},
}

// replaceLeaves returns a copy of v, a decoded JSON value, with every value
// that is neither object nor array replaced by leaf.
func replaceLeaves(v any, leaf any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = replaceLeaves(e, leaf)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = replaceLeaves(e, leaf)
		}
		return out
	}
	return leaf
}
