package fitconnect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// Acceptor is the use case the subscriber hands submissions to
// (intake.Service).
type Acceptor interface {
	Accept(ctx context.Context, r intake.Request) (intake.Receipt, error)
}

// Enqueuer is the part of the outbox that stores reject events.
type Enqueuer interface {
	InTx(ctx context.Context, fn func(tx outbox.Tx) error) error
	Message(ctx context.Context, id string) (outbox.Message, error)
}

// SubscriberConfig configures a Subscriber: one municipality's Zustellpunkt.
type SubscriberConfig struct {
	// ID is the subscriber's configured id; the submissions' PortalID is
	// "fitconnect:<ID>" and their idempotency key the FIT-Connect
	// submission id.
	ID            string
	Tenant        string
	DestinationID string
	Client        *Client
	DecryptionKey Key
	// PreviousDecryptionKey, when set, decrypts what was encrypted for the
	// destination's previous key during a key rotation.
	PreviousDecryptionKey Key
	// Services maps LeiKa URNs to procedure ids.
	Services map[string]string
	// PollInterval is the time between polls. Default 1m.
	PollInterval time.Duration
	// Concurrency is how many submissions are picked up at once. Default 4.
	Concurrency int
	Intake      Acceptor
	Store       Enqueuer
	Observer    Observer
	Logger      *slog.Logger
	Now         func() time.Time

	// Identity, when set, verifies the identity token in the metadata's
	// authenticationInformation (type AuthIdentificationReport): the
	// submission then carries the verified identity, and is rejected
	// without a valid token (where required) or when the Fachdaten's
	// identity claims more. Nil: the Fachdaten's identity is the sender's
	// word.
	Identity *idtoken.Verifier
}

// DefaultConcurrency is the number of submissions a subscriber picks up
// at once unless configured.
const DefaultConcurrency = 4

// PortalID is the PortalID of the submissions of a subscriber.
func PortalID(subscriber string) string { return "fitconnect:" + subscriber }

// Subscriber picks up the submissions of a destination, decrypts and
// checks them, hands them to the intake and confirms or rejects them
// through the outbox. Run polls; Wake (the NewSubmissions callback) polls
// at once.
type Subscriber struct {
	cfg  SubscriberConfig
	keys []Key // decryption keys: the current one, then the previous one
	obs  Observer
	log  *slog.Logger
	now  func() time.Time
	wake chan struct{}

	mu      sync.Mutex
	handled map[string]time.Time // submission ids whose event is queued, with when
	seen    map[string]time.Time // ids listed before, with their submit time (zero: unknown)
}

