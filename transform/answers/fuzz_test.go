package answers_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/amtsbote/amtsbote/transform/answers"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// FuzzParse: any body gives an Answer with a message id, a kind and a
// reference, or an *answers.Error; never a panic.
func FuzzParse(f *testing.F) {
	dir := answerstest.Dir(f)
	for _, sub := range []string{"", "hostile"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			if len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Add(answerstest.BescheidContainer(f, answerstest.Refs{MessageID: "5d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", Reference: answerstest.Reference}))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := answers.Parse(body, "", answers.Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxEntries: 8})
		if err != nil {
			var ae *answers.Error
			if !errors.As(err, &ae) || ae.Reason == "" {
				t.Fatalf("err = %T %v, want *answers.Error with a reason", err, err)
			}
			return
		}
		if a.MessageID == "" || a.Kind == "" || a.Type == "" || (a.Reference == "" && a.SubmissionReference == "") || a.SentAt.IsZero() {
			t.Fatalf("incomplete answer accepted: %+v", a)
		}
	})
}
