package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql queries.sql
var files embed.FS

var queryNames = []string{
	"InsertSubmission", "SubmissionByKey", "SubmissionByID", "InsertMessage", "ClaimDue", "ClaimHead",
	"Complete", "InsertAttempt", "Release", "NextDue", "MessagesBySubmission", "Attempts",
	"List", "MessagesByID", "ReplayMessage", "ReplayDead", "InsertReplay", "Replays",
	"InsertMessageIgnore", "InsertEvent", "SubmissionInfo", "SubmissionExists", "Events", "StatsOpen", "StatsDead", "LastDelivered",
	"ListSubmissions", "MessagesOfSubmissions", "PurgeMessages", "PurgeSubmissions", "DiscardMessage",
	"OpenAlarm", "CloseAlarm",
	"PutBlobChunk", "DeleteStagedBlob", "PurgeStagedBlobs", "BlobByID", "BlobChunk", "StagedChunks", "InsertBlob",
	"PurgeBlobChunks", "PurgeBlobs",
}

// Store is the SQLite outbox store.
type Store struct {
	write *sql.DB // one connection: writes are serialised in-process
	read  *sql.DB
	q     map[string]string
	now   func() time.Time
	outbox.Watchers
	reactor atomic.Pointer[outbox.Reactor]
}

var (
	_ outbox.Store          = (*Store)(nil)
	_ outbox.BatchCompleter = (*Store)(nil)
)

// Open opens (creating if needed) the database file at path and applies migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	q, err := sqlfile.Queries(files, "queries.sql")
	if err != nil {
		return nil, err
	}
	if err := sqlfile.Require(q, queryNames...); err != nil {
		return nil, err
	}
	dsn := func(txlock string) string {
		v := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
			v.Add("_pragma", p)
		}
		v.Set("_txlock", txlock)
		return "file:" + uriPath(path) + "?" + v.Encode()
	}
	write, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write, q: q, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	s.read = read
	return s, nil
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
			m.Version, m.Name, micros(s.now())); err != nil {
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

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

type tx struct {
	s      *Store
	tx     *sql.Tx
	topics []string
	// portals maps the submissions created in this transaction to their portals,
	// the actors of the messages queued for them.
	portals map[string]string
}

// InTx runs fn in an immediate transaction.
func (s *Store) InTx(ctx context.Context, fn func(outbox.Tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{s: s, tx: sqlTx}
	if err := fn(t); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.Notify(t.topics...)
	return nil
}

func (t *tx) CreateSubmission(ctx context.Context, sub outbox.Submission) (outbox.Submission, bool, error) {
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = t.s.now()
	}
	res, err := t.tx.ExecContext(ctx, t.s.q["InsertSubmission"], sub.ID, sub.PortalID, sub.TenantID, sub.ProcedureID,
		nullString(sub.IdempotencyKey), sub.RequestHash, sub.Payload, micros(sub.CreatedAt))
	if err != nil {
		return outbox.Submission{}, false, fmt.Errorf("insert submission: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		topics, err := t.s.record(ctx, t.tx, []outbox.Event{{SubmissionID: sub.ID, PortalID: sub.PortalID,
			Tenant: sub.TenantID, Procedure: sub.ProcedureID, Kind: outbox.EventAccepted,
			Actor: outbox.ActorPortal(sub.PortalID), At: sub.CreatedAt}})
		if err != nil {
			return outbox.Submission{}, false, err
		}
		t.topics = append(t.topics, topics...)
		if t.portals == nil {
			t.portals = map[string]string{}
		}
		t.portals[sub.ID] = sub.PortalID
		return sub, true, nil
	}
	if sub.IdempotencyKey == "" {
		return outbox.Submission{}, false, fmt.Errorf("insert submission %s: id already exists", sub.ID)
	}
	existing, err := scanSubmission(t.tx.QueryRowContext(ctx, t.s.q["SubmissionByKey"], sub.PortalID, sub.IdempotencyKey))
	if err != nil {
		return outbox.Submission{}, false, fmt.Errorf("read submission by idempotency key: %w", err)
	}
	return existing, false, nil
}

