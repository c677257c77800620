package portalapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/intake"
)

// acceptingIntake accepts every request without storing it: the benchmark
// measures the handler's own work, not the database's.
type acceptingIntake struct{}

func (acceptingIntake) Accept(_ context.Context, r intake.Request) (intake.Receipt, error) {
	if r.Data == nil || r.Applicant == nil || len(r.Payload) == 0 {
		return intake.Receipt{}, io.ErrUnexpectedEOF
	}
	return intake.Receipt{SubmissionID: "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b", Tenant: r.Tenant, Procedure: r.Procedure}, nil
}

// noStore is a Store the submission endpoint never reads.
type noStore struct{ portalapi.Store }

// nullObserver takes the outcomes, as the metrics do.
type nullObserver struct{}

func (nullObserver) ObserveRequest(portalapi.RequestOutcome) {}

// BenchmarkSubmit is the portal POST of the demo submission end to end
// through ServeHTTP (authentication, body, decoding, hashing, the 202 and
// the request log as JSON at level info, as the bench harness runs the
// gateway), with an intake that stores nothing.
func BenchmarkSubmit(b *testing.B) {
	body, err := os.ReadFile(demoBodyPath)
	if err != nil {
		b.Fatal(err)
	}
	h, err := portalapi.New(portalapi.Config{
		Config:   testConfig(b),
		Intake:   acceptingIntake{},
		Store:    noStore{},
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Observer: nullObserver{},
		// No rate limit gets in the way of the loop.
		AuthFailureRate: 1e9, AuthFailureBurst: 1 << 30,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/submissions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+demoKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
