package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform/answers"
)

// AnswerStore is the part of the outbox the answer service uses.
type AnswerStore interface {
	InTx(ctx context.Context, fn func(tx outbox.Tx) error) error
	outbox.Blobs
	AnswerTarget(ctx context.Context, messageID string) (outbox.AnswerTarget, error)
	SubmissionTarget(ctx context.Context, submissionID string) (outbox.AnswerTarget, error)
	Answer(ctx context.Context, id string) (outbox.Answer, error)
	DiscardAnswer(ctx context.Context, id, by, reason string) error
}

// AnswerServiceConfig configures an AnswerService.
type AnswerServiceConfig struct {
	// Config holds the tenants and their destinations' answer settings.
	// Required; not changed while the service is in use (Reconfigure
	// replaces it).
	Config *config.Config
	// Store is the outbox answers are committed to. Required.
	Store AnswerStore
	// Logger receives one line per answer, with ids only. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// NewID returns UUIDs for answers and blobs. Default uuid.NewString.
	NewID func() string
}

// Validate reports every problem of c at once.
func (c AnswerServiceConfig) Validate() error {
	var errs []error
	if c.Config == nil {
		errs = append(errs, errors.New("config is nil"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if errs != nil {
		return fmt.Errorf("answer service config: %w", errors.Join(errs...))
	}
	return nil
}

// AnswerService receives answers from the authority (AnswerReceiver): it
// parses them as hostile input, matches them by reference to a submission
// of the source's tenant, and stores them with their effects (the
// submission's timeline and audit event, the portal callback, the
// attachments) in one transaction. It is safe for concurrent use.
type AnswerService struct {
	cfg   atomic.Pointer[config.Config]
	store AnswerStore
	log   *slog.Logger
	now   func() time.Time
	newID func() string
}

var _ AnswerReceiver = (*AnswerService)(nil)

// NewAnswerService validates cfg and returns the service.
func NewAnswerService(cfg AnswerServiceConfig) (*AnswerService, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &AnswerService{store: cfg.Store, log: cfg.Logger, now: cfg.Now, newID: cfg.NewID}
	s.cfg.Store(cfg.Config)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = uuid.NewString
	}
	return s, nil
}

// Reconfigure makes cfg (a reloaded configuration, not changed afterwards)
// the one answers are received with, from the next answer on: a new tenant's
// answers are taken, a removed tenant's refused.
func (s *AnswerService) Reconfigure(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("answer service: config is nil")
	}
	s.cfg.Store(cfg)
	return nil
}

// AnswerDetail is what an answer says, as stored with it (Answer.Detail)
// and shown in the submission's answers timeline. It holds the authority's
// ids and texts, never Amtsbote's credentials.
type AnswerDetail struct {
	Aktenzeichen string          `json:"aktenzeichen,omitempty"`
	DMSID        string          `json:"dms_id,omitempty"`
	SentAt       *time.Time      `json:"sent_at,omitempty"`
	Findings     []AnswerFinding `json:"findings,omitempty"`
	Frist        *time.Time      `json:"frist,omitempty"`
	Decision     *AnswerDecision `json:"decision,omitempty"`
	Information  string          `json:"information,omitempty"`
	Documents    []AnswerDoc     `json:"documents,omitempty"`
}

// AnswerFinding is a missing or faulty document of a formelle Prüfung, or
// an error code of a failed import.
type AnswerFinding struct {
	Code     string `json:"code,omitempty"`
	Document string `json:"document,omitempty"`
	Text     string `json:"text,omitempty"`
}

// AnswerDecision is the decision of a Bescheid or the reason of a rejection.
type AnswerDecision struct {
	Outcome string     `json:"outcome"`
	Text    string     `json:"text,omitempty"`
	Date    *time.Time `json:"date,omitempty"`
}

// AnswerDoc is a document an answer names; Stored tells whether its file
// came with the answer and can be downloaded (by its index).
type AnswerDoc struct {
	Index     int    `json:"index"`
	Title     string `json:"title,omitempty"`
	FileName  string `json:"file_name,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	URI       string `json:"uri,omitempty"`
	Size      int64  `json:"size,omitempty"`
	Stored    bool   `json:"stored"`
}

// ParseAnswerDetail decodes Answer.Detail; empty gives the zero value.
func ParseAnswerDetail(b []byte) (AnswerDetail, error) {
	var d AnswerDetail
	if len(b) == 0 {
		return d, nil
	}
	err := json.Unmarshal(b, &d)
	return d, err
}

// Receive parses, matches and stores an answer (AnswerReceiver).
func (s *AnswerService) Receive(ctx context.Context, src AnswerSource, body []byte, contentType string) (AnswerReceipt, error) {
	var rc AnswerReceipt
	if _, ok := s.cfg.Load().Tenant(src.Tenant); !ok {
		return rc, fmt.Errorf("answer source names unknown tenant %q", src.Tenant)
	}
	parsed, err := answers.Parse(body, contentType, answers.Limits{MaxBytes: s.maxBytes(src)})
	if err != nil {
		if perr, ok := errors.AsType[*answers.Error](err); ok {
			return rc, &AnswerError{Path: perr.Path, Reason: perr.Reason, Err: err}
		}
		return rc, &AnswerError{Reason: "the answer could not be read", Err: err}
	}
	if parsed.MessageID == "" {
		return rc, &AnswerError{Reason: "the answer has no message id"}
	}
	sum := sha256.Sum256(body)
	target, matched, err := s.match(ctx, src.Tenant, parsed)
	if err != nil {
		return rc, err
	}
	detail, docs := answerDetail(parsed)
	detailJSON, err := json.Marshal(detail)
	if err != nil {
		return rc, fmt.Errorf("encode answer detail: %w", err)
	}
	now := s.now().UTC()
	a := outbox.Answer{
		ID: s.newID(), Tenant: src.Tenant, Source: sourceName(src), Channel: src.Channel,
		MessageID: parsed.MessageID, BodySHA256: sum[:], MessageType: parsed.Type, Status: string(parsed.Kind),
		Reference: firstNonEmpty(parsed.Reference, parsed.SubmissionReference), State: outbox.AnswerUnmatched,
		Detail: detailJSON, Payload: body, ReceivedAt: now,
	}
	var staged []outbox.Blob
	if matched {
		a.State, a.SubmissionID, a.RefMessage = outbox.AnswerMatched, target.SubmissionID, target.MessageID
		if a.Attachments, staged, err = s.stageDocuments(ctx, docs, target.SubmissionID, now); err != nil {
			return rc, err
		}
	}
	defer s.discardStaged(ctx, &staged)

	var stored outbox.Answer
	var created bool
	err = s.store.InTx(ctx, func(tx outbox.Tx) error {
		var err error
		if stored, created, err = tx.InsertAnswer(ctx, a); err != nil {
			return err
		}
		if !created {
			if bytes.Equal(stored.BodySHA256, a.BodySHA256) {
				return nil
			}
			return tx.RecordAnswerEvent(ctx, outbox.AnswerEvent{AnswerID: stored.ID, Kind: outbox.AnswerEventConflict,
				Actor: outbox.ActorAnswers(src.Tenant, a.Source), Detail: "message id received again with a different body (" + src.Channel + ")"})
		}
		if len(staged) > 0 {
			return tx.InsertBlobs(ctx, staged)
		}
		return nil
	})
	if err != nil {
		return rc, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if created {
		staged = nil // committed
	}
	rc = AnswerReceipt{ID: stored.ID, Duplicate: !created, Matched: stored.SubmissionID != "", SubmissionID: stored.SubmissionID}
	attrs := []any{slog.String("answer_id", stored.ID), slog.String("tenant", src.Tenant), slog.String("source", a.Source),
		slog.String("channel", src.Channel), slog.String("message_type", parsed.Type), slog.Bool("matched", rc.Matched),
		slog.String("submission_id", rc.SubmissionID)}
	switch {
	case !created && !bytes.Equal(stored.BodySHA256, a.BodySHA256):
		s.log.WarnContext(ctx, "answer refused: its message id was received before with a different body", attrs...)
		return AnswerReceipt{}, ErrAnswerConflict
	case !created:
		s.log.InfoContext(ctx, "answer received again; nothing changed", attrs...)
	case rc.Matched:
		s.log.InfoContext(ctx, "answer stored", attrs...)
	default:
		s.log.WarnContext(ctx, "answer stored unmatched: it refers to no submission of the tenant", attrs...)
	}
	return rc, nil
}

// maxBytes is the size limit of src's channel.
func (s *AnswerService) maxBytes(src AnswerSource) int64 {
	for _, b := range s.cfg.Load().AnswerBindings() {
		if b.Tenant != src.Tenant || (b.Destination != src.Destination && b.Procedure+"/"+b.Destination != src.Destination) {
			continue
		}
		switch {
		case src.Channel == AnswerChannelInbox && b.Answers.Inbox != nil:
			return b.Answers.Inbox.MaxBytes
		case src.Channel == AnswerChannelAMQP && b.Answers.AMQP != nil:
			return b.Answers.AMQP.MaxBytes
		case b.Answers.MaxBytes > 0:
			return b.Answers.MaxBytes
		}
	}
	return config.DefaultAnswerMaxBytes
}

// sourceName is the stored Source of src: "<procedure>/<destination>"
// where the channel names the procedure, else the destination.
func sourceName(src AnswerSource) string {
	if src.Procedure != "" {
		return src.Procedure + "/" + src.Destination
	}
	return src.Destination
}

// match finds the submission an answer refers to: by the message id it
// answers (the 0200's nachrichtenUUID, the xdomea ProzessID), else by the
// submission id written in the original (referenzAntragsservice). Only a
// submission of tenant matches; nothing else (no names, no texts) is
// compared. A store failure is ErrUnavailable.
func (s *AnswerService) match(ctx context.Context, tenant string, a answers.Answer) (outbox.AnswerTarget, bool, error) {
	var t outbox.AnswerTarget
	var err error
	switch {
	case a.Reference != "":
		t, err = s.store.AnswerTarget(ctx, strings.ToLower(a.Reference))
		if err == nil && config.IsNotificationTopic(t.Topic) {
			return t, false, nil // a callback or mail is no original message
		}
		if err == nil && a.SubmissionReference != "" && !strings.EqualFold(a.SubmissionReference, t.SubmissionID) {
			return t, false, nil // the two references disagree
		}
	case a.SubmissionReference != "":
		t, err = s.store.SubmissionTarget(ctx, strings.ToLower(a.SubmissionReference))
	default:
		return t, false, nil
	}
	switch {
	case errors.Is(err, outbox.ErrNotFound), errors.Is(err, outbox.ErrAmbiguous):
		return t, false, nil
	case err != nil:
		return t, false, fmt.Errorf("%w: match answer: %w", ErrUnavailable, err)
	}
	return t, t.Tenant == tenant, nil
}

// answerDetail returns what the portal sees of a, and its documents.
func answerDetail(a answers.Answer) (AnswerDetail, []answers.Attachment) {
	d := AnswerDetail{Aktenzeichen: a.Aktenzeichen, DMSID: a.DMSID, SentAt: timePtr(a.SentAt), Frist: timePtr(a.Frist),
		Information: a.Information}
	for _, f := range a.Findings {
		d.Findings = append(d.Findings, AnswerFinding(f))
	}
	if a.Decision != nil {
		d.Decision = &AnswerDecision{Outcome: a.Decision.Outcome, Text: a.Decision.Text, Date: timePtr(a.Decision.Date)}
	}
	for i, att := range a.Attachments {
		d.Documents = append(d.Documents, AnswerDoc{Index: i, Title: att.Title, FileName: att.FileName,
			MediaType: att.MediaType, URI: att.URI, Size: int64(len(att.Data)), Stored: att.Data != nil})
		if att.Data == nil {
			d.Documents[i].Size = att.Size
		}
	}
	return d, a.Attachments
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return strings.ToLower(x)
		}
	}
	return ""
}

// stageDocuments stages the files that came with an answer as blobs of
// submissionID and returns them as attachments and blobs to commit.
func (s *AnswerService) stageDocuments(ctx context.Context, docs []answers.Attachment, submissionID string, now time.Time) ([]outbox.AnswerAttachment, []outbox.Blob, error) {
	var atts []outbox.AnswerAttachment
	var blobs []outbox.Blob
	for i, d := range docs {
		if d.Data == nil {
			continue
		}
		b, err := outbox.StageBlob(ctx, s.store, s.newID(), bytes.NewReader(d.Data), int64(len(d.Data)))
		if err != nil {
			s.discardStaged(ctx, &blobs)
			return nil, nil, fmt.Errorf("%w: stage answer document %d: %w", ErrUnavailable, i, err)
		}
		b.SubmissionID, b.CreatedAt = submissionID, now
		blobs = append(blobs, b)
		name := d.FileName
		if name == "" {
			name = fmt.Sprintf("dokument-%d", i+1)
		}
		mt := d.MediaType
		if mt == "" {
			mt = "application/octet-stream"
		}
		atts = append(atts, outbox.AnswerAttachment{Index: i, BlobID: b.ID, FileName: name, MIMEType: mt, Size: b.Size})
	}
	return atts, blobs, nil
}

// discardStaged deletes staged blobs that were not committed.
func (s *AnswerService) discardStaged(ctx context.Context, blobs *[]outbox.Blob) {
	if len(*blobs) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, b := range *blobs {
		if err := s.store.DeleteStagedBlob(dctx, b.ID); err != nil {
			s.log.WarnContext(ctx, "staged answer document not deleted; retention removes it",
				slog.String("blob_id", b.ID), slog.Any("error", err))
		}
	}
	*blobs = nil
}

// Errors of Assign and Discard.
var (
	// ErrAnswerNotFound: no answer with that id.
	ErrAnswerNotFound = errors.New("no such answer")
	// ErrAnswerNotUnmatched: the answer is matched, assigned or discarded already.
	ErrAnswerNotUnmatched = errors.New("the answer is not unmatched")
	// ErrAssignTarget: the submission does not exist or belongs to another tenant.
	ErrAssignTarget = errors.New("no submission of the answer's tenant with that id")
	// ErrReasonRequired: an assignment or discard needs a reason.
	ErrReasonRequired = errors.New("a reason is required")
)

// Assign assigns an unmatched answer to a submission of its tenant, on an
// operator's word: the answer's documents are stored, the submission's
// timeline and audit trail gain it and its portal is called back, as if it
// had matched. by names the operator, reason says why.
func (s *AnswerService) Assign(ctx context.Context, id, submissionID, by, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	a, err := s.store.Answer(ctx, id)
	if errors.Is(err, outbox.ErrNotFound) {
		return ErrAnswerNotFound
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if a.State != outbox.AnswerUnmatched {
		return ErrAnswerNotUnmatched
	}
	t, err := s.store.SubmissionTarget(ctx, strings.ToLower(submissionID))
	if errors.Is(err, outbox.ErrNotFound) || (err == nil && t.Tenant != a.Tenant) {
		return ErrAssignTarget
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	// The stored body was accepted when received; its documents are read again.
	parsed, err := answers.Parse(a.Payload, "", answers.Limits{MaxBytes: config.MaxAnswerBytes})
	if err != nil {
		return fmt.Errorf("read stored answer %s: %w", id, err)
	}
	now := s.now().UTC()
	atts, staged, err := s.stageDocuments(ctx, parsed.Attachments, t.SubmissionID, now)
	if err != nil {
		return err
	}
	defer s.discardStaged(ctx, &staged)
	err = s.store.InTx(ctx, func(tx outbox.Tx) error {
		if err := tx.AssignAnswer(ctx, outbox.Answer{ID: id, SubmissionID: t.SubmissionID, ResolvedBy: by,
			Reason: reason, Attachments: atts}); err != nil {
			return err
		}
		if len(staged) > 0 {
			return tx.InsertBlobs(ctx, staged)
		}
		return nil
	})
	switch {
	case errors.Is(err, outbox.ErrAnswerResolved):
		return ErrAnswerNotUnmatched
	case errors.Is(err, outbox.ErrNotFound):
		return ErrAnswerNotFound
	case err != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	staged = nil
	s.log.InfoContext(ctx, "unmatched answer assigned", slog.String("answer_id", id),
		slog.String("submission_id", t.SubmissionID), slog.String("by", by))
	return nil
}

// Discard discards an unmatched answer with a reason; its body is removed.
func (s *AnswerService) Discard(ctx context.Context, id, by, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	err := s.store.DiscardAnswer(ctx, id, by, reason)
	switch {
	case errors.Is(err, outbox.ErrAnswerResolved):
		return ErrAnswerNotUnmatched
	case errors.Is(err, outbox.ErrNotFound):
		return ErrAnswerNotFound
	case err != nil:
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.log.InfoContext(ctx, "unmatched answer discarded", slog.String("answer_id", id), slog.String("by", by))
	return nil
}
