package intake_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
)

// countingMapper is the envelope mapper counting its validations, those
// of Map included.
type countingMapper struct {
	inner       *envelope.Mapper
	validations *atomic.Int32
}

var _ transform.ValidatedMapper = countingMapper{}

func (m countingMapper) Validate(s transform.Submission) []transform.FieldError {
	m.validations.Add(1)
	return m.inner.Validate(s)
}

func (m countingMapper) Map(in transform.Input) (transform.Document, error) {
	if errs := m.Validate(in.Submission); errs != nil {
		return transform.Document{}, &transform.ValidationError{Errors: errs}
	}
	return m.inner.MapValidated(in)
}

func (m countingMapper) MapValidated(in transform.Input) (transform.Document, error) {
	return m.inner.MapValidated(in)
}

// A submission is validated once: the messages of its destinations are
// mapped without validating it again (issue 20, "validate once").
func TestAcceptValidatesOnce(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, st outbox.Store) {
		var n atomic.Int32
		reg := transform.NewRegistry()
		if err := reg.Register(meldung, countingMapper{inner: envelope.New(), validations: &n}); err != nil {
			t.Fatal(err)
		}
		svc, err := intake.New(intake.Config{Config: testConfig(t), Store: st, Registry: reg, Product: testProduct,
			Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Accept(context.Background(), demoRequest(t, meldung))
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		_, msgs, err := st.Submission(context.Background(), res.SubmissionID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			t.Fatal("no message mapped")
		}
		if got := n.Load(); got != 1 {
			t.Errorf("%d validations for a submission of %d message(s), want 1", got, len(msgs))
		}
	})
}
