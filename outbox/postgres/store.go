package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/internal/sqlfile"
)

//go:embed migrations/*.sql queries.sql
var files embed.FS

const notifyChannel = "amtsbote_outbox"

var queryNames = []string{
	"InsertSubmission", "SubmissionByKey", "SubmissionByID", "InsertMessage", "Notify", "ClaimDue", "ClaimHead",
	"Complete", "InsertAttempt", "Release", "NextDue", "MessagesBySubmission", "Attempts", "SchemaVersion",
	"List", "MessagesByID", "LockMessagesByID", "ReplayMessage", "ReplayDead", "Replays",
	"InsertMessageIgnore", "InsertEvent", "SubmissionInfo", "SubmissionExists", "Events", "StatsOpen", "StatsDead",
	"LastDelivered", "ListSubmissions", "MessagesOfSubmissions", "PurgeMessages", "PurgeSubmissions",
	"DiscardMessage", "OpenAlarm", "CloseAlarm",
	"PutBlobChunk", "LockBlobs", "DeleteStagedBlob", "StaleStagedBlobs", "PurgeStagedBlobs", "BlobByID", "BlobChunk",
	"StagedChunks", "InsertBlob", "PurgeBlobChunks", "PurgeBlobs",
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
}

// Store is the PostgreSQL outbox store.
type Store struct {
	pool   *pgxpool.Pool
	q      map[string]string
	logger *slog.Logger
	now    func() time.Time
	outbox.Watchers

	stopListen context.CancelFunc
	listenDone chan struct{}
	notifier   *notifier
	reactor    atomic.Pointer[outbox.Reactor]
}

var (
	_ outbox.Store          = (*Store)(nil)
	_ outbox.BatchCompleter = (*Store)(nil)
)

