package filedrop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// Permissions of what a Deliverer creates: the Fachverfahren's group may read.
const (
	DirMode  os.FileMode = 0o750 // new directories, before the umask
	FileMode os.FileMode = 0o640 // delivered files, regardless of the umask
)

// maxMessageIDLength bounds message ids; a UUID has 36 characters.
const maxMessageIDLength = 64

// Config configures a Deliverer.
type Config struct {
	// Dir is the drop directory shared with the Fachverfahren. A relative
	// path is made absolute (against the working directory) by New. Required.
	Dir string
	// Tenant is the tenant id, the first directory level below Dir. Required;
	// it may not contain path separators or "..".
	Tenant string
	// Procedure is the procedure id, the second directory level. Required;
	// it may not contain path separators or "..".
	Procedure string
	// Logger receives a debug record for every file written (ids and path,
	// never the payload). Default: discard.
	Logger *slog.Logger
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir is empty"))
	}
	if err := checkPathElement(c.Tenant); err != nil {
		errs = append(errs, fmt.Errorf("tenant: %w", err))
	}
	if err := checkPathElement(c.Procedure); err != nil {
		errs = append(errs, fmt.Errorf("procedure: %w", err))
	}
	if errs != nil {
		return fmt.Errorf("filedrop config: %w", errors.Join(errs...))
	}
	return nil
}

