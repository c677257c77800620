package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// Placeholders while the audit trail is being built (replaced in this change).
var errTODO = errors.New("not implemented yet")

func (s *Store) Events(ctx context.Context, submissionID string) ([]outbox.Event, error) {
	return nil, errTODO
}
func (s *Store) SetReactor(r outbox.Reactor) {}
func (s *Store) Stats(ctx context.Context) ([]outbox.TopicStats, error) { return nil, errTODO }
func (s *Store) ListSubmissions(ctx context.Context, f outbox.SubmissionFilter) ([]outbox.SubmissionStatus, string, error) {
	return nil, "", errTODO
}
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (outbox.PurgeResult, error) {
	return outbox.PurgeResult{}, errTODO
}
func (s *Store) Discard(ctx context.Context, r outbox.ReplayRequest) error { return errTODO }
func (t *tx) SetAlarm(ctx context.Context, key string, open bool) (bool, error) {
	return false, errTODO
}
