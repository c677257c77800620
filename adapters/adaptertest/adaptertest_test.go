package adaptertest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/filedrop"
	"github.com/amtsbote/amtsbote/outbox"
)

// TestRunFiledrop runs the suite against the file drop, whose receiving side
// keeps one file per message id: the suite must hold for such receivers too.
func TestRunFiledrop(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, adaptertest.Harness{
		New: func(t *testing.T) (outbox.Deliverer, func() []adaptertest.Received) {
			d, err := filedrop.New(filedrop.Config{Dir: t.TempDir(), Tenant: "musterstadt", Procedure: "meldewesen.test"})
			if err != nil {
				t.Fatal(err)
			}
			return d, func() []adaptertest.Received {
				entries, err := os.ReadDir(d.Dir())
				if err != nil {
					t.Fatal(err)
				}
				var out []adaptertest.Received
				for _, e := range entries {
					id, ok := strings.CutSuffix(e.Name(), ".xml")
					if !ok || strings.HasPrefix(id, ".") {
						continue
					}
					body, err := os.ReadFile(filepath.Join(d.Dir(), e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, adaptertest.Received{MessageID: id, Body: body})
				}
				return out
			}
		},
	})
}
