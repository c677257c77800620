package transform_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
)

type stubMapper struct{ name string }

func (stubMapper) Validate(transform.Submission) []transform.FieldError { return nil }
func (stubMapper) Map(transform.Input) (transform.Document, error) {
	return transform.Document{}, nil
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := transform.NewRegistry()
	if got := r.Procedures(); len(got) != 0 {
		t.Fatalf("Procedures() of a new registry = %v, want none", got)
	}
	a, b := stubMapper{"a"}, stubMapper{"b"}
	if err := r.Register("meldewesen.wohnungsgeberbestaetigung", a); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := r.Register("bauwesen.bauantrag", b); err != nil {
		t.Fatalf("Register: %v", err)
	}

	if m, ok := r.Mapper("meldewesen.wohnungsgeberbestaetigung"); !ok || m != a {
		t.Errorf("Mapper(meldewesen...) = %v, %v; want a, true", m, ok)
	}
	if m, ok := r.Mapper("gewerbe.anmeldung"); ok || m != nil {
		t.Errorf("Mapper(unknown) = %v, %v; want nil, false", m, ok)
	}
	want := []string{"bauwesen.bauantrag", "meldewesen.wohnungsgeberbestaetigung"}
	if got := r.Procedures(); !slices.Equal(got, want) {
		t.Errorf("Procedures() = %v, want %v", got, want)
	}
}

func TestRegistryRegisterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		procedure string
		mapper    transform.Mapper
	}{
		{name: "empty procedure", procedure: "", mapper: stubMapper{}},
		{name: "nil mapper", procedure: "p", mapper: nil},
		{name: "duplicate", procedure: "dup", mapper: stubMapper{"second"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := transform.NewRegistry()
			if err := r.Register("dup", stubMapper{"first"}); err != nil {
				t.Fatalf("Register: %v", err)
			}
			if err := r.Register(tt.procedure, tt.mapper); err == nil {
				t.Fatalf("Register(%q) succeeded, want an error", tt.procedure)
			}
			if m, _ := r.Mapper("dup"); m != (stubMapper{"first"}) {
				t.Errorf("a failed Register replaced the mapper: got %v", m)
			}
			if got, want := r.Procedures(), []string{"dup"}; !slices.Equal(got, want) {
				t.Errorf("Procedures() = %v, want %v", got, want)
			}
		})
	}
}

func TestRegistryZeroValue(t *testing.T) {
	t.Parallel()
	var r transform.Registry
	if _, ok := r.Mapper("p"); ok {
		t.Fatal("zero Registry has a mapper")
	}
	if err := r.Register("p", stubMapper{}); err != nil {
		t.Fatalf("Register on zero Registry: %v", err)
	}
	if _, ok := r.Mapper("p"); !ok {
		t.Fatal("registered mapper not found")
	}
}

func TestRegistryConcurrentUse(t *testing.T) {
	t.Parallel()
	r := transform.NewRegistry()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = r.Register(string(rune('a'+i)), stubMapper{})
			_, _ = r.Mapper("a")
			_ = r.Procedures()
		})
	}
	wg.Wait()
	if got := len(r.Procedures()); got != 8 {
		t.Errorf("len(Procedures()) = %d, want 8", got)
	}
}