func (t *tx) InsertMessages(ctx context.Context, msgs []outbox.Message) error {
	now := t.s.now()
	var events []outbox.Event
	for _, m := range msgs {
		if err := t.s.insertMessage(ctx, t.tx, "InsertMessage", m, now); err != nil {
			return err
		}
		t.topics = append(t.topics, m.Topic)
		if m.SubmissionID != "" {
			events = append(events, outbox.TransformedEvent(m, now, t.portals[m.SubmissionID]))
		}
	}
	outbox.SortEvents(events)
	topics, err := t.s.record(ctx, t.tx, events)
	if err != nil {
		return err
	}
	t.topics = append(t.topics, topics...)
	return nil
}

// insertMessage stores m as pending with the named query (InsertMessage, or
// InsertMessageIgnore for follow-ups), due at once unless NextAttemptAt is set.
func (s *Store) insertMessage(ctx context.Context, sqlTx *sql.Tx, query string, m outbox.Message, now time.Time) error {
	md, err := json.Marshal(nonNil(m.Metadata))
	if err != nil {
		return fmt.Errorf("encode metadata of message %s: %w", m.ID, err)
	}
	due := m.NextAttemptAt
	if due.IsZero() {
		due = now
	}
	if _, err := sqlTx.ExecContext(ctx, s.q[query], m.ID, m.Topic, nullString(m.SubmissionID),
		nonNilBytes(m.Payload), string(md), micros(due), micros(now), micros(now)); err != nil {
		return fmt.Errorf("insert message %s: %w", m.ID, err)
	}
	return nil
}

// Claim leases due messages of a topic.
func (s *Store) Claim(ctx context.Context, p outbox.ClaimParams) ([]outbox.Message, error) {
	now := s.now()
	query, limit := s.q["ClaimDue"], p.Limit
	if p.Ordered {
		query, limit = s.q["ClaimHead"], 1
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.write.QueryContext(ctx, query, p.Owner, micros(now.Add(p.Lease)), micros(now), p.Topic, limit)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", p.Topic, err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", p.Topic, err)
	}
	return msgs, nil
}

// Complete records an attempt's outcome.
func (s *Store) Complete(ctx context.Context, c outbox.Completion) error {
	errs, err := s.CompleteBatch(ctx, []outbox.Completion{c})
	if err != nil {
		return err
	}
	return errs[0]
}

// CompleteBatch records the outcomes of several attempts in one transaction:
// one commit, one fsync.
func (s *Store) CompleteBatch(ctx context.Context, cs []outbox.Completion) ([]error, error) {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("complete: %w", err)
	}
	defer sqlTx.Rollback()
	errs := make([]error, len(cs))
	var topics []string
	for i, c := range cs {
		follow, err := s.complete(ctx, sqlTx, c)
		switch {
		case errors.Is(err, outbox.ErrLeaseLost), errors.Is(err, errUnknownOutcome):
			errs[i] = err // nothing written for this one
		case err != nil:
			return nil, err
		}
		topics = append(topics, follow...)
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("complete: %w", err)
	}
	s.Notify(topics...)
	return errs, nil
}

// errUnknownOutcome marks a completion with an outcome no state follows from.
var errUnknownOutcome = errors.New("unknown outcome")

