package mappertest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// fake is a small mapper that keeps the contract, or, with fault set, breaks
// one part of it.
type fake struct {
	fault string
	runs  *atomic.Int64 // maps so far, for the fault "not deterministic"
}

var uuid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (f fake) Validate(s transform.Submission) []transform.FieldError {
	var errs []transform.FieldError
	problem := func(pointer, code string) {
		if f.fault == "pointer outside the payload" {
			pointer = strings.TrimPrefix(pointer, "/applicant")
		}
		errs = append(errs, transform.FieldError{Pointer: pointer, Code: code, Message: code, MessageDE: code})
	}
	for _, m := range []struct {
		pointer string
		v       map[string]any
	}{{"/applicant", s.Applicant}, {"/data", s.Data}} {
		if m.v == nil {
			problem(m.pointer, transform.CodeRequired)
			continue
		}
		var walk func(pointer string, v any)
		walk = func(pointer string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					walk(transform.AppendPointer(pointer, k), e)
				}
			case string:
				if !utf8.ValidString(v) {
					problem(pointer, transform.CodeInvalidUTF8)
				} else if strings.ContainsFunc(v, unicode.IsControl) {
					problem(pointer, transform.CodeControlCharacter)
				}
			}
		}
		walk(m.pointer, m.v)
	}
	slices.SortStableFunc(errs, func(a, b transform.FieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
	if f.fault == "unordered problems" {
		slices.Reverse(errs)
	}
	return errs
}

func (f fake) Map(in transform.Input) (transform.Document, error) {
	switch {
	case !uuid.MatchString(in.MessageID):
		return transform.Document{}, errors.New("message id is not a UUID")
	case !uuid.MatchString(in.Submission.ID):
		return transform.Document{}, errors.New("submission id is not a UUID")
	case in.CreatedAt.IsZero():
		return transform.Document{}, errors.New("creation time is zero")
	case in.Submission.ReceivedAt.IsZero():
		return transform.Document{}, errors.New("receipt time is zero")
	}
	if errs := f.Validate(in.Submission); errs != nil && f.fault != "Map ignores Validate" {
		return transform.Document{}, &transform.ValidationError{Errors: errs}
	}
	n := f.runs.Add(1)
	id := in.MessageID
	if f.fault == "not deterministic" {
		id += fmt.Sprint(n)
	}
	return transform.Document{
		XML:         []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<nachricht id="` + id + `"/>` + "\n"),
		MessageType: "test.nachricht",
	}, nil
}

func suite(fault string) mappertest.Suite {
	valid := func(testing.TB) transform.Input {
		s, err := mappertest.DecodeSubmission([]byte(`{"tenant":"t","procedure":"p","applicant":{"name":"Köhler"},"data":{"ort":"Ulm"}}`), true)
		if err != nil {
			panic(err)
		}
		return mappertest.Input(s, mappertest.Buergeramt, mappertest.Meldebehoerde)
	}
	return mappertest.Suite{
		Mapper:      fake{fault: fault, runs: new(atomic.Int64)},
		MessageType: "test.nachricht",
		Root:        "nachricht",
		Valid:       valid,
	}
}

// envFault names the fault that TestFaultyMapper gives the fake mapper.
const envFault = "MAPPERTEST_FAULT"

// TestRunPasses: a mapper that keeps the contract passes Run.
func TestRunPasses(t *testing.T) {
	t.Parallel()
	mappertest.Run(t, suite(""))
}

// TestFaultyMapper runs the suite on a faulty fake mapper; it only runs as
// the child process of TestRunCatchesFaults, which expects it to fail.
func TestFaultyMapper(t *testing.T) {
	fault := os.Getenv(envFault)
	if fault == "" {
		t.Skip("runs only as the child of TestRunCatchesFaults")
	}
	mappertest.Run(t, suite(fault))
}

// TestRunCatchesFaults shows that Run has teeth: for each way of breaking
// the contract, the suite fails, and says where.
func TestRunCatchesFaults(t *testing.T) {
	t.Parallel()
	for fault, want := range map[string]string{
		"not deterministic":           "differs from the first",
		"Map ignores Validate":        "Map succeeded, want an error",
		"pointer outside the payload": "outside the payload",
		"unordered problems":          "not ordered by pointer",
	} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFaultyMapper$", "-test.count=1")
			cmd.Env = append(os.Environ(), envFault+"="+fault)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a mapper with the fault %q:\n%s", fault, out)
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("the suite failed without saying %q:\n%s", want, out)
			}
		})
	}
}