// NewSubscriber checks cfg and returns a Subscriber.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	var errs []error
	if cfg.ID == "" || cfg.Tenant == "" || cfg.DestinationID == "" {
		errs = append(errs, errors.New("id, tenant and destination id are required"))
	}
	if cfg.Client == nil || cfg.Intake == nil || cfg.Store == nil {
		errs = append(errs, errors.New("client, intake and store are required"))
	}
	if cfg.DecryptionKey.JWK.Key == nil {
		errs = append(errs, errors.New("no decryption key"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fitconnect: subscriber %s: %w", cfg.ID, err)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	keys := []Key{cfg.DecryptionKey}
	if cfg.PreviousDecryptionKey.JWK.Key != nil {
		keys = append(keys, cfg.PreviousDecryptionKey)
	}
	s := &Subscriber{cfg: cfg, keys: keys, obs: cfg.Observer, log: cfg.Logger, now: cfg.Now, wake: make(chan struct{}, 1),
		handled: map[string]time.Time{}, seen: map[string]time.Time{}}
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.log = s.log.With(slog.String("fitconnect_subscriber", cfg.ID))
	return s, nil
}

// ID is the subscriber's id.
func (s *Subscriber) ID() string { return s.cfg.ID }

// Wake makes Run poll at once.
func (s *Subscriber) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run polls until ctx is cancelled. A failed poll is retried with
// exponential backoff from 1s up to the poll interval.
func (s *Subscriber) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		err := s.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := s.cfg.PollInterval
		if err != nil {
			backoff = min(max(2*backoff, time.Second), s.cfg.PollInterval)
			wait = backoff
			s.log.WarnContext(ctx, "fitconnect poll failed", slog.Duration("retry_in", wait), slog.Any("error", err))
		} else {
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-s.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Poll lists the submissions ready for pickup and handles each once. It
// returns the first error of the list or of a submission; the others are
// still handled.
func (s *Subscriber) Poll(ctx context.Context) error {
	list, err := s.cfg.Client.SubmissionsForPickup(ctx, s.cfg.DestinationID)
	s.obs.Polled(s.cfg.ID, err == nil)
	if err != nil {
		s.countError(err)
		return err
	}
	var (
		mu    sync.Mutex
		first error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for _, p := range list {
		if p.DestinationID != "" && p.DestinationID != s.cfg.DestinationID {
			continue
		}
		if s.isHandled(p.SubmissionID) {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := s.Handle(gctx, p); err != nil {
				s.log.WarnContext(gctx, "fitconnect submission not handled; retried with the next poll",
					slog.String("fitconnect_submission", p.SubmissionID), slog.Any("error", err))
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			return nil // one submission's failure does not stop the others
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.reportWaiting(ctx, list)
	return first
}

// isHandled reports whether the submission's event is queued; such entries
// are forgotten after an hour, after which a still listed submission is
// fetched again (harmless: the intake and the event are idempotent).
func (s *Subscriber) isHandled(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.handled[id]
	if ok && s.now().Sub(at) > time.Hour {
		delete(s.handled, id)
		return false
	}
	return ok
}

func (s *Subscriber) markHandled(id string) {
	s.mu.Lock()
	s.handled[id] = s.now()
	s.mu.Unlock()
}

// reportWaiting reports how many submissions wait and, for those listed
// in an earlier poll, how long the oldest has waited since it was
// submitted (its submit-submission event, read once per submission).
func (s *Subscriber) reportWaiting(ctx context.Context, list []SubmissionForPickup) {
	s.mu.Lock()
	previous := s.seen
	s.mu.Unlock()
	next := make(map[string]time.Time, len(list))
	var oldest time.Duration
	now := s.now()
	for _, p := range list {
		at, listed := previous[p.SubmissionID]
		if listed && at.IsZero() {
			at = s.submittedAt(ctx, p.CaseID, p.SubmissionID)
		}
		next[p.SubmissionID] = at
		if !at.IsZero() {
			oldest = max(oldest, now.Sub(at))
		}
	}
	s.mu.Lock()
	s.seen = next
	s.mu.Unlock()
	s.obs.Waiting(s.cfg.ID, len(list), oldest)
}

// submittedAt reads when the submission was submitted from its case's
// event log (iat of submit-submission); zero when unknown.
func (s *Subscriber) submittedAt(ctx context.Context, caseID, submissionID string) time.Time {
	sets, err := s.cfg.Client.Events(ctx, caseID)
	if err != nil {
		return time.Time{}
	}
	for _, set := range sets {
		// The Zustelldienst's own events; their signature is not needed
		// for a gauge.
		e, err := decodeUnverified(set)
		if err == nil && e.Type == EventSubmitSubmission && e.SubmissionID == submissionID {
			return e.IssuedAt
		}
	}
	return time.Time{}
}

// reject is a submission refused with the problems of a reject event.
type reject struct {
	problems []Problem
}

func (r *reject) Error() string {
	types := make([]string, len(r.problems))
	for i, p := range r.problems {
		types[i] = strings.TrimPrefix(p.Type, problemBase)
	}
	return "rejected: " + strings.Join(types, ", ")
}

func rejectWith(typ, title, detail, instance string) *reject {
	return &reject{problems: []Problem{{Type: typ, Title: title, Detail: detail, Instance: instance}}}
}

// received is a fetched, decrypted and checked submission.
type received struct {
	sub         Submission
	procedure   string
	metadata    []byte
	data        []byte
	fachdaten   fachdaten
	identity    *transform.Identity // the Fachdaten's, or the verified one
	attachments []receivedAttachment
	tags        AuthenticationTags
}

type receivedAttachment struct {
	meta    MetadataAttachment
	content []byte
}

// fachdaten are the JSON Fachdaten of FachdatenSchemaURI.
type fachdaten struct {
	Applicant map[string]any
	Data      map[string]any
	Identity  *identityMember
}

// decodeFachdaten decodes the Fachdaten: one JSON object with the members
// applicant and data (objects, checked further by the mapper) and
// optionally identity, and no others. A *reject says what is wrong.
func decodeFachdaten(b []byte) (fachdaten, error) {
	var f fachdaten
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return f, rejectWith(ProblemSyntaxViolation, "Syntax-Fehler", "the Fachdaten are not one JSON object of "+FachdatenSchemaURI, "data")
	}
	var bad []string
	for k, v := range obj {
		var err error
		switch k {
		case "applicant":
			err = decodeNumbers(v, &f.Applicant)
		case "data":
			err = decodeNumbers(v, &f.Data)
		case "identity":
			err = json.Unmarshal(v, &f.Identity)
		default:
			err = errors.New("unknown member")
		}
		if err != nil {
			bad = append(bad, "/"+k)
		}
	}
	if bad != nil {
		sort.Strings(bad)
		return f, rejectWith(ProblemSchemaViolation, "Schema-Fehler",
			"invalid or unknown members "+strings.Join(bad, ", ")+"; allowed are applicant, data and identity", "data")
	}
	return f, nil
}

func decodeNumbers(raw json.RawMessage, v *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

type identityMember struct {
	Method           string `json:"method"`
	Provider         string `json:"provider,omitempty"`
	TrustLevel       string `json:"trust_level,omitempty"`
	PostboxReference string `json:"postbox_reference,omitempty"`
}

// Handle fetches one submission and accepts or rejects it. It returns an
// error when it should be retried: the Zustelldienst or the store failed.
func (s *Subscriber) Handle(ctx context.Context, p SubmissionForPickup) error {
	rc, err := s.fetch(ctx, p)
	if r, ok := errors.AsType[*reject](err); ok {
		return s.reject(ctx, p, r)
	}
	if err != nil {
		s.countError(err)
		return err
	}
	s.obs.Fetched(s.cfg.ID)
	return s.accept(ctx, p, rc)
}

// fetch downloads, decrypts and checks a submission; a *reject says why
// it is refused.
func (s *Subscriber) fetch(ctx context.Context, p SubmissionForPickup) (*received, error) {
	sub, err := s.cfg.Client.Submission(ctx, p.SubmissionID)
	if err != nil {
		return nil, err
	}
	rc := &received{sub: sub}
	procedure, ok := s.cfg.Services[sub.ServiceType.Identifier]
	if !ok {
		return nil, rejectWith(ProblemUnsupported, "Leistung wird nicht unterstützt",
			"the destination does not accept service "+sub.ServiceType.Identifier, "submission")
	}
	rc.procedure = procedure
	if rc.metadata, err = DecryptWith(s.keys, sub.EncryptedMetadata); err != nil {
		return nil, rejectWith(ProblemEncryptionIssue, "Entschlüsselungsfehler", err.Error(), "metadata")
	}
	rc.tags.Metadata = AuthenticationTag(sub.EncryptedMetadata)
	md, err := ParseMetadata(rc.metadata)
	switch {
	case errors.Is(err, errSyntax):
		return nil, rejectWith(ProblemSyntaxViolation, "Syntax-Fehler", err.Error(), "metadata")
	case errors.Is(err, errSchema):
		return nil, rejectWith(ProblemSchemaViolation, "Schema-Fehler", err.Error(), "metadata")
	case err != nil:
		return nil, err
	}

	// The attachments the metadata names must be those of the submission.
	var announced []string
	for _, a := range md.ContentStructure.Attachments {
		announced = append(announced, strings.ToLower(a.AttachmentID))
	}
	uploaded := make([]string, len(sub.Attachments))
	for i, a := range sub.Attachments {
		uploaded[i] = strings.ToLower(a)
	}
	sort.Strings(announced)
	sort.Strings(uploaded)
	if !slices.Equal(announced, uploaded) {
		return nil, rejectWith(ProblemAttachments, "Anlagen stimmen nicht überein",
			"the attachments of the metadata are not those of the submission", "metadata")
	}

	d := md.ContentStructure.Data
	switch {
	case d == nil || sub.EncryptedData == "":
		return nil, rejectWith(ProblemMissingData, "Fachdaten fehlen", "the submission carries no Fachdaten", "data")
	case d.SubmissionSchema.SchemaURI != FachdatenSchemaURI || d.SubmissionSchema.MIMEType != "application/json":
		return nil, rejectWith(ProblemUnsupportedData, "Fachdatenschema wird nicht unterstützt",
			"supported is "+FachdatenSchemaURI+" (application/json)", "data")
	}
	if rc.data, err = DecryptWith(s.keys, sub.EncryptedData); err != nil {
		return nil, rejectWith(ProblemEncryptionIssue, "Entschlüsselungsfehler", err.Error(), "data")
	}
	rc.tags.Data = AuthenticationTag(sub.EncryptedData)
	if !d.Hash.Matches(rc.data) {
		return nil, rejectWith(ProblemHashMismatch, "Prüfsumme stimmt nicht", "the hash of the Fachdaten differs from the metadata", "data")
	}
	if rc.fachdaten, err = decodeFachdaten(rc.data); err != nil {
		return nil, err
	}
	rc.identity = rc.fachdaten.Identity.identity()
	if v := s.cfg.Identity; v != nil {
		if rc.identity, err = verifyIdentity(ctx, v, md.AuthenticationInformation, rc.identity); err != nil {
			return nil, err
		}
	}

	for _, a := range md.ContentStructure.Attachments {
		jwe, err := s.cfg.Client.Attachment(ctx, sub.SubmissionID, a.AttachmentID)
		if err != nil {
			return nil, err
		}
		instance := "attachment:" + a.AttachmentID
		content, err := DecryptWith(s.keys, jwe)
		if err != nil {
			return nil, rejectWith(ProblemEncryptionIssue, "Entschlüsselungsfehler", err.Error(), instance)
		}
		if !a.Hash.Matches(content) {
			return nil, rejectWith(ProblemHashMismatch, "Prüfsumme stimmt nicht", "the hash of the attachment differs from the metadata", instance)
		}
		if rc.tags.Attachments == nil {
			rc.tags.Attachments = map[string]string{}
		}
		rc.tags.Attachments[a.AttachmentID] = AuthenticationTag(jwe)
		rc.attachments = append(rc.attachments, receivedAttachment{meta: a, content: content})
	}
	return rc, nil
}

// accept hands the submission to the intake with its accept event as a
// follow-up in the same transaction.
func (s *Subscriber) accept(ctx context.Context, p SubmissionForPickup, rc *received) error {
	tags := rc.tags
	ev, err := newEventMessage(s.cfg.ID, eventMessage{Type: EventAcceptSubmission, DestinationID: s.cfg.DestinationID,
		SubmissionID: rc.sub.SubmissionID, CaseID: rc.sub.CaseID, Tags: &tags, IssuedAt: s.now().UTC()})
	if err != nil {
		return err
	}
	ev.Metadata[outbox.MetaTenant] = s.cfg.Tenant
	ev.Metadata[outbox.MetaProcedure] = rc.procedure
	h := sha256.New()
	h.Write(rc.metadata)
	h.Write([]byte{0})
	h.Write(rc.data)
	var hash [sha256.Size]byte
	h.Sum(hash[:0])
	req := intake.Request{
		PortalID:       PortalID(s.cfg.ID),
		Tenant:         s.cfg.Tenant,
		Procedure:      rc.procedure,
		Applicant:      rc.fachdaten.Applicant,
		Data:           rc.fachdaten.Data,
		Identity:       rc.identity,
		IdempotencyKey: rc.sub.SubmissionID,
		RequestHash:    hash,
		Payload:        rc.data,
		FollowUps:      []outbox.Message{ev},
	}
	if len(rc.attachments) > 0 {
		req.Attachments = &attachments{list: rc.attachments}
	}
	receipt, err := s.cfg.Intake.Accept(ctx, req)
	if v, ok := errors.AsType[*intake.ValidationError](err); ok {
		return s.reject(ctx, p, validationReject(v))
	}
	switch {
	case errors.Is(err, intake.ErrIdempotencyConflict):
		s.obs.Error(s.cfg.ID, ErrorConflict)
		return fmt.Errorf("submission %s came back with other content than stored: %w", rc.sub.SubmissionID, err)
	case errors.Is(err, intake.ErrUnavailable):
		s.obs.Error(s.cfg.ID, ErrorStore)
		return err
	case err != nil:
		s.obs.Error(s.cfg.ID, ErrorStore)
		return err
	}
	s.markHandled(rc.sub.SubmissionID)
	if !receipt.Replayed {
		s.obs.Accepted(s.cfg.ID)
		s.log.InfoContext(ctx, "fitconnect submission accepted", slog.String("fitconnect_submission", rc.sub.SubmissionID),
			slog.String("submission_id", receipt.SubmissionID), slog.String("procedure", receipt.Procedure))
	}
	return nil
}

// validationReject turns the intake's problems into a reject: the
// procedure not routed is an unsupported service, anything else invalid
// Fachdaten. The detail names the JSON pointers and codes, never values.
func validationReject(v *intake.ValidationError) *reject {
	if errors.Is(v, intake.ErrUnknownProcedure) || errors.Is(v, intake.ErrUnknownTenant) {
		return rejectWith(ProblemUnsupported, "Leistung wird nicht unterstützt",
			"the municipality does not accept this service", "submission")
	}
	parts := make([]string, 0, len(v.Errors))
	for _, e := range v.Errors {
		parts = append(parts, e.Pointer+" ("+e.Code+")")
	}
	return rejectWith(ProblemSchemaViolation, "Fachdaten ungültig", "invalid Fachdaten at "+strings.Join(parts, ", "), "data")
}

// reject stores the reject event in the outbox (nothing else is stored,
// nothing delivered); the relay posts it. Its id derives from the
// submission id, so a submission rejected twice yields one event.
func (s *Subscriber) reject(ctx context.Context, p SubmissionForPickup, r *reject) error {
	caseID := p.CaseID
	m, err := newEventMessage(s.cfg.ID, eventMessage{Type: EventRejectSubmission, DestinationID: s.cfg.DestinationID,
		SubmissionID: p.SubmissionID, CaseID: caseID, Problems: r.problems, IssuedAt: s.now().UTC()})
	if err != nil {
		return err
	}
	m.Metadata[outbox.MetaTenant] = s.cfg.Tenant
	if _, err := s.cfg.Store.Message(ctx, m.ID); err == nil {
		s.markHandled(p.SubmissionID)
		return nil
	}
	err = s.cfg.Store.InTx(ctx, func(tx outbox.Tx) error { return tx.InsertMessages(ctx, []outbox.Message{m}) })
	if err != nil {
		if _, lookErr := s.cfg.Store.Message(ctx, m.ID); lookErr == nil {
			s.markHandled(p.SubmissionID) // another process rejected it at the same time
			return nil
		}
		s.obs.Error(s.cfg.ID, ErrorStore)
		return fmt.Errorf("store reject event: %w", err)
	}
	s.markHandled(p.SubmissionID)
	for _, pr := range r.problems {
		s.obs.Rejected(s.cfg.ID, strings.TrimPrefix(pr.Type, problemBase))
	}
	s.log.WarnContext(ctx, "fitconnect submission rejected", slog.String("fitconnect_submission", p.SubmissionID),
		slog.String("problem", r.Error()))
	return nil
}

func (s *Subscriber) countError(err error) {
	switch {
	case errors.Is(err, ErrToken):
		s.obs.Error(s.cfg.ID, ErrorToken)
	default:
		s.obs.Error(s.cfg.ID, ErrorAPI)
	}
}

func (m *identityMember) identity() *transform.Identity {
	if m == nil {
		return nil
	}
	return &transform.Identity{Method: m.Method, Provider: m.Provider, TrustLevel: m.TrustLevel, PostboxReference: m.PostboxReference}
}

// attachments are the decrypted attachments of a submission as the
// intake's Attachments.
type attachments struct {
	list []receivedAttachment
}

var _ intake.Attachments = (*attachments)(nil)

// Check hands the decrypted attachments to the intake, which checks them
// (count, sizes, file names, media types, signatures) as for every
// protocol. A missing file name is named after the attachment id; path
// separators in a sender's file name are replaced.
func (a *attachments) Check() ([]intake.Attachment, []transform.FieldError) {
	out := make([]intake.Attachment, 0, len(a.list))
	for _, r := range a.list {
		name := r.meta.FileName
		if name == "" {
			name = "anlage-" + r.meta.AttachmentID
		}
		name = strings.NewReplacer("/", "_", "\\", "_").Replace(name)
		out = append(out, intake.Attachment{ID: strings.ToLower(r.meta.AttachmentID), FileName: name,
			MIMEType: r.meta.MIMEType, Content: r.content})
	}
	return out, nil
}

// Stage has nothing to do: the content came with Check, and the intake
// stages it.
func (a *attachments) Stage(context.Context, *intake.Stager, []transform.Attachment) ([]transform.FieldError, error) {
	return nil, nil
}

// CallbackHandler answers the NewSubmissions callbacks of the Zustelldienst
// for a subscriber: it verifies the HMAC and the timestamp (401 and
// nothing fetched otherwise) and wakes the subscriber.
func CallbackHandler(secret []byte, wake func(), obs Observer, id string, now func() time.Time) http.Handler {
	recv := newCallbackReceiver(secret, CallbackNewSubmissions, id, obs, now)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := recv.receive(w, r); !ok {
			return
		}
		wake()
		w.WriteHeader(http.StatusOK)
	})
}
