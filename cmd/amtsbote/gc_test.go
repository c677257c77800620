package main

import (
	"runtime/debug"
	"testing"
)

// TestSetGCPercent: serve's default applies only where GOGC is not set.
func TestSetGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	if got := setGCPercent(func(string) (string, bool) { return "50", true }); got != 0 {
		t.Errorf("with GOGC set: set %d, want nothing", got)
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("with GOGC set: GC percent %d, want 100 (untouched)", p)
	}
	if got := setGCPercent(func(string) (string, bool) { return "", false }); got != defaultGCPercent {
		t.Errorf("without GOGC: set %d, want %d", got, defaultGCPercent)
	}
	if p := debug.SetGCPercent(100); p != defaultGCPercent {
		t.Errorf("without GOGC: GC percent %d, want %d", p, defaultGCPercent)
	}
}
