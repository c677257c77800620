package answerinbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/answerinbox"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/intake/intaketest"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// clock is a settable time for the inbox's notion of now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const interval = time.Minute

// setup returns an inbox on a fresh directory whose clock stands one
// interval after the files the test writes (written with put, dated at
// the clock), so that a file is complete only when seen unchanged twice,
// unless the test moves the clock.
func setup(t *testing.T, r *intaketest.AnswerReceiver, mod func(*answerinbox.Config)) (*answerinbox.Inbox, string, *clock) {
	t.Helper()
	dir := t.TempDir()
	clk := &clock{t: time.Now()}
	cfg := answerinbox.Config{Dir: dir, Tenant: "musterstadt", Destination: "bauamt", PollInterval: interval, Now: clk.now}
	if mod != nil {
		mod(&cfg)
	}
	in, err := answerinbox.New(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	return in, dir, clk
}

// put writes a file as a careful writer does (a dot file renamed into
// place), dated mod.
func put(t *testing.T, dir, name string, data []byte, mod time.Time) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mod, mod); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func poll(t *testing.T, in *answerinbox.Inbox) {
	t.Helper()
	if err := in.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func old() time.Time { return time.Now().Add(-time.Hour) }

func TestAnswersMoveToDone(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, nil)
	for _, name := range append(append([]string{}, answerstest.XML...), answerstest.JSON...) {
		put(t, dir, name, answerstest.Read(t, name), old())
	}
	put(t, dir, "bescheid.zip", answerstest.BescheidContainer(t, answerstest.Refs{Reference: answerstest.Reference}), old())
	poll(t, in)
	want := len(answerstest.XML) + len(answerstest.JSON) + 1
	if calls, stored := r.Counts(); calls != want || stored != want {
		t.Fatalf("calls %d, stored %d, want %d", calls, stored, want)
	}
	if left := names(t, dir); len(left) != 0 {
		t.Errorf("left in the inbox: %v", left)
	}
	if done := names(t, filepath.Join(dir, answerinbox.DoneDir)); len(done) != want {
		t.Errorf("done/ holds %d files, want %d", len(done), want)
	}
	srcs, types := r.Calls()
	for i, src := range srcs {
		if src != (intake.AnswerSource{Tenant: "musterstadt", Destination: "bauamt", Channel: intake.AnswerChannelInbox}) {
			t.Errorf("source %+v", src)
		}
		if types[i] == "" {
			t.Errorf("call %d: no content type from the extension", i)
		}
	}
}

// Sending the same file again is a duplicate: acknowledged, moved to done/
// beside the first, nothing stored twice.
func TestDuplicateMovesToDoneUnderAFreeName(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, nil)
	body := answerstest.Read(t, answerstest.Aktenzeichen)
	put(t, dir, "a.xml", body, old())
	poll(t, in)
	put(t, dir, "a.xml", body, old())
	poll(t, in)
	if calls, stored := r.Counts(); calls != 2 || stored != 1 {
		t.Fatalf("calls %d, stored %d", calls, stored)
	}
	done := names(t, filepath.Join(dir, answerinbox.DoneDir))
	if strings.Join(done, ",") != "a.xml,a.xml.1" {
		t.Errorf("done/ = %v", done)
	}
}

func TestRefusedAndConflictingAnswersMoveToFailedWithReason(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, nil)
	put(t, dir, "xxe.xml", answerstest.Read(t, "hostile/xxe-file.xml"), old())
	poll(t, in)
	body := answerstest.Read(t, answerstest.Aktenzeichen)
	put(t, dir, "first.xml", body, old())
	poll(t, in)
	put(t, dir, "second.xml", bytes.Replace(body, []byte("63-BG-2026-0815"), []byte("63-BG-2026-0816"), 1), old())
	poll(t, in)
	failed := filepath.Join(dir, answerinbox.FailedDir)
	for name, want := range map[string]string{
		"xxe.xml":    "DTDs and entity declarations are refused",
		"second.xml": intake.ErrAnswerConflict.Error(),
	} {
		reason, err := os.ReadFile(filepath.Join(failed, name+answerinbox.ReasonSuffix))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(string(reason), want) {
			t.Errorf("%s: reason %q, want it to say %q", name, reason, want)
		}
		if strings.Contains(string(reason), "passwd") || strings.Contains(string(reason), "0816") {
			t.Errorf("%s: the reason quotes the content: %q", name, reason)
		}
		if _, err := os.Stat(filepath.Join(failed, name)); err != nil {
			t.Errorf("%s not in failed/: %v", name, err)
		}
	}
	if _, stored := r.Counts(); stored != 1 {
		t.Errorf("stored %d, want 1 (only first.xml)", stored)
	}
}

