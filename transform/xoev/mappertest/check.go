package mappertest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

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
// TestMapErrors case expects: with a *transform.ValidationError exactly when
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
