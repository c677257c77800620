package filedrop_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/filedrop"
	"github.com/amtsbote/amtsbote/outbox"
)

const (
	tenant    = "musterstadt"
	procedure = "meldewesen.wohnungsgeberbestaetigung"
	messageID = "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6"
)

var payload = []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ab:einreichung.0001 xmlns:ab=\"urn:amtsbote:envelope:1\"/>\n")

func newDeliverer(t *testing.T, root string) *filedrop.Deliverer {
	t.Helper()
	d, err := filedrop.New(filedrop.Config{Dir: root, Tenant: tenant, Procedure: procedure})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func delivery(id string, payload []byte) outbox.Delivery {
	return outbox.Delivery{
		MessageID:    id,
		SubmissionID: "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		Topic:        tenant + "/" + procedure + "/filedrop",
		Attempt:      1,
		Payload:      payload,
	}
}

// files returns the paths (relative to root, slash-separated) of all regular
// files below root, and separately those whose name starts with ".".
func files(t *testing.T, root string) (all, hidden []string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		all = append(all, filepath.ToSlash(rel))
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all, hidden
}

// assertDelivered checks that exactly the file of id exists below root, with
// want as content and FileMode as permissions.
func assertDelivered(t *testing.T, root, id string, want []byte) {
	t.Helper()
	rel := tenant + "/" + procedure + "/" + id + ".xml"
	all, hidden := files(t, root)
	if len(hidden) != 0 {
		t.Errorf("temporary files left behind: %v", hidden)
	}
	if len(all) != 1 || all[0] != rel {
		t.Errorf("files = %v, want only %s", all, rel)
	}
	path := filepath.Join(root, filepath.FromSlash(rel))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("content of %s = %q, want %q", rel, got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != filedrop.FileMode {
		t.Errorf("mode of %s = %v, want %v", rel, fi.Mode().Perm(), filedrop.FileMode)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	abs := t.TempDir()
	tests := []struct {
		name    string
		cfg     filedrop.Config
		wantDir string // "" when New must fail
	}{
		{
			name:    "absolute dir",
			cfg:     filedrop.Config{Dir: abs, Tenant: tenant, Procedure: procedure},
			wantDir: filepath.Join(abs, tenant, procedure),
		},
		{
			name:    "dir is cleaned",
			cfg:     filedrop.Config{Dir: abs + "/x/../", Tenant: tenant, Procedure: procedure},
			wantDir: filepath.Join(abs, tenant, procedure),
		},
		{
			name:    "relative dir made absolute",
			cfg:     filedrop.Config{Dir: "drop", Tenant: tenant, Procedure: procedure},
			wantDir: filepath.Join(mustGetwd(t), "drop", tenant, procedure),
		},
		{name: "empty dir", cfg: filedrop.Config{Tenant: tenant, Procedure: procedure}},
		{name: "empty tenant", cfg: filedrop.Config{Dir: abs, Procedure: procedure}},
		{name: "empty procedure", cfg: filedrop.Config{Dir: abs, Tenant: tenant}},
		{name: "dot tenant", cfg: filedrop.Config{Dir: abs, Tenant: ".", Procedure: procedure}},
		{name: "dot-dot tenant", cfg: filedrop.Config{Dir: abs, Tenant: "..", Procedure: procedure}},
		{name: "traversing procedure", cfg: filedrop.Config{Dir: abs, Tenant: tenant, Procedure: "../../etc"}},
		{name: "dot-dot inside procedure", cfg: filedrop.Config{Dir: abs, Tenant: tenant, Procedure: "a..b"}},
		{name: "slash in tenant", cfg: filedrop.Config{Dir: abs, Tenant: "a/b", Procedure: procedure}},
		{name: "backslash in procedure", cfg: filedrop.Config{Dir: abs, Tenant: tenant, Procedure: `a\b`}},
		{name: "NUL in tenant", cfg: filedrop.Config{Dir: abs, Tenant: "a\x00", Procedure: procedure}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := filedrop.New(tt.cfg)
			if tt.wantDir == "" {
				if err == nil {
					t.Fatalf("New(%+v) succeeded, want an error", tt.cfg)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if d.Dir() != tt.wantDir {
				t.Errorf("Dir() = %q, want %q", d.Dir(), tt.wantDir)
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	err := filedrop.Config{Tenant: "a/b", Procedure: ".."}.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	for _, want := range []string{"dir is empty", "tenant:", "procedure:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestDeliver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id      string
		payload []byte
	}{
		{name: "lowercase uuid", id: messageID, payload: payload},
		{name: "uppercase uuid", id: strings.ToUpper(messageID), payload: payload},
		{name: "uuid without hyphens", id: "5f2c8e1a93b74d068e4fa1b2c3d4e5f6", payload: payload},
		{name: "binary payload", id: messageID, payload: []byte{0, 1, 2, 0xff, '\r', '\n'}},
		{name: "large payload", id: messageID, payload: bytes.Repeat([]byte("Müller-Lüdenscheidt "), 100_000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			d := newDeliverer(t, root)
			if err := d.Deliver(t.Context(), delivery(tt.id, tt.payload)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			assertDelivered(t, root, tt.id, tt.payload)
		})
	}
}

func TestDeliverAgainIsHarmless(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d := newDeliverer(t, root)
	for attempt := 1; attempt <= 3; attempt++ {
		dl := delivery(messageID, payload)
		dl.Attempt = attempt
		if err := d.Deliver(t.Context(), dl); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		assertDelivered(t, root, messageID, payload)
	}
}

func TestDeliverConcurrentRedelivery(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d := newDeliverer(t, root)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = d.Deliver(t.Context(), delivery(messageID, payload)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	assertDelivered(t, root, messageID, payload)
}

func TestDeliverPermanentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id      string
		payload []byte
	}{
		{name: "empty id", id: "", payload: payload},
		{name: "parent directory", id: "..", payload: payload},
		{name: "traversal", id: "../../../etc/cron.d/x", payload: payload},
		{name: "absolute path", id: "/etc/passwd", payload: payload},
		{name: "backslash traversal", id: `..\..\x`, payload: payload},
		{name: "slash inside", id: "5f2c8e1a/93b7", payload: payload},
		{name: "dot file", id: ".5f2c8e1a", payload: payload},
		{name: "extension", id: messageID + ".xml", payload: payload},
		{name: "percent-encoded dots", id: "%2e%2e", payload: payload},
		{name: "NUL byte", id: "5f2c\x00", payload: payload},
		{name: "non-hex letters", id: "zzzzzzzz-93b7-4d06-8e4f-a1b2c3d4e5f6", payload: payload},
		{name: "too long", id: strings.Repeat("a", 65), payload: payload},
		{name: "empty payload", id: messageID, payload: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			d := newDeliverer(t, filepath.Join(root, "drop"))
			err := d.Deliver(t.Context(), delivery(tt.id, tt.payload))
			if !errors.Is(err, outbox.ErrPermanent) {
				t.Fatalf("Deliver(%q) = %v, want a permanent error", tt.id, err)
			}
			// Nothing was created, not even the drop directory.
			entries, err := os.ReadDir(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("Deliver(%q) created %v", tt.id, entries)
			}
		})
	}
}

// TestDeliverObstructed puts a regular file or a directory where the
// Deliverer needs a directory or the target file. That works even as root,
// where permissions would not stop the Deliverer. The error must be
// retryable, leave no temporary file, and delivery must succeed once the
// obstruction is gone.
func TestDeliverObstructed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		path string // relative to the root
		dir  bool   // a directory rather than a regular file
	}{
		{name: "file at the drop directory", path: "drop"},
		{name: "file at the tenant directory", path: "drop/" + tenant},
		{name: "file at the procedure directory", path: "drop/" + tenant + "/" + procedure},
		{name: "directory at the target file", path: "drop/" + tenant + "/" + procedure + "/" + messageID + ".xml", dir: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			obstruction := filepath.Join(root, filepath.FromSlash(tt.path))
			if tt.dir {
				if err := os.MkdirAll(filepath.Join(obstruction, "inhalt"), 0o750); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.MkdirAll(filepath.Dir(obstruction), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(obstruction, []byte("im Weg"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			drop := filepath.Join(root, "drop")
			d := newDeliverer(t, drop)

			err := d.Deliver(t.Context(), delivery(messageID, payload))
			if err == nil {
				t.Fatal("Deliver succeeded despite the obstruction")
			}
			if errors.Is(err, outbox.ErrPermanent) {
				t.Fatalf("Deliver = %v, want a retryable error", err)
			}
			if !strings.Contains(err.Error(), messageID) {
				t.Errorf("error %q does not name the message", err)
			}
			if _, hidden := files(t, root); len(hidden) != 0 {
				t.Errorf("temporary files left behind: %v", hidden)
			}

			if err := os.RemoveAll(obstruction); err != nil {
				t.Fatal(err)
			}
			if err := d.Deliver(t.Context(), delivery(messageID, payload)); err != nil {
				t.Fatalf("Deliver after removing the obstruction: %v", err)
			}
			assertDelivered(t, drop, messageID, payload)
		})
	}
}

func TestDeliverCanceled(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d := newDeliverer(t, root)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := d.Deliver(ctx, delivery(messageID, payload))
	if !errors.Is(err, context.Canceled) || errors.Is(err, outbox.ErrPermanent) {
		t.Fatalf("Deliver with a canceled context = %v, want context.Canceled, not permanent", err)
	}
	if all, _ := files(t, root); len(all) != 0 {
		t.Errorf("files written despite the canceled context: %v", all)
	}
}

// An xdomea container (metadata content_type application/zip) is dropped as .zip.
func TestDeliverZIPContainer(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d := newDeliverer(t, root)
	dl := delivery(messageID, []byte("PK\x03\x04container"))
	dl.Metadata = map[string]string{outbox.MetaContentType: "application/zip"}
	if err := d.Deliver(t.Context(), dl); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	all, _ := files(t, root)
	if want := tenant + "/" + procedure + "/" + messageID + ".zip"; len(all) != 1 || all[0] != want {
		t.Fatalf("files = %v, want [%s]", all, want)
	}
}

// A message's MetaFileName names its file (an xdomea container is named
// like the message inside it); one that could name another message's file
// or leave the directory is a permanent error, and nothing is written.
func TestDeliverFileName(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d := newDeliverer(t, root)
	dl := delivery(messageID, []byte("PK\x03\x04container"))
	dl.Metadata = map[string]string{outbox.MetaContentType: "application/zip",
		outbox.MetaFileName: messageID + "_FVDaten.SGOAblegen.0605"}
	if err := d.Deliver(t.Context(), dl); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	all, _ := files(t, root)
	if want := tenant + "/" + procedure + "/" + messageID + "_FVDaten.SGOAblegen.0605.zip"; len(all) != 1 || all[0] != want {
		t.Fatalf("files = %v, want [%s]", all, want)
	}
	for _, bad := range []string{"other", "../" + messageID, messageID + "/../x", messageID + "_a b", messageID + "..x"} {
		root := t.TempDir()
		dl.Metadata[outbox.MetaFileName] = bad
		if err := newDeliverer(t, root).Deliver(t.Context(), dl); !errors.Is(err, outbox.ErrPermanent) {
			t.Errorf("file name %q: err = %v, want a permanent error", bad, err)
		}
		if all, _ := files(t, root); len(all) != 0 {
			t.Errorf("file name %q: files written: %v", bad, all)
		}
	}
}

// deliveredFile is the path the file drop below root writes m to.
func deliveredFile(root string, m adaptertest.BundleMessage) string {
	return filepath.Join(root, tenant, procedure, m.Delivery.MessageID+".zip")
}

// checkZIPFile compares the container at path with what m must arrive as.
func checkZIPFile(t *testing.T, path string, m adaptertest.BundleMessage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != filedrop.FileMode {
		t.Errorf("mode of %s = %v, want %v", path, fi.Mode().Perm(), filedrop.FileMode)
	}
	got, err := adaptertest.ZIPDigests(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	m.Check(t, got)
}

// A bundle is assembled into <id>.zip, its blobs read from a real store.
func TestDeliverBundle(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d := newDeliverer(t, root)
	m := adaptertest.StageBundle(t, adaptertest.SQLiteSource(t), 1, adaptertest.BundleFiles()...)
	for attempt := 1; attempt <= 2; attempt++ {
		m.Delivery.Attempt = attempt
		if err := d.Deliver(t.Context(), m.Delivery); err != nil {
			t.Fatalf("attempt %d: Deliver: %v", attempt, err)
		}
		all, hidden := files(t, root)
		if want := tenant + "/" + procedure + "/" + m.Delivery.MessageID + ".zip"; len(all) != 1 || all[0] != want || len(hidden) != 0 {
			t.Fatalf("files = %v, want only %s", all, want)
		}
		checkZIPFile(t, deliveredFile(root, m), m)
	}
}

// A bundle whose blob is missing or corrupt is a permanent error that
// leaves no file, temporary or not.
func TestDeliverBundleBrokenBlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		corrupt bool
		want    error
	}{
		{name: "missing", want: outbox.ErrNotFound},
		{name: "corrupt", corrupt: true, want: outbox.ErrBlobCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			d := newDeliverer(t, root)
			blobs := adaptertest.NewMemBlobs()
			attachments := adaptertest.BundleFiles()
			attachments[0].Unstored = !tt.corrupt
			m := adaptertest.StageBundle(t, blobs, 1, attachments...)
			if tt.corrupt {
				blobs.Corrupt(t, m.Files[0].Blob)
			}
			err := d.Deliver(t.Context(), m.Delivery)
			if !errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, tt.want) {
				t.Fatalf("Deliver = %v, want a permanent error wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), m.Delivery.MessageID) {
				t.Errorf("error %q does not name the message", err)
			}
			if all, _ := files(t, root); len(all) != 0 {
				t.Errorf("files left behind: %v", all)
			}
		})
	}
}

// A bundle without a blob store (a relay that forgot WithBlobs) and an
// undecodable bundle are permanent errors.
func TestDeliverBundleMisconfigured(t *testing.T) {
	t.Parallel()
	m := adaptertest.StageBundle(t, adaptertest.NewMemBlobs(), 1, adaptertest.BundleFiles()...)
	noStore := m.Delivery.WithBlobs(nil)
	garbled := m.Delivery
	garbled.Payload = []byte(`{"entries": [`)
	for name, dl := range map[string]outbox.Delivery{"no blob store": noStore, "undecodable": garbled} {
		root := t.TempDir()
		err := newDeliverer(t, root).Deliver(t.Context(), dl)
		if !errors.Is(err, outbox.ErrPermanent) {
			t.Errorf("%s: Deliver = %v, want a permanent error", name, err)
		}
		if all, _ := files(t, root); len(all) != 0 {
			t.Errorf("%s: files left behind: %v", name, all)
		}
	}
}

// TestTemporaryFilesOfLostAttempts: a process killed mid-write leaves its
// temporary file; the message's redelivery removes it, and RemoveStaleTemps
// (at start) removes those unchanged for StaleTempAge, not fresh ones.
func TestTemporaryFilesOfLostAttempts(t *testing.T) {
	root := t.TempDir()
	d := newDeliverer(t, root)
	if err := os.MkdirAll(d.Dir(), 0o750); err != nil {
		t.Fatal(err)
	}
	const other = "6a1d9e2b-0c3f-4b5a-8d7e-f0e1d2c3b4a5"
	const third = "7b2e0f3c-1d4a-4c6b-9e8f-a1f2e3d4c5b6"
	lost := filepath.Join(d.Dir(), "."+messageID+".xml.123456.tmp")
	stale := filepath.Join(d.Dir(), "."+other+".xml.654321.tmp")
	fresh := filepath.Join(d.Dir(), "."+third+".xml.111111.tmp")
	for _, p := range []string{lost, stale, fresh} {
		if err := os.WriteFile(p, []byte("<partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * filedrop.StaleTempAge)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	dl := delivery(messageID, payload)
	dl.Attempt = 2 // the first was lost mid-write
	if err := d.Deliver(context.Background(), dl); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	assertExists(t, lost, false)
	assertExists(t, stale, true) // another message's: not this delivery's to remove
	assertExists(t, fresh, true)

	n, err := d.RemoveStaleTemps()
	if err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemps = %d, %v; want 1", n, err)
	}
	assertExists(t, stale, false)
	assertExists(t, fresh, true) // may be a write in progress of another process
	if err := os.Remove(fresh); err != nil {
		t.Fatal(err)
	}
	assertDelivered(t, root, messageID, payload)

	missing := newDeliverer(t, filepath.Join(root, "nowhere"))
	if n, err := missing.RemoveStaleTemps(); err != nil || n != 0 {
		t.Fatalf("RemoveStaleTemps on a missing directory = %d, %v; want 0, nil", n, err)
	}
}

func assertExists(t *testing.T, path string, want bool) {
	t.Helper()
	_, err := os.Stat(path)
	if got := err == nil; got != want {
		t.Fatalf("%s exists: %v, want %v (%v)", filepath.Base(path), got, want, err)
	}
}

func TestPermanentErrorsAreInvalidMessages(t *testing.T) {
	d := newDeliverer(t, t.TempDir())
	err := d.Deliver(context.Background(), delivery("not a uuid", payload))
	if got := outbox.ClassifyError(err); got != outbox.ClassInvalidMessage {
		t.Fatalf("class %q, want invalid_message (err %v)", got, err)
	}
}

func TestUnwritableDropIsStorageUnavailable(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, tenant), nil, 0o600); err != nil { // a file where the directory goes
		t.Fatal(err)
	}
	err := newDeliverer(t, root).Deliver(context.Background(), delivery(messageID, payload))
	if got := outbox.ClassifyError(err); err == nil || got != outbox.ClassStorageUnavailable {
		t.Fatalf("class %q, want storage_unavailable (err %v)", got, err)
	}
}