// While the answer service is unavailable the file stays where it is; it
// is received once the service is back.
func TestUnavailableLeavesTheFile(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	var down atomic.Bool
	down.Store(true)
	r.Fail = func([]byte) error {
		if down.Load() {
			return intake.ErrUnavailable
		}
		return nil
	}
	in, dir, _ := setup(t, r, nil)
	put(t, dir, "a.xml", answerstest.Read(t, answerstest.Eingangsbestaetigung), old())
	poll(t, in)
	poll(t, in)
	if left := names(t, dir); strings.Join(left, ",") != "a.xml" {
		t.Fatalf("inbox = %v, want the file kept", left)
	}
	if _, stored := r.Counts(); stored != 0 {
		t.Fatal("stored while unavailable")
	}
	down.Store(false)
	poll(t, in)
	if calls, stored := r.Counts(); calls != 3 || stored != 1 {
		t.Errorf("calls %d, stored %d", calls, stored)
	}
	if left := names(t, dir); len(left) != 0 {
		t.Errorf("inbox = %v", left)
	}
}

// A crash between the commit and the move (here: done/ cannot be created)
// leaves the file in the inbox; the next poll hands it over again, the
// service acknowledges the duplicate, and the file moves on.
func TestFileStaysUntilMoved(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, nil)
	blocker := filepath.Join(dir, answerinbox.DoneDir)
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where done/ should be
		t.Fatal(err)
	}
	put(t, dir, "a.xml", answerstest.Read(t, answerstest.Aktenzeichen), old())
	poll(t, in)
	if _, err := os.Stat(filepath.Join(dir, "a.xml")); err != nil {
		t.Fatalf("the file left the inbox although it could not be moved: %v", err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	poll(t, in)
	if calls, stored := r.Counts(); calls != 2 || stored != 1 {
		t.Errorf("calls %d, stored %d: want the answer received twice and stored once", calls, stored)
	}
	if done := names(t, filepath.Join(dir, answerinbox.DoneDir)); len(done) != 1 {
		t.Errorf("done/ = %v", done)
	}
}

// A file just written is taken only once it was seen unchanged; one still
// growing waits.
func TestIncompleteFilesWait(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, clk := setup(t, r, nil)
	body := answerstest.Read(t, answerstest.Eingangsbestaetigung)
	now := clk.now()
	path := filepath.Join(dir, "growing.xml")
	if err := os.WriteFile(path, body[:100], 0o640); err != nil { // written in place
		t.Fatal(err)
	}
	os.Chtimes(path, now, now)
	poll(t, in)
	if calls, _ := r.Counts(); calls != 0 {
		t.Fatal("a fresh file was taken at first sight")
	}
	if err := os.WriteFile(path, body, 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, now.Add(time.Second), now.Add(time.Second))
	poll(t, in)
	if calls, _ := r.Counts(); calls != 0 {
		t.Fatal("a file that changed since the last poll was taken")
	}
	poll(t, in)
	if calls, stored := r.Counts(); calls != 1 || stored != 1 {
		t.Fatalf("calls %d, stored %d: want the unchanged file taken", calls, stored)
	}
	// A file last modified a whole interval ago is complete at first sight.
	put(t, dir, "backlog.xml", answerstest.Read(t, answerstest.Aktenzeichen), now)
	clk.add(interval)
	poll(t, in)
	if calls, _ := r.Counts(); calls != 2 {
		t.Errorf("calls %d: the backlog file was not taken at first sight", calls)
	}
}

func TestIgnoredFilesStay(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, nil)
	body := answerstest.Read(t, answerstest.Eingangsbestaetigung)
	for _, name := range []string{".hidden.xml", "a.xml.tmp", "b.xml.part", "c.xml~"} {
		put(t, dir, name, body, old())
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o750)
	poll(t, in)
	if calls, _ := r.Counts(); calls != 0 {
		t.Errorf("%d ignored files were handed over", calls)
	}
	if left := names(t, dir); len(left) != 4 {
		t.Errorf("inbox = %v", left)
	}
}

