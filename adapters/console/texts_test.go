package console

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestTextsComplete: every text a template or handler names exists in
// German and English.
func TestTextsComplete(t *testing.T) {
	keys := map[string]bool{}
	lit := regexp.MustCompile(`T "([a-z.-]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Keys built at run time: states, circuits, confirmations, alarms, errors, notices.
	for _, k := range []string{"state.pending", "state.retrying", "state.delivered", "state.dead", "state.discarded",
		"circuit.closed", "circuit.open", "circuit.half-open", "confirm.replay", "confirm.discard", "confirm.replayall",
		"confirm.text.replay", "confirm.text.discard", "confirm.text.replayall", "alarm.dead", "alarm.stalled",
		"err.notfound", "err.csrf", "err.session", "err.form", "err.internal", "err.ambiguous", "err.notdead",
		"login.failed", "login.throttled", "done.replayed", "done.discarded", "payload.reason", "action.reason",
		"dead.baddate", "dead.badcursor"} {
		keys[k] = true
	}
	for lang, tr := range texts {
		for k := range keys {
			if strings.TrimSpace(tr[k]) == "" {
				t.Errorf("%s: no text %q", lang, k)
			}
		}
	}
	if len(texts["de"]) != len(texts["en"]) {
		t.Errorf("de has %d texts, en %d", len(texts["de"]), len(texts["en"]))
	}
}
