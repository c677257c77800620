package postgres

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// notifier tells other processes about new due messages after their
// transaction committed. NOTIFY inside a transaction takes PostgreSQL's
// notification queue lock at commit, which serialises every committing
// transaction that notified: intake would commit one at a time. Here one
// goroutine sends the topics gathered since its last send in one short
// statement of its own, so concurrent commits coalesce into one notification
// per topic. The committing process wakes its own watchers directly. If the
// process dies between commit and send, other processes find the messages at
// their next poll.
type notifier struct {
	pool   *pgxpool.Pool
	query  string
	logger *slog.Logger

	mu      sync.Mutex
	pending map[string]struct{}
	wake    chan struct{}
	done    chan struct{}
}

func newNotifier(pool *pgxpool.Pool, query string, logger *slog.Logger) *notifier {
	return &notifier{pool: pool, query: query, logger: logger, pending: map[string]struct{}{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// add queues topics for the next send.
func (n *notifier) add(topics []string) {
	if len(topics) == 0 {
		return
	}
	n.mu.Lock()
	for _, t := range topics {
		n.pending[t] = struct{}{}
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// run sends until ctx ends, then sends what is left.
func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	for {
		select {
		case <-ctx.Done():
			n.send(context.Background())
			return
		case <-n.wake:
			n.send(ctx)
		}
	}
}

func (n *notifier) send(ctx context.Context) {
	n.mu.Lock()
	topics := make([]string, 0, len(n.pending))
	for t := range n.pending {
		topics = append(topics, t)
	}
	clear(n.pending)
	n.mu.Unlock()
	if len(topics) == 0 {
		return
	}
	slices.Sort(topics)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := n.pool.Exec(ctx, n.query, notifyChannel, topics); err != nil {
		// Other processes poll; nothing is lost, only their wake-up is late.
		n.logger.Warn("outbox notification not sent; other processes find the messages at their next poll",
			slog.Int("topics", len(topics)), slog.Any("error", err))
	}
}