// Open connects, applies migrations (serialised across processes by an advisory
// lock) and starts listening for notifications.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	q, err := sqlfile.Queries(files, "queries.sql")
	if err != nil {
		return nil, err
	}
	if err := sqlfile.Require(q, queryNames...); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if u, err := url.Parse(cfg.URL); cfg.MaxConns > 0 && (err != nil || !u.Query().Has("pool_max_conns")) {
		pcfg.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{pool: pool, q: q, logger: cfg.Logger, now: time.Now, listenDone: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	s.notifier = newNotifier(pool, q["Notify"], cfg.Logger)
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
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
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
	s.pool.Close()
	return nil
}

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

type tx struct {
	s      *Store
	tx     pgx.Tx
	topics []string
	// portals maps the submissions created in this transaction to their portals,
	// the actors of the messages queued for them.
	portals map[string]string
}

// InTx runs fn in a transaction; the topics of inserted messages are
// notified after the commit.
func (s *Store) InTx(ctx context.Context, fn func(outbox.Tx) error) error {
	var topics []string
	err := pgx.BeginFunc(ctx, s.pool, func(pt pgx.Tx) error {
		t := &tx{s: s, tx: pt}
		if err := fn(t); err != nil {
			return err
		}
		topics = t.topics
		return nil
	})
	if err != nil {
		return err
	}
	s.committed(topics)
	return nil
}

func (t *tx) CreateSubmission(ctx context.Context, sub outbox.Submission) (outbox.Submission, bool, error) {
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = t.s.now()
	}
	tag, err := t.tx.Exec(ctx, t.s.q["InsertSubmission"], sub.ID, sub.PortalID, sub.TenantID, sub.ProcedureID,
		sub.IdempotencyKey, sub.RequestHash, sub.Payload, sub.CreatedAt)
	if err != nil {
		return outbox.Submission{}, false, fmt.Errorf("insert submission: %w", err)
	}
	if tag.RowsAffected() == 1 {
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
	existing, err := scanSubmission(t.tx.QueryRow(ctx, t.s.q["SubmissionByKey"], sub.PortalID, sub.IdempotencyKey))
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
func (s *Store) insertMessage(ctx context.Context, tx pgx.Tx, query string, m outbox.Message, now time.Time) error {
	md := m.Metadata
	if md == nil {
		md = map[string]string{}
	}
	due := m.NextAttemptAt
	if due.IsZero() {
		due = now
	}
	payload := m.Payload
	if payload == nil {
		payload = []byte{}
	}
	if _, err := tx.Exec(ctx, s.q[query], m.ID, m.Topic, m.SubmissionID, payload, md, due, now); err != nil {
		return fmt.Errorf("insert message %s: %w", m.ID, err)
	}
	return nil
}

// Claim leases due messages of a topic.
func (s *Store) Claim(ctx context.Context, p outbox.ClaimParams) ([]outbox.Message, error) {
	now := s.now()
	if p.Limit <= 0 {
		return nil, nil
	}
	query, args := s.q["ClaimDue"], []any{p.Owner, now.Add(p.Lease), now, p.Topic, p.Limit}
	if p.Ordered {
		query, args = s.q["ClaimHead"], args[:4]
	}
	rows, err := s.pool.Query(ctx, query, args...)
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
// one commit, one WAL flush, and the statements pipelined in two round trips
// (the state changes, then the attempt records and events).
func (s *Store) CompleteBatch(ctx context.Context, cs []outbox.Completion) ([]error, error) {
	errs := make([]error, len(cs))
	var follow []string
	type updated struct {
		i        int
		seq      int64
		attempts int
		sub      string
		md       map[string]string
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		clear(errs)
		follow = nil
		updates := &pgx.Batch{}
		var queued []int
		for i, c := range cs {
			state, err := c.Outcome.State()
			if err != nil {
				errs[i] = fmt.Errorf("complete %s: %w", c.ID, err)
				continue
			}
			var next *time.Time
			if !c.NextAttemptAt.IsZero() {
				next = &c.NextAttemptAt
			}
			updates.Queue(s.q["Complete"], string(state), next, c.Error, c.FinishedAt, c.Topic, c.ID, c.Owner)
			queued = append(queued, i)
		}
		if len(queued) == 0 {
			return nil
		}
		results := tx.SendBatch(ctx, updates)
		done := make([]updated, 0, len(queued))
		for _, i := range queued {
			u := updated{i: i}
			err := results.QueryRow().Scan(&u.seq, &u.attempts, &u.sub, &u.md)
			if errors.Is(err, pgx.ErrNoRows) {
				errs[i] = fmt.Errorf("complete %s: %w", cs[i].ID, outbox.ErrLeaseLost) // nothing written for this one
				continue
			}
			if err != nil {
				results.Close()
				return fmt.Errorf("complete %s: %w", cs[i].ID, err)
			}
			done = append(done, u)
		}
		if err := results.Close(); err != nil {
			return fmt.Errorf("complete: %w", err)
		}
		records := &pgx.Batch{}
		var events []outbox.Event
		for _, u := range done {
			c := cs[u.i]
			records.Queue(s.q["InsertAttempt"], u.seq, u.attempts, c.Owner, c.StartedAt, c.FinishedAt, string(c.Outcome), c.Error)
			if u.sub != "" {
				events = append(events, outbox.CompletionEvents(c, u.sub, u.attempts, u.md)...)
			}
		}
		if err := tx.SendBatch(ctx, records).Close(); err != nil {
			return fmt.Errorf("record attempts: %w", err)
		}
		var err error
		follow, err = s.record(ctx, tx, events)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.committed(follow)
	return errs, nil
}

// Release gives up leases.
func (s *Store) Release(ctx context.Context, owner, topic string, ids []string) error {
	if _, err := s.pool.Exec(ctx, s.q["Release"], topic, ids, owner); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// NextDue returns when the topic's earliest unfinished message becomes claimable.
func (s *Store) NextDue(ctx context.Context, topic string) (time.Time, bool, error) {
	var due time.Time
	err := s.pool.QueryRow(ctx, s.q["NextDue"], topic, s.now()).Scan(&due)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due %s: %w", topic, err)
	}
	return due.UTC(), true, nil
}

// Submission returns a submission with its messages.
func (s *Store) Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error) {
	sub, err := scanSubmission(s.pool.QueryRow(ctx, s.q["SubmissionByID"], id))
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.Submission{}, nil, outbox.ErrNotFound
	}
	if err != nil {
		return outbox.Submission{}, nil, fmt.Errorf("read submission %s: %w", id, err)
	}
	rows, err := s.pool.Query(ctx, s.q["MessagesBySubmission"], id)
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
	rows, err := s.pool.Query(ctx, s.q["Attempts"], messageID)
	if err != nil {
		return nil, fmt.Errorf("read attempts of %s: %w", messageID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (outbox.Attempt, error) {
		var a outbox.Attempt
		var outcome string
		err := r.Scan(&a.MessageID, &a.Number, &a.Owner, &a.StartedAt, &a.FinishedAt, &outcome, &a.Error)
		a.Outcome = outbox.Outcome(outcome)
		a.StartedAt, a.FinishedAt = a.StartedAt.UTC(), a.FinishedAt.UTC()
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("read attempts of %s: %w", messageID, err)
	}
	return out, nil
}

func scanSubmission(r pgx.Row) (outbox.Submission, error) {
	var sub outbox.Submission
	err := r.Scan(&sub.ID, &sub.PortalID, &sub.TenantID, &sub.ProcedureID, &sub.IdempotencyKey,
		&sub.RequestHash, &sub.Payload, &sub.CreatedAt)
	sub.CreatedAt = sub.CreatedAt.UTC()
	return sub, err
}

func scanMessages(rows pgx.Rows) ([]outbox.Message, error) {
	msgs, _, err := scanMessagesSeq(rows)
	return msgs, err
}

// scanMessagesSeq reads message rows and returns them in seq order with their seqs.
func scanMessagesSeq(rows pgx.Rows) ([]outbox.Message, []int64, error) {
	type seqMsg struct {
		seq int64
		m   outbox.Message
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seqMsg, error) {
		var sm seqMsg
		var state string
		var delivered *time.Time
		m := &sm.m
		err := r.Scan(&sm.seq, &m.ID, &m.Topic, &m.SubmissionID, &m.Payload, &m.Metadata, &state, &m.Attempts,
			&m.NextAttemptAt, &m.LastError, &m.CreatedAt, &m.UpdatedAt, &delivered, &m.RetryFrom)
		m.State = outbox.State(state)
		m.NextAttemptAt, m.CreatedAt, m.UpdatedAt = m.NextAttemptAt.UTC(), m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		m.RetryFrom = m.RetryFrom.UTC()
		if delivered != nil {
			m.DeliveredAt = delivered.UTC()
		}
		return sm, err
	})
	if err != nil {
		return nil, nil, err
	}
	// RETURNING yields rows in no defined order.
	slices.SortFunc(out, func(a, b seqMsg) int { return cmp.Compare(a.seq, b.seq) })
	msgs := make([]outbox.Message, len(out))
	seqs := make([]int64, len(out))
	for i := range out {
		msgs[i], seqs[i] = out[i].m, out[i].seq
	}
	return msgs, seqs, nil
}
