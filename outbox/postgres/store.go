package postgres

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

//go:embed migrations/*.sql queries.sql reseal.sql
var files embed.FS

const notifyChannel = "amtsbote_outbox"

var queryNames = []string{
	"InsertSubmission", "SubmissionByKey", "SubmissionByID", "InsertMessage", "Notify", "ClaimDue", "ClaimHead",
	"Complete", "Release", "MakeDue", "NextDue", "MessagesBySubmission", "Attempts", "SchemaVersion",
	"List", "MessagesByID", "LockMessagesByID", "ReplayMessage", "ReplayDead", "Replays",
	"InsertMessageIgnore", "InsertEvent", "SubmissionInfo", "SubmissionExists", "Events", "StatsOpen", "StatsDead",
	"LastDelivered", "ListSubmissions", "MessagesOfSubmissions", "PurgeMessages", "PurgeSubmissions",
	"DiscardMessage", "KeepTransformed", "OpenAlarm", "CloseAlarm",
	"CommitWithin", "CommitBefore", "InsertSubmissionNew",
	"PutBlobChunk", "LockBlobs", "DeleteStagedBlob", "StaleStagedBlobs", "PurgeStagedBlobs", "BlobByID", "BlobChunk",
	"StagedChunks", "InsertBlob", "PurgeBlobChunks", "PurgeBlobs",
	"SubmissionPayloads", "RewriteSubmissionPayload", "MessagePayloads", "RewriteMessagePayload",
	"BlobChunks", "RewriteBlobChunk", "BlobHeaders", "RewriteBlobHeader",
	"InsertAnswer", "AnswerByMessageID", "AnswerByID", "AnswersBySubmission", "ListAnswers", "InsertAnswerAttachment",
	"AnswerAttachments", "InsertAnswerEvent", "AnswerEvents", "AssignAnswer", "DiscardAnswer", "AnswerState",
	"UnmatchedAnswers", "MessageTarget", "PurgeAnswers", "PurgeAnswerBlobChunks", "PurgeAnswerBlobs",
	"AnswerPayloads", "RewriteAnswerPayload",
}

// Config configures the store.
type Config struct {
	// URL is the connection string, postgres://user:pass@host:port/db?sslmode=...
	URL string
	// MaxConns bounds the pool; default pgxpool's (max(4, CPUs)). A
	// pool_max_conns parameter in URL takes precedence.
	MaxConns int32
	// Logger receives listener reconnects. Default: discard.
	Logger *slog.Logger
	// AcquireTimeout bounds the wait for a pool connection and the set-up
	// of a new one. Zero: none.
	AcquireTimeout time.Duration
	// StatementTimeout is the sessions' statement_timeout (unless the URL
	// has a statement_timeout parameter), and the deadline, plus
	// statementGrace, of every call whose context has none that ends
	// earlier; the migrations at Open have their own. Zero: none.
	StatementTimeout time.Duration
	// Counter, when set, counts the statements and round trips of the
	// pool (a diagnostic; nil: not counted, at no cost).
	Counter *StatementCounter
}

// statementGrace is how much longer than the statement timeout a call
// waits on the client side, so that a database that answers reports its
// own timeout first.
const statementGrace = time.Second

// Store is the PostgreSQL outbox store: the logic of sqlstore over this
// package's queries, with LISTEN/NOTIFY to wake other processes.
type Store struct {
	*sqlstore.Store
	pool   *pgxpool.Pool
	q      map[string]string
	logger *slog.Logger

	stopListen context.CancelFunc
	listenDone chan struct{}
	notifier   *notifier
}

var (
	_ outbox.Store          = (*Store)(nil)
	_ outbox.BatchCompleter = (*Store)(nil)
)

// Open connects, applies migrations (serialised across processes by an advisory
// lock) and starts listening for notifications.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	q, err := sqlfile.Load(files, []string{"queries.sql", "reseal.sql"}, queryNames...)
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if u, err := url.Parse(cfg.URL); cfg.MaxConns > 0 && (err != nil || !u.Query().Has("pool_max_conns")) {
		pcfg.MaxConns = cfg.MaxConns
	}
	if t := cfg.StatementTimeout; t > 0 {
		if _, set := pcfg.ConnConfig.RuntimeParams["statement_timeout"]; !set {
			pcfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(t.Milliseconds(), 10)
		}
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = cfg.AcquireTimeout
	}
	calls := cfg.StatementTimeout
	if calls > 0 {
		calls += statementGrace
	}
	pcfg.ConnConfig.Tracer = deadlines{acquire: cfg.AcquireTimeout, call: calls}
	if cfg.Counter != nil {
		pcfg.ConnConfig.Tracer = multitracer.New(pcfg.ConnConfig.Tracer, cfg.Counter)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, q: q, logger: cfg.Logger, listenDone: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.notifier = newNotifier(pool, q["Notify"], cfg.Logger)
	s.Store = sqlstore.New(&driver{executor: executor{db: pool, q: q}, pool: pool},
		sqlstore.Config{Committed: s.notifier.add})
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	go s.notifier.run(lctx)
	ready := make(chan struct{})
	go s.listen(lctx, ready)
	select {
	case <-ready:
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	migs, err := sqlfile.Migrations(files, "migrations")
	if err != nil {
		return err
	}
	// Migrations wait for each other and may take long: Open's context
	// bounds them, not the call deadlines or the statement timeout.
	ctx = unbounded(ctx)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// One process migrates at a time; the others wait and find nothing left to do.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('amtsbote_migrations'))`); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, s.q["SchemaVersion"]).Scan(&current); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, m := range migs {
			if m.Version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// MigrationsApplied reports whether the schema is at the version this build expects.
func (s *Store) MigrationsApplied(ctx context.Context) (bool, error) {
	migs, err := sqlfile.Migrations(files, "migrations")
	if err != nil {
		return false, err
	}
	var current int
	if err := s.pool.QueryRow(ctx, s.q["SchemaVersion"]).Scan(&current); err != nil {
		return false, err
	}
	return current >= migs[len(migs)-1].Version, nil
}

// listen holds one connection in LISTEN and fans notifications out to watchers,
// reconnecting with a growing pause. After a reconnect every watcher is woken,
// since notifications may have been missed meanwhile.
func (s *Store) listen(ctx context.Context, ready chan struct{}) {
	defer close(s.listenDone)
	pause := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() {
			if first {
				close(ready)
				first = false
			} else {
				s.NotifyAll()
			}
			pause = 100 * time.Millisecond
		})
		if ctx.Err() != nil {
			break
		}
		s.logger.Warn("outbox notification listener reconnecting", slog.Any("error", err), slog.Duration("pause", pause))
		if first {
			// Open waits for the first LISTEN; don't keep it waiting for a dead database.
			close(ready)
			first = false
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, 5*time.Second)
	}
	if first {
		close(ready)
	}
}

func (s *Store) listenOnce(ctx context.Context, listening func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection's session state (LISTEN) must not go back to the pool.
	defer func() {
		c := conn.Hijack()
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.Notify(n.Payload)
	}
}

// Close stops listening and closes the pool.
func (s *Store) Close() error {
	s.stopListen()
	<-s.listenDone
	<-s.notifier.done
	return s.Store.Close()
}
