package adaptertest_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/filedrop"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

// TestRunFiledrop runs the suite against the file drop, whose receiving side
// keeps one file per message id: the suite must hold for such receivers too.
// The bundle cases store their blobs in a real SQLite store.
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
				if errors.Is(err, fs.ErrNotExist) {
					return nil // nothing delivered yet
				}
				if err != nil {
					t.Fatal(err)
				}
				var out []adaptertest.Received
				for _, e := range entries {
					if strings.HasPrefix(e.Name(), ".") {
						continue
					}
					id, ok := strings.CutSuffix(e.Name(), ".xml")
					if !ok {
						id, ok = strings.CutSuffix(e.Name(), ".zip")
					}
					if !ok {
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
		Unbundle: adaptertest.UnzipBody,
		Blobs: func(t *testing.T) adaptertest.BlobSource {
			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "amtsbote.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return adaptertest.InStore(s)
		},
	})
}
