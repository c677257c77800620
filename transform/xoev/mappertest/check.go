package mappertest

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// MapDeterministic maps in with m, then runs times more, and fails the test
// at the first output that differs from the first (Go randomises map
// iteration, so repeated runs expose any dependence on it).
func MapDeterministic(t testing.TB, m transform.Mapper, in transform.Input, runs int) {
	t.Helper()
	first, err := m.Map(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range runs {
		doc, err := m.Map(in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc.XML, first.XML) {
			t.Fatalf("run %d differs from the first:\n%s", i+2, xoevtest.LineDiff(string(first.XML), string(doc.XML)))
		}
	}
}

// CheckMapError fails the test unless Map of in with m fails the way a
// MapError case expects: with a *transform.ValidationError exactly when
// invalid, with an error message that contains want, and without XML.
func CheckMapError(t testing.TB, m transform.Mapper, in transform.Input, invalid bool, want string) {
	t.Helper()
	doc, err := m.Map(in)
	if err == nil {
		t.Fatalf("Map succeeded, want an error; output:\n%s", doc.XML)
	}
	var verr *transform.ValidationError
	if got := errors.As(err, &verr); got != invalid {
		t.Errorf("errors.As(%v, *ValidationError) = %v, want %v", err, got, invalid)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if doc.XML != nil {
		t.Error("Map returned XML with an error")
	}
}

// Problems returns where and what each of errs is: the part of a FieldError
// that validation tests compare exactly, not the wording. P is the test's own
// type struct{ Pointer, Code string }, whose tables use unkeyed literals.
func Problems[P ~struct{ Pointer, Code string }](errs []transform.FieldError) []P {
	var out []P
	for _, e := range errs {
		out = append(out, P{Pointer: e.Pointer, Code: e.Code})
	}
	return out
}

// CheckProblems fails the test unless errs, Validate's answer, are exactly
// want by pointer and code, in order (nil for none), each with an English and
// a German message.
func CheckProblems[P ~struct{ Pointer, Code string }](t *testing.T, errs []transform.FieldError, want []P) {
	t.Helper()
	if got := Problems[P](errs); !slices.Equal(got, want) {
		t.Errorf("Validate problems:\n got %q\nwant %q", got, want)
	}
	if len(want) == 0 && errs != nil {
		t.Errorf("Validate of a valid submission = %#v, want nil", errs)
	}
	for _, e := range errs {
		if e.Message == "" || e.MessageDE == "" {
			t.Errorf("%s %s: message %q, German message %q; want both", e.Pointer, e.Code, e.Message, e.MessageDE)
		}
	}
}

// Breakage breaks one rule of a valid message: its first Old becomes New, or,
// where that cannot say it, Edit rewrites the whole message.
type Breakage struct {
	Name, Old, New string
	Edit           func(doc string) string
}

// SchemaRejects shows that a schema has teeth: valid passes the XSD at xsd,
// and each breakage of it, applied alone, fails. A breakage whose Old valid
// does not contain is a test error, so that a changed message cannot make a
// case pass unnoticed.
func SchemaRejects(t *testing.T, xsd string, valid []byte, breakages []Breakage) {
	t.Helper()
	xoevtest.Validate(t, xsd, valid)
	for _, b := range breakages {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			doc := string(valid)
			if b.Edit != nil {
				if doc = b.Edit(doc); doc == string(valid) {
					t.Fatal("the edit leaves the message as it is")
				}
			} else {
				if !strings.Contains(doc, b.Old) {
					t.Fatalf("the message does not contain %q", b.Old)
				}
				doc = strings.Replace(doc, b.Old, b.New, 1)
			}
			if err := xoevtest.Check(t, xsd, []byte(doc)); err == nil {
				t.Errorf("xmllint accepted the message with %s", b.Name)
			}
		})
	}
}

// CheckTexts parses xml, checks the text of the element at each etree path
// of want and returns the parsed document for further checks.
func CheckTexts(t *testing.T, xml []byte, want map[string]string) *etree.Document {
	t.Helper()
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(xml); err != nil {
		t.Fatal(err)
	}
	for _, path := range slices.Sorted(maps.Keys(want)) {
		e := parsed.FindElement(path)
		if e == nil {
			t.Errorf("%s: missing", path)
			continue
		}
		if got := e.Text(); got != want[path] {
			t.Errorf("%s = %q, want %q", path, got, want[path])
		}
	}
	return parsed
}
