package answerinbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/intake"
)

// Defaults of Config.
const (
	DefaultPollInterval       = 5 * time.Second
	DefaultMaxBytes     int64 = 20 << 20 // 20 MiB
)

// Names of the subdirectories of Config.Dir.
const (
	DoneDir   = "done"
	FailedDir = "failed"
	// ReasonSuffix is appended to a failed file's name to name its reason file.
	ReasonSuffix = ".reason.txt"
)

// Receiver is what the inbox needs of the answer service.
type Receiver interface {
	Receive(ctx context.Context, src intake.AnswerSource, body []byte, contentType string) (intake.AnswerReceipt, error)
}

// Config configures an Inbox.
type Config struct {
	// Dir is the directory polled. Required. done/ and failed/ are created
	// below it as needed.
	Dir string
	// Tenant, Procedure and Destination say whose answers arrive here:
	// they become the intake.AnswerSource (with Channel
	// intake.AnswerChannelInbox). Tenant and Destination are required.
	Tenant, Procedure, Destination string
	// PollInterval is the time between two looks at Dir. Default
	// DefaultPollInterval.
	PollInterval time.Duration
	// MaxBytes is the largest file accepted; a larger one is moved to
	// failed/. Default DefaultMaxBytes.
	MaxBytes int64
	// Logger receives a record for each file handled (file name, answer and
	// submission ids; never content). Default: discard.
	Logger *slog.Logger
	// OnRefused, optional, is called for each file the inbox refuses
	// itself, before the answer service sees it (too large, not a regular
	// file), so that it can be counted with the service's refusals.
	OnRefused func()
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir is empty"))
	}
	if c.Tenant == "" {
		errs = append(errs, errors.New("tenant is empty"))
	}
	if c.Destination == "" {
		errs = append(errs, errors.New("destination is empty"))
	}
	if c.PollInterval < 0 {
		errs = append(errs, errors.New("poll interval is negative"))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, errors.New("max bytes is negative"))
	}
	if errs != nil {
		return fmt.Errorf("answer inbox config: %w", errors.Join(errs...))
	}
	return nil
}

// Inbox polls one directory for answer files. Run it once.
type Inbox struct {
	cfg      Config
	dir      string
	receiver Receiver
	src      intake.AnswerSource
	logger   *slog.Logger
	// seen holds size and modification time of files not yet taken, from
	// the previous poll.
	seen map[string]stamp
}

type stamp struct {
	size int64
	mod  time.Time
}

// New validates cfg and returns an Inbox handing files to r.
func New(cfg Config, r Receiver) (*Inbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("answer inbox: no receiver")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("answer inbox config: dir: %w", err)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Inbox{
		cfg: cfg, dir: dir, receiver: r, logger: logger.With(slog.String("inbox", dir)),
		src:  intake.AnswerSource{Tenant: cfg.Tenant, Procedure: cfg.Procedure, Destination: cfg.Destination, Channel: intake.AnswerChannelInbox},
		seen: map[string]stamp{},
	}, nil
}