// checkPathElement checks that name is one harmless directory name.
func checkPathElement(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case name == ".":
		return errors.New(`"." is not a directory name`)
	case strings.Contains(name, ".."):
		return fmt.Errorf("%q contains \"..\"", name)
	case strings.ContainsAny(name, `/\`+string(os.PathSeparator)):
		return fmt.Errorf("%q contains a path separator", name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%q contains a NUL byte", name)
	}
	return nil
}

// Deliverer writes each delivered message as a file into one tenant's and
// procedure's directory. It is safe for concurrent use.
type Deliverer struct {
	base   string // absolute Config.Dir
	dir    string // base/tenant/procedure
	logger *slog.Logger
}

var _ outbox.Deliverer = (*Deliverer)(nil)

// New validates cfg and returns a Deliverer. It creates no directories: they
// are created, and recreated if removed, on delivery.
func New(cfg Config) (*Deliverer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("filedrop config: dir: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{
		base:   base,
		dir:    filepath.Join(base, cfg.Tenant, cfg.Procedure),
		logger: logger,
	}, nil
}

// Dir returns the directory the files are written to, <Dir>/<Tenant>/<Procedure>.
func (d *Deliverer) Dir() string { return d.dir }

// Deliver writes the content of dl atomically to Dir()/<message-id>.xml,
// or <message-id>.zip for a ZIP container (see extension); an xdomea
// container is named like the message inside it (Delivery.BaseName). A bundle's
// container is assembled into the file as it is written, its attachments
// streamed from the blob store chunk by chunk, never held whole. An
// invalid message id, an empty payload, an undecodable bundle and a
// missing or corrupt blob are permanent errors (errors.Is(err,
// outbox.ErrPermanent)); filesystem and other store errors and a done ctx
// are not.
func (d *Deliverer) Deliver(ctx context.Context, dl outbox.Delivery) error {
	if err := d.deliver(ctx, dl); err != nil {
		if errors.Is(err, outbox.ErrPermanent) {
			// There is no receiver to reject it: the message itself is at fault.
			err = outbox.Classify(outbox.ClassInvalidMessage, err)
		}
		return fmt.Errorf("filedrop: message %s: %w", dl.MessageID, err)
	}
	return nil
}

func (d *Deliverer) deliver(ctx context.Context, dl outbox.Delivery) error {
	if err := checkMessageID(dl.MessageID); err != nil {
		return outbox.Permanent(err)
	}
	b, isBundle, err := dl.Bundle()
	if err != nil {
		return err // permanent
	}
	if !isBundle && len(dl.Payload) == 0 {
		return outbox.Permanent(errors.New("empty payload"))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A blob that is not stored fails before anything is created; one
	// that turns out corrupt at its end fails the write below.
	for _, e := range b.Entries {
		if _, _, err := dl.OpenEntry(ctx, e); err != nil {
			return fmt.Errorf("entry %s: %w", e.Name, err)
		}
	}
	name, err := dl.BaseName()
	if err != nil {
		return err // permanent
	}
	if err := d.ensureDir(); err != nil {
		return err
	}
	path := filepath.Join(d.dir, name+extension(dl.Metadata[outbox.MetaContentType], isBundle))
	if dl.Attempt > 1 {
		// An earlier attempt may have been cut short by a crash mid-write.
		d.removeTemps(ctx, path)
	}
	if err := writeFileAtomic(ctx, path, func(w io.Writer) error { return dl.WriteTo(ctx, w) }); err != nil {
		return err
	}
	d.logger.DebugContext(ctx, "file dropped",
		slog.String("message_id", dl.MessageID),
		slog.String("submission_id", dl.SubmissionID),
		slog.Int("attempt", dl.Attempt),
		slog.String("path", path))
	return nil
}

// tempPattern matches the temporary files writeFileAtomic creates for
// files named base.
func tempPattern(base string) string { return "." + base + ".*.tmp" }

// removeTemps removes the temporary files of earlier attempts to write path.
func (d *Deliverer) removeTemps(ctx context.Context, path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), globEscape(tempPattern(filepath.Base(path)))))
	for _, m := range matches {
		if err := os.Remove(m); err == nil {
			d.logger.InfoContext(ctx, "temporary file of an interrupted delivery removed", slog.String("file", m))
		}
	}
}

// globEscape escapes the glob metacharacters of a file name, keeping the
// "*" that tempPattern puts in.
func globEscape(pattern string) string {
	return strings.NewReplacer(`[`, `\[`, `?`, `\?`, `\`, `\\`).Replace(pattern)
}

// StaleTempAge is how long a temporary file must have been left unchanged
// before RemoveStaleTemps takes it for the leftover of a lost process (a
// write in progress, also of another process on the same directory,
// changes it continuously).
const StaleTempAge = time.Minute

// RemoveStaleTemps removes the temporary files in Dir() that were left
// unchanged for StaleTempAge: leftovers of a process killed mid-write. It
// is called at start; a message delivered again also removes its own. It
// returns how many files it removed; a missing directory is no error.
func (d *Deliverer) RemoveStaleTemps() (int, error) {
	matches, err := filepath.Glob(filepath.Join(d.dir, ".*.tmp"))
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, m := range matches {
		fi, err := os.Lstat(m)
		if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < StaleTempAge {
			continue
		}
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// extension names files by the payload's media type: ZIP containers (xdomea
// messages, and XÖV messages with attachments, which are bundles) are .zip
// files.
func extension(contentType string, bundle bool) string {
	if bundle || contentType == "application/zip" {
		return ".zip"
	}
	return ".xml"
}

// checkMessageID accepts UUID-like ids: 1 to 64 hex digits and hyphens.
func checkMessageID(id string) error {
	if id == "" {
		return errors.New("empty message id")
	}
	if len(id) > maxMessageIDLength {
		return fmt.Errorf("message id of %d bytes is longer than %d", len(id), maxMessageIDLength)
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '-') {
			return fmt.Errorf("message id %q is not UUID-like: only hex digits and hyphens are allowed", id)
		}
	}
	return nil
}

// ensureDir creates the target directory if it is missing and makes the new
// directory entries durable.
func (d *Deliverer) ensureDir() error {
	if fi, err := os.Stat(d.dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(d.dir, DirMode); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	for _, dir := range []string{d.base, filepath.Dir(d.dir)} {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic writes what write produces to path through a synced
// temporary dot file in the same directory and a rename, then syncs the
// directory. On error, write's included, no temporary file is left behind.
func writeFileAtomic(ctx context.Context, path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(filepath.Base(path)))
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // already closed on most paths
			_ = os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err := f.Chmod(FileMode); err != nil {
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
