package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlstore"
)

func (e executor) InsertAnswer(ctx context.Context, a outbox.Answer) (bool, error) {
	tag, err := e.db.Exec(ctx, e.q["InsertAnswer"], a.ID, a.Tenant, a.Source, a.Channel, a.MessageID,
		sqlstore.NonNil(a.BodySHA256), a.MessageType, a.Status, a.Reference, a.SubmissionID, a.RefMessage,
		string(a.State), sqlstore.NonNil(a.Detail), sqlstore.NonNil(a.Payload), a.ReceivedAt)
	return tag.RowsAffected() == 1, err
}

// scanAnswer reads the answer columns of the queries in order.
func scanAnswer(row pgx.Row) (outbox.Answer, error) {
	var a outbox.Answer
	var state string
	var resolved, purged *time.Time
	err := row.Scan(&a.ID, &a.Tenant, &a.Source, &a.Channel, &a.MessageID, &a.BodySHA256, &a.MessageType, &a.Status,
		&a.Reference, &a.SubmissionID, &a.RefMessage, &state, &a.Detail, &a.Payload, &a.ReceivedAt, &resolved,
		&a.ResolvedBy, &a.Reason, &purged)
	a.State, a.ReceivedAt = outbox.AnswerState(state), a.ReceivedAt.UTC()
	if resolved != nil {
		a.ResolvedAt = resolved.UTC()
	}
	if purged != nil {
		a.PurgedAt = purged.UTC()
	}
	return a, err
}

func (e executor) AnswerByMessageID(ctx context.Context, tenant, messageID string) (outbox.Answer, error) {
	a, err := scanAnswer(e.db.QueryRow(ctx, e.q["AnswerByMessageID"], tenant, messageID))
	return a, notFound(err)
}

func (e executor) AnswerByID(ctx context.Context, id string) (outbox.Answer, error) {
	a, err := scanAnswer(e.db.QueryRow(ctx, e.q["AnswerByID"], id))
	return a, notFound(err)
}

func (e executor) AnswersBySubmission(ctx context.Context, submissionID string) ([]outbox.Answer, error) {
	return queryRows(ctx, e.db, e.q["AnswersBySubmission"], []any{submissionID}, func(r pgx.CollectableRow) (outbox.Answer, error) {
		return scanAnswer(r)
	})
}

func (e executor) ListAnswers(ctx context.Context, state outbox.AnswerState, tenant string, after outbox.AnswerCursor, limit int) ([]outbox.Answer, error) {
	return queryRows(ctx, e.db, e.q["ListAnswers"], []any{string(state), tenant, after.ReceivedAt, after.ID, limit},
		func(r pgx.CollectableRow) (outbox.Answer, error) { return scanAnswer(r) })
}

func (e executor) InsertAnswerAttachments(ctx context.Context, answerID string, atts []outbox.AnswerAttachment) error {
	for _, a := range atts {
		if _, err := e.db.Exec(ctx, e.q["InsertAnswerAttachment"], answerID, a.Index, a.BlobID, a.FileName, a.MIMEType, a.Size); err != nil {
			return err
		}
	}
	return nil
}

func (e executor) AnswerAttachments(ctx context.Context, answerIDs []string) ([]sqlstore.AnswerAttachmentRow, error) {
	return queryRows(ctx, e.db, e.q["AnswerAttachments"], []any{answerIDs}, func(r pgx.CollectableRow) (sqlstore.AnswerAttachmentRow, error) {
		var a sqlstore.AnswerAttachmentRow
		err := r.Scan(&a.AnswerID, &a.Index, &a.BlobID, &a.FileName, &a.MIMEType, &a.Size)
		return a, err
	})
}

func (e executor) InsertAnswerEvent(ctx context.Context, ev outbox.AnswerEvent) error {
	_, err := e.db.Exec(ctx, e.q["InsertAnswerEvent"], ev.AnswerID, ev.Kind, ev.Actor, ev.Detail, ev.At)
	return err
}

func (e executor) AnswerEvents(ctx context.Context, answerID string) ([]outbox.AnswerEvent, error) {
	return queryRows(ctx, e.db, e.q["AnswerEvents"], []any{answerID}, func(r pgx.CollectableRow) (outbox.AnswerEvent, error) {
		var ev outbox.AnswerEvent
		err := r.Scan(&ev.Seq, &ev.AnswerID, &ev.Kind, &ev.Actor, &ev.Detail, &ev.At)
		ev.At = ev.At.UTC()
		return ev, err
	})
}

func (e executor) AssignAnswer(ctx context.Context, a outbox.Answer, now time.Time) (bool, error) {
	tag, err := e.db.Exec(ctx, e.q["AssignAnswer"], a.ID, a.SubmissionID, a.RefMessage, now, a.ResolvedBy, a.Reason)
	return tag.RowsAffected() == 1, err
}

func (e executor) DiscardAnswer(ctx context.Context, id, by, reason string, now time.Time) (bool, error) {
	tag, err := e.db.Exec(ctx, e.q["DiscardAnswer"], id, now, by, reason)
	return tag.RowsAffected() == 1, err
}

func (e executor) AnswerState(ctx context.Context, id string) (outbox.AnswerState, error) {
	var st string
	err := e.db.QueryRow(ctx, e.q["AnswerState"], id).Scan(&st)
	return outbox.AnswerState(st), notFound(err)
}

func (e executor) UnmatchedAnswers(ctx context.Context) (map[string]int, error) {
	type row struct {
		tenant string
		n      int
	}
	rows, err := queryRows(ctx, e.db, e.q["UnmatchedAnswers"], []any{}, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.tenant, &x.n)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.tenant] = r.n
	}
	return out, nil
}

func (e executor) MessageTarget(ctx context.Context, id string) ([]outbox.AnswerTarget, error) {
	return queryRows(ctx, e.db, e.q["MessageTarget"], []any{id}, func(r pgx.CollectableRow) (outbox.AnswerTarget, error) {
		var t outbox.AnswerTarget
		err := r.Scan(&t.MessageID, &t.Topic, &t.SubmissionID, &t.Tenant, &t.PortalID)
		return t, err
	})
}

func (e executor) PurgeAnswers(ctx context.Context, before, now time.Time, limit int) ([]string, error) {
	return queryRows(ctx, e.db, e.q["PurgeAnswers"], []any{before, now, limit}, pgx.RowTo[string])
}

func (e executor) PurgeAnswerBlobs(ctx context.Context, answerIDs []string) (int, error) {
	if _, err := e.db.Exec(ctx, e.q["PurgeAnswerBlobChunks"], answerIDs); err != nil {
		return 0, err
	}
	tag, err := e.db.Exec(ctx, e.q["PurgeAnswerBlobs"], answerIDs)
	return int(tag.RowsAffected()), err
}

func (e executor) AnswerPayloads(ctx context.Context, after string, limit int) ([]sqlstore.AnswerPayload, error) {
	return queryRows(ctx, e.db, e.q["AnswerPayloads"], []any{after, limit}, func(r pgx.CollectableRow) (sqlstore.AnswerPayload, error) {
		var p sqlstore.AnswerPayload
		err := r.Scan(&p.ID, &p.Payload, &p.Detail)
		return p, err
	})
}

func (e executor) RewriteAnswerPayload(ctx context.Context, p sqlstore.AnswerPayload, payload, detail []byte) (int, error) {
	tag, err := e.db.Exec(ctx, e.q["RewriteAnswerPayload"], p.ID, p.Payload, p.Detail, payload, detail)
	return int(tag.RowsAffected()), err
}