func TestLimitsAndLinks(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, func(c *answerinbox.Config) { c.MaxBytes = 1000 })
	put(t, dir, "large.xml", answerstest.Read(t, answerstest.Bescheid), old()) // > 1000 bytes
	secret := filepath.Join(t.TempDir(), "secret.xml")
	if err := os.WriteFile(secret, answerstest.Read(t, answerstest.Aktenzeichen), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link.xml")); err != nil {
		t.Fatal(err)
	}
	poll(t, in)
	if calls, _ := r.Counts(); calls != 0 {
		t.Errorf("%d calls: a file over the limit or a link was handed over", calls)
	}
	failed := filepath.Join(dir, answerinbox.FailedDir)
	for name, want := range map[string]string{"large.xml": "more than 1000 bytes", "link.xml": "not a regular file"} {
		reason, err := os.ReadFile(filepath.Join(failed, name+answerinbox.ReasonSuffix))
		if err != nil || !strings.Contains(string(reason), want) {
			t.Errorf("%s: reason %q (%v), want %q", name, reason, err, want)
		}
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("the link's target was touched: %v", err)
	}
}

// Files are taken oldest first.
func TestOldestFirst(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, nil)
	base := old()
	put(t, dir, "z-first.xml", answerstest.Read(t, answerstest.Eingangsbestaetigung), base)
	put(t, dir, "a-second.xml", answerstest.Read(t, answerstest.Aktenzeichen), base.Add(time.Second))
	put(t, dir, "m-third.json", answerstest.Read(t, answerstest.JSONReceived), base.Add(2*time.Second))
	poll(t, in)
	want := []string{"application/xml", "application/xml", "application/json"}
	if _, types := r.Calls(); strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("content types in order %v, want %v", types, want)
	}
	if !r.Stored("a1120000-0000-4000-8000-000000001120") {
		t.Error("1120 not stored")
	}
}

// Every file of the hostile corpus ends in failed/ with a reason; nothing
// is stored.
func TestHostileCorpusFails(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, nil)
	hostile := filepath.Join(answerstest.Dir(t), "hostile")
	es, err := os.ReadDir(hostile)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(hostile, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		put(t, dir, e.Name(), b, old())
	}
	poll(t, in)
	if _, stored := r.Counts(); stored != 0 {
		t.Errorf("%d hostile answers stored", stored)
	}
	failed := names(t, filepath.Join(dir, answerinbox.FailedDir))
	if len(failed) != 2*len(es) {
		t.Errorf("failed/ holds %d files, want %d answers and their reasons", len(failed), len(es))
	}
	if left := names(t, dir); len(left) != 0 {
		t.Errorf("left in the inbox: %v", left)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	r := intaketest.NewAnswerReceiver()
	in, dir, _ := setup(t, r, func(c *answerinbox.Config) { c.PollInterval = 10 * time.Millisecond; c.Now = nil })
	put(t, dir, "a.xml", answerstest.Read(t, answerstest.Aktenzeichen), time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	for deadline := time.Now().Add(time.Minute); ; {
		if _, stored := r.Counts(); stored == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the file was not received within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := answerinbox.Config{PollInterval: -1, MaxBytes: -1}.Validate()
	for _, want := range []string{"dir", "tenant", "destination", "poll interval", "max bytes"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to name %s", err, want)
		}
	}
	if _, err := answerinbox.New(answerinbox.Config{Dir: "x", Tenant: "t", Destination: "d"}, nil); err == nil {
		t.Error("New without receiver succeeded")
	}
}
