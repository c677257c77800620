package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

func (e executor) InsertAnswer(ctx context.Context, a outbox.Answer) (bool, error) {
	res, err := e.w.ExecContext(ctx, e.q["InsertAnswer"], a.ID, a.Tenant, a.Source, a.Channel, a.MessageID,
		sqlstore.NonNil(a.BodySHA256), a.MessageType, a.Status, a.Reference, nullString(a.SubmissionID), a.RefMessage,
		string(a.State), sqlstore.NonNil(a.Detail), sqlstore.NonNil(a.Payload), micros(a.ReceivedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// answerRow scans the answer columns of the queries in order.
type answerRow struct {
	a                          outbox.Answer
	state                      string
	received, resolved, purged int64
}

func (r *answerRow) dest() []any {
	a := &r.a
	return []any{&a.ID, &a.Tenant, &a.Source, &a.Channel, &a.MessageID, &a.BodySHA256, &a.MessageType, &a.Status,
		&a.Reference, &a.SubmissionID, &a.RefMessage, &r.state, &a.Detail, &a.Payload, &r.received, &r.resolved,
		&a.ResolvedBy, &a.Reason, &r.purged}
}

func (r *answerRow) answer() outbox.Answer {
	a := r.a
	a.State, a.ReceivedAt = outbox.AnswerState(r.state), fromMicros(r.received)
	if r.resolved != 0 {
		a.ResolvedAt = fromMicros(r.resolved)
	}
	if r.purged != 0 {
		a.PurgedAt = fromMicros(r.purged)
	}
	return a
}

func (e executor) scanAnswer(row *sql.Row) (outbox.Answer, error) {
	var r answerRow
	if err := row.Scan(r.dest()...); err != nil {
		return outbox.Answer{}, notFound(err)
	}
	return r.answer(), nil
}

func (e executor) queryAnswers(ctx context.Context, query string, args ...any) ([]outbox.Answer, error) {
	rows, err := e.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	raw, err := collect(rows, func(r *answerRow) []any { return r.dest() })
	if err != nil {
		return nil, err
	}
	out := make([]outbox.Answer, len(raw))
	for i := range raw {
		out[i] = raw[i].answer()
	}
	return out, nil
}

func (e executor) AnswerByMessageID(ctx context.Context, tenant, messageID string) (outbox.Answer, error) {
	return e.scanAnswer(e.r.QueryRowContext(ctx, e.q["AnswerByMessageID"], tenant, messageID))
}

func (e executor) AnswerByID(ctx context.Context, id string) (outbox.Answer, error) {
	return e.scanAnswer(e.r.QueryRowContext(ctx, e.q["AnswerByID"], id))
}

func (e executor) AnswersBySubmission(ctx context.Context, submissionID string) ([]outbox.Answer, error) {
	return e.queryAnswers(ctx, e.q["AnswersBySubmission"], submissionID)
}

func (e executor) ListAnswers(ctx context.Context, state outbox.AnswerState, tenant string, after outbox.AnswerCursor, limit int) ([]outbox.Answer, error) {
	return e.queryAnswers(ctx, e.q["ListAnswers"], string(state), tenant, micros(after.ReceivedAt), after.ID, limit)
}

func (e executor) InsertAnswerAttachments(ctx context.Context, answerID string, atts []outbox.AnswerAttachment) error {
	for _, a := range atts {
		if _, err := e.w.ExecContext(ctx, e.q["InsertAnswerAttachment"], answerID, a.Index, a.BlobID, a.FileName, a.MIMEType, a.Size); err != nil {
			return fmt.Errorf("attachment %d: %w", a.Index, err)
		}
	}
	return nil
}

func (e executor) AnswerAttachments(ctx context.Context, answerIDs []string) ([]sqlstore.AnswerAttachmentRow, error) {
	ids, err := json.Marshal(answerIDs)
	if err != nil {
		return nil, err
	}
	rows, err := e.r.QueryContext(ctx, e.q["AnswerAttachments"], string(ids))
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r *sqlstore.AnswerAttachmentRow) []any {
		return []any{&r.AnswerID, &r.Index, &r.BlobID, &r.FileName, &r.MIMEType, &r.Size}
	})
}

func (e executor) InsertAnswerEvent(ctx context.Context, ev outbox.AnswerEvent) error {
	_, err := e.w.ExecContext(ctx, e.q["InsertAnswerEvent"], ev.AnswerID, ev.Kind, ev.Actor, ev.Detail, micros(ev.At))
	return err
}

func (e executor) AnswerEvents(ctx context.Context, answerID string) ([]outbox.AnswerEvent, error) {
	rows, err := e.r.QueryContext(ctx, e.q["AnswerEvents"], answerID)
	if err != nil {
		return nil, err
	}
	type row struct {
		ev outbox.AnswerEvent
		at int64
	}
	raw, err := collect(rows, func(r *row) []any {
		return []any{&r.ev.Seq, &r.ev.AnswerID, &r.ev.Kind, &r.ev.Actor, &r.ev.Detail, &r.at}
	})
	if err != nil {
		return nil, err
	}
	out := make([]outbox.AnswerEvent, len(raw))
	for i, r := range raw {
		r.ev.At = fromMicros(r.at)
		out[i] = r.ev
	}
	return out, nil
}

func (e executor) AssignAnswer(ctx context.Context, a outbox.Answer, now time.Time) (bool, error) {
	res, err := e.w.ExecContext(ctx, e.q["AssignAnswer"], a.ID, a.SubmissionID, a.RefMessage, micros(now), a.ResolvedBy, a.Reason)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (e executor) DiscardAnswer(ctx context.Context, id, by, reason string, now time.Time) (bool, error) {
	res, err := e.w.ExecContext(ctx, e.q["DiscardAnswer"], id, micros(now), by, reason)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (e executor) AnswerState(ctx context.Context, id string) (outbox.AnswerState, error) {
	var st string
	err := e.r.QueryRowContext(ctx, e.q["AnswerState"], id).Scan(&st)
	return outbox.AnswerState(st), notFound(err)
}

func (e executor) UnmatchedAnswers(ctx context.Context) (map[string]int, error) {
	rows, err := e.r.QueryContext(ctx, e.q["UnmatchedAnswers"])
	if err != nil {
		return nil, err
	}
	type row struct {
		tenant string
		n      int
	}
	raw, err := collect(rows, func(r *row) []any { return []any{&r.tenant, &r.n} })
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(raw))
	for _, r := range raw {
		out[r.tenant] = r.n
	}
	return out, nil
}

func (e executor) MessageTarget(ctx context.Context, id string) ([]outbox.AnswerTarget, error) {
	rows, err := e.r.QueryContext(ctx, e.q["MessageTarget"], id)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(t *outbox.AnswerTarget) []any {
		return []any{&t.MessageID, &t.Topic, &t.SubmissionID, &t.Tenant, &t.PortalID}
	})
}

func (e executor) PurgeAnswers(ctx context.Context, before, now time.Time, limit int) ([]string, error) {
	rows, err := e.w.QueryContext(ctx, e.q["PurgeAnswers"], micros(before), micros(now), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(id *string) []any { return []any{id} })
}

func (e executor) PurgeAnswerBlobs(ctx context.Context, answerIDs []string) (int, error) {
	ids, err := json.Marshal(answerIDs)
	if err != nil {
		return 0, err
	}
	if _, err := e.w.ExecContext(ctx, e.q["PurgeAnswerBlobChunks"], string(ids)); err != nil {
		return 0, fmt.Errorf("chunks: %w", err)
	}
	res, err := e.w.ExecContext(ctx, e.q["PurgeAnswerBlobs"], string(ids))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (e executor) AnswerPayloads(ctx context.Context, after string, limit int) ([]sqlstore.AnswerPayload, error) {
	rows, err := e.r.QueryContext(ctx, e.q["AnswerPayloads"], after, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(p *sqlstore.AnswerPayload) []any { return []any{&p.ID, &p.Payload, &p.Detail} })
}

func (e executor) RewriteAnswerPayload(ctx context.Context, p sqlstore.AnswerPayload, payload, detail []byte) (int, error) {
	return rowsChanged(e.w.ExecContext(ctx, e.q["RewriteAnswerPayload"], p.ID, p.Payload, p.Detail, payload, detail))
}
