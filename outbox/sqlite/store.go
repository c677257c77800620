package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql queries.sql reseal.sql
var files embed.FS

var queryNames = []string{
	"InsertSubmission", "SubmissionByKey", "SubmissionByID", "InsertMessage", "ClaimDue", "ClaimHead",
	"Complete", "InsertAttempt", "Release", "MakeDue", "NextDue", "MessagesBySubmission", "Attempts",
	"List", "MessagesByID", "ReplayMessage", "ReplayDead", "InsertReplay", "Replays",
	"InsertMessageIgnore", "InsertEvent", "SubmissionInfo", "SubmissionExists", "Events", "StatsOpen", "StatsDead", "LastDelivered",
	"ListSubmissions", "MessagesOfSubmissions", "PurgeMessages", "PurgeSubmissions", "DiscardMessage",
	"TakeEventSeqs", "StartEventSeqs", "KeepTransformed", "ClearTransformed",
	"OpenAlarm", "CloseAlarm",
	"PutBlobChunk", "DeleteStagedBlob", "PurgeStagedBlobs", "BlobByID", "BlobChunk", "StagedChunks", "InsertBlob",
	"PurgeBlobChunks", "PurgeBlobs",
	"SubmissionPayloads", "RewriteSubmissionPayload", "MessagePayloads", "RewriteMessagePayload",
	"BlobChunks", "RewriteBlobChunk", "BlobHeaders", "RewriteBlobHeader",
	"InsertAnswer", "AnswerByMessageID", "AnswerByID", "AnswersBySubmission", "ListAnswers", "InsertAnswerAttachment",
	"AnswerAttachments", "InsertAnswerEvent", "AnswerEvents", "AssignAnswer", "DiscardAnswer", "AnswerState",
	"UnmatchedAnswers", "MessageTarget", "PurgeAnswers", "PurgeAnswerBlobChunks", "PurgeAnswerBlobs",
	"AnswerPayloads", "RewriteAnswerPayload",
}

// Store is the SQLite outbox store: the logic of sqlstore over this
// package's queries.
type Store struct {
	*sqlstore.Store
	write *sql.DB // one connection: writes are serialised in-process
	read  *sql.DB
	d     *driver
	ckpt  *checkpointer
	stop  sync.Once
}

var (
	_ outbox.Store          = (*Store)(nil)
	_ outbox.BatchCompleter = (*Store)(nil)
)

// DefaultBusyTimeout is the default of Config.BusyTimeout.
const DefaultBusyTimeout = 10 * time.Second

// Config configures the store.
type Config struct {
	// Path is the database file, created if needed.
	Path string
	// BusyTimeout bounds the wait for the database's write lock, held by
	// another connection or process (SQLite's busy_timeout). Default
	// DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MaxGroup bounds the write transactions committed together in one
	// group transaction (see Store). Default DefaultMaxGroup.
	MaxGroup int
	// CheckpointInterval is how often the background checkpoint copies the
	// WAL into the database file. Default DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// CheckpointPages is the WAL size in pages above which a checkpoint
	// that could not copy every page runs between two write transactions,
	// so that the WAL restarts; the WAL file is truncated to this size
	// (4 KiB pages) when it restarts. Default DefaultCheckpointPages.
	CheckpointPages int
	// Logger receives the errors of background checkpoints; default none.
	Logger *slog.Logger
}

// Open opens (creating if needed) the database file at path and applies migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenConfig(ctx, Config{Path: path})
}

// OpenConfig is Open with the settings of cfg.
func OpenConfig(ctx context.Context, cfg Config) (*Store, error) {
	path := cfg.Path
	busy := cmp.Or(cfg.BusyTimeout, DefaultBusyTimeout)
	pages := cmp.Or(cfg.CheckpointPages, DefaultCheckpointPages)
	if cfg.MaxGroup < 0 || cfg.CheckpointInterval < 0 || pages < 0 {
		return nil, errors.New("open sqlite: MaxGroup, CheckpointInterval and CheckpointPages must not be negative")
	}
	q, err := sqlfile.Load(files, []string{"queries.sql", "reseal.sql"}, queryNames...)
	if err != nil {
		return nil, err
	}
	dsn := func(txlock string) string {
		v := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()), "foreign_keys(1)",
			"wal_autocheckpoint(0)", fmt.Sprintf("journal_size_limit(%d)", pages*4096)} {
			v.Add("_pragma", p)
		}
		v.Set("_txlock", txlock)
		return "file:" + uriPath(path) + "?" + v.Encode()
	}
	if err := restrictFiles(path); err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, name := range keptQueries {
		keep[q[name]] = true
	}
	write, err := openDB(dsn("immediate"), keep)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	if err := restrictFiles(path); err != nil { // the -wal and -shm files exist now
		write.Close()
		return nil, err
	}
	read, err := openDB(dsn("deferred"), keep)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	s.read = read
	own, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	own.SetMaxOpenConns(1)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.ckpt = &checkpointer{own: own, write: write, interval: cmp.Or(cfg.CheckpointInterval, DefaultCheckpointInterval),
		pages: pages, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	s.d = &driver{executor: executor{r: read, w: write, q: q}, read: read, write: write,
		wr: &writer{db: write, maxGroup: cmp.Or(cfg.MaxGroup, DefaultMaxGroup)}}
	s.Store = sqlstore.New(s.d, sqlstore.Config{})
	go s.ckpt.run()
	return s, nil
}

