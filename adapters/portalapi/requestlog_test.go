package portalapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
)

// recordingHandler keeps the records it is given.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// TestRequestLogRecord checks the record of an answered request: its
// attributes, and no caller (pc 0), which would always name the same
// function and cost runtime.Callers on every request.
func TestRequestLogRecord(t *testing.T) {
	t.Parallel()
	rh := &recordingHandler{}
	h, err := portalapi.New(portalapi.Config{Config: testConfig(t), Intake: acceptingIntake{}, Store: noStore{}, Logger: slog.New(rh)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/submissions", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+demoKey)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want a refusal of the empty object", rec.Code)
	}
	rh.mu.Lock()
	defer rh.mu.Unlock()
	var found bool
	for _, r := range rh.records {
		if r.Message != "request" {
			continue
		}
		found = true
		if r.Level != slog.LevelInfo || r.PC != 0 {
			t.Errorf("request record: level %v, pc %#x; want Info and no caller", r.Level, r.PC)
		}
		got := map[string]string{}
		r.Attrs(func(a slog.Attr) bool { got[a.Key] = a.Value.String(); return true })
		for k, v := range map[string]string{"method": "POST", "route": portalapi.RouteSubmit, "status": "422", "portal_id": demoPortal} {
			if got[k] != v {
				t.Errorf("request record: %s = %q, want %q (all: %v)", k, got[k], v, got)
			}
		}
		if _, ok := got["duration"]; !ok {
			t.Errorf("request record without duration: %v", got)
		}
	}
	if !found {
		t.Fatal("no request record")
	}
}