// complete records one outcome in tx and returns the topics of follow-ups.
func (s *Store) complete(ctx context.Context, sqlTx *sql.Tx, c outbox.Completion) ([]string, error) {
	state, err := c.Outcome.State()
	if err != nil {
		return nil, fmt.Errorf("complete %s: %w: %v", c.ID, errUnknownOutcome, err)
	}
	var seq int64
	var attempts int
	var sub, md string
	err = sqlTx.QueryRowContext(ctx, s.q["Complete"], string(state), micros(c.NextAttemptAt), c.Error,
		micros(c.FinishedAt), c.Topic, c.ID, c.Owner).Scan(&seq, &attempts, &sub, &md)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("complete %s: %w", c.ID, outbox.ErrLeaseLost)
	}
	if err != nil {
		return nil, fmt.Errorf("complete %s: %w", c.ID, err)
	}
	if _, err := sqlTx.ExecContext(ctx, s.q["InsertAttempt"], seq, attempts, c.Owner,
		micros(c.StartedAt), micros(c.FinishedAt), string(c.Outcome), nullString(c.Error)); err != nil {
		return nil, fmt.Errorf("record attempt of %s: %w", c.ID, err)
	}
	if sub == "" {
		return nil, nil
	}
	var meta map[string]string
	if err := json.Unmarshal([]byte(md), &meta); err != nil {
		return nil, fmt.Errorf("decode metadata of %s: %w", c.ID, err)
	}
	topics, err := s.record(ctx, sqlTx, outbox.CompletionEvents(c, sub, attempts, meta))
	if err != nil {
		return nil, fmt.Errorf("complete %s: %w", c.ID, err)
	}
	return topics, nil
}

// Release gives up leases.
func (s *Store) Release(ctx context.Context, owner, topic string, ids []string) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	defer sqlTx.Rollback()
	for _, id := range ids {
		if _, err := sqlTx.ExecContext(ctx, s.q["Release"], topic, id, owner); err != nil {
			return fmt.Errorf("release %s: %w", id, err)
		}
	}
	return sqlTx.Commit()
}

// NextDue returns when the topic's earliest unfinished message becomes claimable.
func (s *Store) NextDue(ctx context.Context, topic string) (time.Time, bool, error) {
	var due int64
	err := s.read.QueryRowContext(ctx, s.q["NextDue"], topic, micros(s.now())).Scan(&due)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due %s: %w", topic, err)
	}
	return fromMicros(due), true, nil
}

// Submission returns a submission with its messages.
func (s *Store) Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error) {
	sub, err := scanSubmission(s.read.QueryRowContext(ctx, s.q["SubmissionByID"], id))
	if errors.Is(err, sql.ErrNoRows) {
		return outbox.Submission{}, nil, outbox.ErrNotFound
	}
	if err != nil {
		return outbox.Submission{}, nil, fmt.Errorf("read submission %s: %w", id, err)
	}
	rows, err := s.read.QueryContext(ctx, s.q["MessagesBySubmission"], id)
	if err != nil {
		return outbox.Submission{}, nil, fmt.Errorf("read messages of %s: %w", id, err)
	}
	msgs, err := scanMessages(rows)
	if err != nil {
		return outbox.Submission{}, nil, fmt.Errorf("read messages of %s: %w", id, err)
	}
	return sub, msgs, nil
}

// Attempts lists a message's attempts.
func (s *Store) Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error) {
	rows, err := s.read.QueryContext(ctx, s.q["Attempts"], messageID)
	if err != nil {
		return nil, fmt.Errorf("read attempts of %s: %w", messageID, err)
	}
	defer rows.Close()
	var out []outbox.Attempt
	for rows.Next() {
		var a outbox.Attempt
		var started, finished int64
		var outcome string
		if err := rows.Scan(&a.MessageID, &a.Number, &a.Owner, &started, &finished, &outcome, &a.Error); err != nil {
			return nil, fmt.Errorf("read attempts of %s: %w", messageID, err)
		}
		a.StartedAt, a.FinishedAt, a.Outcome = fromMicros(started), fromMicros(finished), outbox.Outcome(outcome)
		out = append(out, a)
	}
	return out, rows.Err()
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
			&next, &m.LastError, &created, &updated, &delivered, &retryFrom); err != nil {
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

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