// Close stops the background checkpoints and closes the database.
func (s *Store) Close() error {
	s.stop.Do(func() { close(s.ckpt.stop) })
	<-s.ckpt.done
	return errors.Join(s.ckpt.own.Close(), s.Store.Close())
}

// FileMode is the mode of the database file and its -wal and -shm files,
// whatever the umask: they hold submissions, only the owner may read them.
const FileMode os.FileMode = 0o600

// restrictFiles creates the database file with FileMode if it is missing
// (SQLite gives its -wal and -shm files the database file's mode) and sets
// FileMode on the files that exist.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite %s: %w", p, err)
		}
		if fi.Mode().Perm() != FileMode {
			if err := os.Chmod(p, FileMode); err != nil {
				return fmt.Errorf("sqlite %s: restrict to the owner: %w", p, err)
			}
		}
	}
	return nil
}

// uriPath escapes the characters a SQLite URI filename gives meaning to ('?' starts
// the parameters, '#' a fragment, '%' an escape), so any path works, "#" included.
func uriPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

func (s *Store) migrate(ctx context.Context) error {
	migs, err := sqlfile.Migrations(files, "migrations")
	if err != nil {
		return err
	}
	// Migrations may rebuild tables (SQLite cannot alter constraints), which
	// needs foreign keys off; that cannot change inside a transaction. The
	// write pool's only connection runs the migration and gets them back on.
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range migs {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, micros(time.Now())); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	violation := rows.Next()
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if violation {
		return errors.New("migrate: foreign key violations after migration")
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// MigrationsApplied reports whether the schema is at the version this build expects.
func (s *Store) MigrationsApplied(ctx context.Context) (bool, error) {
	migs, err := sqlfile.Migrations(files, "migrations")
	if err != nil {
		return false, err
	}
	var current int
	if err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return false, err
	}
	return current >= migs[len(migs)-1].Version, nil
}

type rowScanner interface{ Scan(dest ...any) error }

func scanSubmission(r rowScanner) (outbox.Submission, error) {
	var sub outbox.Submission
	var created int64
	err := r.Scan(&sub.ID, &sub.PortalID, &sub.TenantID, &sub.ProcedureID, &sub.IdempotencyKey,
		&sub.RequestHash, &sub.Payload, &created)
	sub.CreatedAt = fromMicros(created)
	return sub, err
}

func scanMessages(rows *sql.Rows) ([]outbox.Message, error) {
	msgs, _, err := scanMessagesSeq(rows)
	return msgs, err
}

// scanMessagesSeq reads message rows and returns them in seq order with their seqs.
func scanMessagesSeq(rows *sql.Rows) ([]outbox.Message, []int64, error) {
	defer rows.Close()
	type seqMsg struct {
		seq int64
		m   outbox.Message
	}
	var out []seqMsg
	for rows.Next() {
		var sm seqMsg
		var md, state string
		var next, created, updated, delivered, retryFrom int64
		m := &sm.m
		if err := rows.Scan(&sm.seq, &m.ID, &m.Topic, &m.SubmissionID, &m.Payload, &md, &state, &m.Attempts,
			&next, &m.LastError, &created, &updated, &delivered, &retryFrom, &m.LastErrorClass); err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal([]byte(md), &m.Metadata); err != nil {
			return nil, nil, fmt.Errorf("decode metadata of %s: %w", m.ID, err)
		}
		m.State = outbox.State(state)
		m.NextAttemptAt, m.CreatedAt, m.UpdatedAt = fromMicros(next), fromMicros(created), fromMicros(updated)
		m.RetryFrom = fromMicros(retryFrom)
		if delivered != 0 {
			m.DeliveredAt = fromMicros(delivered)
		}
		out = append(out, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	// RETURNING yields rows in no defined order.
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	msgs := make([]outbox.Message, len(out))
	seqs := make([]int64, len(out))
	for i := range out {
		msgs[i], seqs[i] = out[i].m, out[i].seq
	}
	return msgs, seqs, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