// Run polls until ctx ends, then returns nil after the file in hand. A
// failing poll (Dir missing or unreadable) is logged and tried again at
// the next interval: it does not end Run.
func (in *Inbox) Run(ctx context.Context) error {
	t := time.NewTicker(in.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := in.Poll(ctx); err != nil && ctx.Err() == nil {
			in.logger.ErrorContext(ctx, "answer inbox: poll failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll looks at Dir once and handles every file that is complete, oldest
// first. It returns an error only when Dir cannot be listed; a file that
// cannot be handled is logged and left for the next poll.
func (in *Inbox) Poll(ctx context.Context) error {
	entries, err := os.ReadDir(in.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", in.dir, err)
	}
	type candidate struct {
		name string
		st   stamp
	}
	now := in.cfg.Now()
	var ready []candidate
	seen := map[string]stamp{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || ignored(name) {
			continue
		}
		info, err := os.Lstat(filepath.Join(in.dir, name))
		if err != nil {
			continue // gone meanwhile
		}
		st := stamp{size: info.Size(), mod: info.ModTime()}
		if !info.Mode().IsRegular() {
			ready = append(ready, candidate{name, st}) // refused in handle
			continue
		}
		prev, ok := in.seen[name]
		if (ok && prev == st) || now.Sub(st.mod) >= in.cfg.PollInterval {
			ready = append(ready, candidate{name, st})
			continue
		}
		seen[name] = st
	}
	in.seen = seen
	slices.SortFunc(ready, func(a, b candidate) int {
		if c := a.st.mod.Compare(b.st.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for _, c := range ready {
		if ctx.Err() != nil {
			return nil
		}
		in.handle(ctx, c.name)
	}
	return nil
}

// ignored reports whether name is a file a writer is still writing, by
// convention.
func ignored(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") ||
		strings.HasSuffix(name, ".part") || strings.HasSuffix(name, "~")
}

// contentTypes maps file extensions to the media type passed on.
var contentTypes = map[string]string{
	".xml":  "application/xml",
	".json": "application/json",
	".zip":  "application/zip",
}

// handle reads one file, hands it over and moves it.
func (in *Inbox) handle(ctx context.Context, name string) {
	log := in.logger.With(slog.String("file", name))
	path := filepath.Join(in.dir, name)
	body, refusal, err := in.read(path)
	if err != nil {
		log.WarnContext(ctx, "answer inbox: cannot read the file; trying again at the next poll", slog.Any("error", err))
		return
	}
	if refusal != "" {
		if in.cfg.OnRefused != nil {
			in.cfg.OnRefused()
		}
		in.fail(ctx, log, name, refusal)
		return
	}
	ct := contentTypes[strings.ToLower(filepath.Ext(name))]
	rc, err := in.receiver.Receive(ctx, in.src, body, ct)
	var ae *intake.AnswerError
	switch {
	case err == nil:
		if target, err := in.move(name, DoneDir); err != nil {
			log.ErrorContext(ctx, "answer inbox: answer stored, but the file could not be moved to done/; it will be received again as a duplicate",
				slog.String("answer_id", rc.ID), slog.Any("error", err))
		} else {
			log.InfoContext(ctx, "answer inbox: answer received", slog.String("answer_id", rc.ID),
				slog.Bool("duplicate", rc.Duplicate), slog.Bool("matched", rc.Matched),
				slog.String("submission_id", rc.SubmissionID), slog.String("moved_to", target))
		}
	case errors.As(err, &ae):
		in.fail(ctx, log, name, ae.Error())
	case errors.Is(err, intake.ErrAnswerConflict):
		in.fail(ctx, log, name, intake.ErrAnswerConflict.Error())
	default: // ErrUnavailable, a done ctx, anything unexpected: try again
		if ctx.Err() == nil {
			log.WarnContext(ctx, "answer inbox: the answer could not be stored; trying again at the next poll", slog.Any("error", err))
		}
	}
}

// read returns the content of path, or a refusal: why the file is moved
// to failed/ unread.
func (in *Inbox) read(path string) (body []byte, refusal string, err error) {
	if info, err := os.Lstat(path); err != nil {
		return nil, "", err
	} else if !info.Mode().IsRegular() {
		return nil, "not a regular file", nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if isSymlinkErr(err) {
			return nil, "not a regular file", nil
		}
		return nil, "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !info.Mode().IsRegular() { // replaced since the Lstat
		return nil, "not a regular file", nil
	}
	if info.Size() > in.cfg.MaxBytes {
		return nil, tooLarge(in.cfg.MaxBytes), nil
	}
	body, err = io.ReadAll(io.LimitReader(f, in.cfg.MaxBytes+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(body)) > in.cfg.MaxBytes {
		return nil, tooLarge(in.cfg.MaxBytes), nil
	}
	return body, "", nil
}

func tooLarge(limit int64) string {
	return "invalid answer: the file has more than " + strconv.FormatInt(limit, 10) + " bytes (max_bytes)"
}

// fail writes the reason file and moves name to failed/.
func (in *Inbox) fail(ctx context.Context, log *slog.Logger, name, reason string) {
	target, err := in.failTo(name, reason)
	if err != nil {
		log.ErrorContext(ctx, "answer inbox: refused answer could not be moved to failed/; trying again at the next poll",
			slog.String("reason", reason), slog.Any("error", err))
		return
	}
	log.WarnContext(ctx, "answer inbox: answer refused", slog.String("reason", reason), slog.String("moved_to", target))
}

func (in *Inbox) failTo(name, reason string) (string, error) {
	dir := filepath.Join(in.dir, FailedDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	target, err := freeName(dir, name)
	if err != nil {
		return "", err
	}
	text := reason + "\n" + "time: " + in.cfg.Now().UTC().Format(time.RFC3339) + "\n"
	if err := writeAtomic(filepath.Join(dir, target+ReasonSuffix), []byte(text)); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(in.dir, name), filepath.Join(dir, target)); err != nil {
		return "", err
	}
	syncDir(dir)
	syncDir(in.dir)
	return filepath.Join(FailedDir, target), nil
}

// move renames name into the subdirectory sub, under a free name.
func (in *Inbox) move(name, sub string) (string, error) {
	dir := filepath.Join(in.dir, sub)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	target, err := freeName(dir, name)
	if err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(in.dir, name), filepath.Join(dir, target)); err != nil {
		return "", err
	}
	syncDir(dir)
	syncDir(in.dir)
	return filepath.Join(sub, target), nil
}

// freeName returns name, or name.1, name.2, ... whichever is not taken in
// dir (nor its reason file).
func freeName(dir, name string) (string, error) {
	for i := 0; i < 10000; i++ {
		cand := name
		if i > 0 {
			cand = name + "." + strconv.Itoa(i)
		}
		_, err1 := os.Lstat(filepath.Join(dir, cand))
		_, err2 := os.Lstat(filepath.Join(dir, cand+ReasonSuffix))
		if errors.Is(err1, fs.ErrNotExist) && errors.Is(err2, fs.ErrNotExist) {
			return cand, nil
		}
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}

// writeAtomic writes data to path through a temporary dot file, synced and
// renamed into place.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".reason-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// syncDir makes a rename in dir durable, as far as the platform allows.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
