package intake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// Store is the part of the outbox the intake uses: one transaction for a
// submission and its messages, and the blobs its attachments are staged in
// before it.
type Store interface {
	InTx(ctx context.Context, fn func(tx outbox.Tx) error) error
	outbox.Blobs
}

// Handoff is the relay of this process, optionally given to the intake: a
// message it takes a ticket for (Offer) is committed leased to it and
// handed to it after the commit, delivered without being claimed
// (outbox.Relay.Offer).
type Handoff interface {
	Offer(topic string) (*outbox.Ticket, bool)
}

// Config configures a Service.
type Config struct {
	// Config holds the tenants, their routes and the procedures. Required.
	// It must not be changed while the Service is in use; Reconfigure
	// replaces it.
	Config *config.Config
	// Store is the outbox that submissions and their messages are
	// committed to. Required.
	Store Store
	// Registry maps procedure ids to their mappers. Required.
	Registry *transform.Registry
	// Product names the software in the messages (produkt,
	// produkthersteller, produktversion).
	Product transform.Product
	// Logger receives warnings with ids, never payloads. Default: discard.
	Logger *slog.Logger
	// Now returns the current time, for the receipt time of submissions and
	// the creation time of messages. Default time.Now.
	Now func() time.Time
	// NewID returns a new UUID, for submission, message and blob ids.
	// Default uuid.NewString.
	NewID func() string
	// DatabaseTimeout bounds each database call of Accept: the
	// submission's transaction, each chunk of an attachment staged. After
	// it Accept fails with ErrUnavailable. Default DefaultDatabaseTimeout.
	DatabaseTimeout time.Duration
	// Handoff, when set, receives the submissions' messages after the
	// commit for their first attempt, where it has a free slot for them
	// (outbox.Relay in serve). Nil: every message waits to be claimed.
	// Follow-up messages (Request.FollowUps) are always claimed.
	Handoff Handoff
}

// DefaultDatabaseTimeout is the default of Config.DatabaseTimeout.
const DefaultDatabaseTimeout = 5 * time.Second

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Config == nil {
		errs = append(errs, errors.New("config is nil"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if c.Registry == nil {
		errs = append(errs, errors.New("registry is nil"))
	}
	if c.DatabaseTimeout < 0 {
		errs = append(errs, fmt.Errorf("database timeout is negative (%s)", c.DatabaseTimeout))
	}
	if errs != nil {
		return fmt.Errorf("intake config: %w", errors.Join(errs...))
	}
	return nil
}

// Service accepts submissions. It is safe for concurrent use.
type Service struct {
	// setup is the configuration and the mappers in force: each
	// submission reads it once, so that a reload (Reconfigure) never
	// mixes two generations in one submission.
	setup     atomic.Pointer[setup]
	store     Store
	product   transform.Product
	log       *slog.Logger
	now       func() time.Time
	newID     func() string
	dbTimeout time.Duration
	handoff   Handoff
}

// New validates cfg and returns the Service.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{store: cfg.Store, product: cfg.Product, log: cfg.Logger, now: cfg.Now, newID: cfg.NewID,
		dbTimeout: cmp.Or(cfg.DatabaseTimeout, DefaultDatabaseTimeout), handoff: cfg.Handoff}
	s.setup.Store(&setup{cfg: cfg.Config, registry: cfg.Registry})
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

// setup is one generation of the configuration and its mappers.
type setup struct {
	cfg      *config.Config
	registry *transform.Registry
	inflight atomic.Int64 // submissions being accepted with it
}

// Reconfigure replaces the configuration and the mappers for the
// submissions accepted from now on; those in flight finish with the ones
// they started with, and the returned wait blocks until they did (or ctx
// ends), so that a reload can tell that no message of the old generation
// is still to come. cfg must be validated and must not change afterwards.
func (s *Service) Reconfigure(cfg *config.Config, registry *transform.Registry) (wait func(ctx context.Context) error, err error) {
	if cfg == nil || registry == nil {
		return nil, errors.New("intake: reconfigure: config and registry are required")
	}
	old := s.setup.Swap(&setup{cfg: cfg, registry: registry})
	return func(ctx context.Context) error {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for old.inflight.Load() > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		return nil
	}, nil
}

// Request is a submission as an inbound protocol decoded it. The protocol
// has authenticated its sender and checked that it may submit the
// procedure for the tenant.
type Request struct {
	// PortalID is the authenticated sender; idempotency keys are scoped to
	// it.
	PortalID string
	// Tenant and Procedure are the ids the request names; Accept checks
	// that the tenant exists and routes the procedure to a mapper.
	Tenant    string
	Procedure string
	// Applicant and Data are the objects of the submission, nil when absent
	// (the mapper decides whether that is allowed).
	Applicant map[string]any
	Data      map[string]any
	// Identity is how the sender identified the applicant; nil when it
	// states nothing.
	Identity *transform.Identity
	// Attachments supplies the files of the submission, which Accept
	// checks against the procedure's limits and rules; nil when the
	// protocol carries none.
	Attachments Attachments
	// IdempotencyKey optionally names the submission within the portal: a
	// retry with the same key and the same RequestHash returns the
	// original without storing anything. Empty: every request is new.
	IdempotencyKey string
	// RequestHash is the SHA-256 of the canonical request, which tells a
	// retry from a conflicting reuse of a key.
	RequestHash [sha256.Size]byte
	// HashContent: RequestHash does not cover the attachments' content,
	// which came apart from the request; Accept adds each attachment's id
	// and SHA-256 to it once staged (see contentHash).
	HashContent bool
	// Payload is what is kept of the request in the store (without the
	// attachments' content, which is stored apart).
	Payload []byte
	// FollowUps are messages of the protocol committed in the submission's
	// transaction, and only when the submission is new (not on a replay):
	// FIT-Connect's accept-submission event, so that it is sent exactly when
	// the submission is stored. Accept sets their SubmissionID.
	FollowUps []outbox.Message
}

// Receipt is the outcome of Accept.
type Receipt struct {
	// SubmissionID is the id of the stored submission: a new one, or on a
	// replay the original's. Accept also returns it with an error once the
	// id is assigned, for the log; it is empty on ErrIdempotencyConflict.
	SubmissionID string
	// Replayed: the request was an idempotent retry, answered like the
	// original; nothing was stored.
	Replayed bool
	// Tenant and Procedure are the configured ids, set once the tenant is
	// known to route the procedure (also with an error after that point);
	// they never come from the request alone, so metrics labelled with
	// them stay bounded.
	Tenant    string
	Procedure string
}

// Accept validates r (the attachments against the procedure's limits and
// rules, see checkAttachments, then the mapper's Validate), maps it once
// per destination of the tenant's route (an xdomea destination gets its
// filing message), stages the attachments' content, checking what streams
// in (Stager.Stage), and commits the submission, its attachments and its
// messages in one transaction. Nothing is stored when it returns an error: a
// *ValidationError (the submission's problems), ErrIdempotencyConflict,
// an error wrapping ErrUnavailable (the store failed; the sender retries
// with the same key), an error of r.Attachments as it returned it, or any
// other error (a bug or a broken mapper).
func (s *Service) Accept(ctx context.Context, r Request) (Receipt, error) {
	var rc Receipt
	set := s.setup.Load()
	set.inflight.Add(1)
	defer set.inflight.Add(-1)
	tenant, ok := set.cfg.Tenant(r.Tenant)
	if !ok {
		return rc, &ValidationError{Err: ErrUnknownTenant, Errors: []transform.FieldError{{Pointer: "/tenant",
			Code: CodeUnknownTenant, Message: "unknown tenant", MessageDE: "unbekannter Mandant"}}}
	}
	route, ok := tenant.Route(r.Procedure)
	if !ok {
		return rc, &ValidationError{Err: ErrUnknownProcedure, Errors: []transform.FieldError{{Pointer: "/procedure",
			Code: CodeUnknownProcedure, Message: "the tenant does not accept this procedure",
			MessageDE: "der Mandant nimmt diese Leistung nicht an"}}}
	}
	rc.Tenant, rc.Procedure = tenant.ID, route.Procedure
	mapper, ok := set.registry.Mapper(r.Procedure)
	if !ok {
		s.log.WarnContext(ctx, "procedure is routed but has no mapper",
			slog.String("tenant", tenant.ID), slog.String("procedure", route.Procedure), slog.String("portal_id", r.PortalID))
		return rc, &ValidationError{Err: ErrUnknownProcedure, Errors: []transform.FieldError{{Pointer: "/procedure",
			Code: CodeUnknownProcedure, Message: "the procedure is not supported",
			MessageDE: "die Leistung wird nicht unterstützt"}}}
	}

	// The attachments before the mapper, which may cross-check references
	// to them: against attachments that failed it would report in vain.
	limits := procedureLimits(set.cfg, r.Procedure)
	var decoded []Attachment
	var attachments []transform.Attachment
	if r.Attachments != nil {
		var errs []transform.FieldError
		decoded, errs = r.Attachments.Check()
		if attachments, errs = checkAttachments(decoded, errs, limits); errs != nil {
			return rc, &ValidationError{Errors: errs}
		}
	}

	// ReceivedAt is set before Validate, so that rules relative to the
	// receipt (the Wohnungsgeberbestätigung's dates) are checked with the
	// others and not only when mapping.
	now := s.now().UTC()
	sub := transform.Submission{
		Tenant:      tenant.ID,
		Procedure:   r.Procedure,
		Applicant:   r.Applicant,
		Data:        r.Data,
		Identity:    r.Identity,
		Attachments: attachments,
		ReceivedAt:  now,
	}
	if errs := mapper.Validate(sub); len(errs) > 0 {
		return rc, &ValidationError{Errors: errs}
	}
	sub.ID = s.newID()
	rc.SubmissionID = sub.ID

	// The attachments' content is staged before the transaction, so that
	// a slow upload holds none open; what is not committed is deleted.
	staged := &Stager{blobs: &boundedBlobs{Blobs: s.store, timeout: s.dbTimeout}, newID: s.newID,
		attachments: sub.Attachments, limits: limits}
	committed := false
	defer func() {
		if !committed && len(staged.staged) > 0 {
			if err := staged.discard(ctx); err != nil {
				s.log.WarnContext(ctx, "staged attachments not deleted; retention removes them",
					slog.String("submission_id", sub.ID), slog.Any("error", err))
			}
		}
	}()
	hash := r.RequestHash
	if r.Attachments != nil {
		if err := stageContents(ctx, staged, decoded); err != nil {
			return rc, err
		}
		// Also without attachments: a protocol that sends content apart
		// reads the rest of it here.
		errs, err := r.Attachments.Stage(ctx, staged, sub.Attachments)
		if err != nil {
			return rc, err
		}
		if errs != nil {
			return rc, &ValidationError{Errors: errs}
		}
		if i := staged.unstaged(); i >= 0 {
			return rc, fmt.Errorf("attachment %d has no content: the protocol neither gave nor staged it", i)
		}
		if r.HashContent {
			hash = contentHash(hash[:], sub.Attachments, staged.staged)
		}
	}

	msgs, err := s.buildMessages(set.cfg, sub, mapper, tenant, route, now)
	if err != nil {
		return rc, err
	}
	blobs := make([]outbox.Blob, len(staged.staged))
	for i, b := range staged.staged {
		b.SubmissionID, b.CreatedAt = sub.ID, now
		blobs[i] = b
	}

	tickets := s.offer(msgs)
	defer cancelTickets(tickets) // unless handed below

	var stored outbox.Submission
	var created bool
	txCtx, cancel := context.WithTimeout(ctx, s.dbTimeout)
	defer cancel()
	err = s.inTx(txCtx, func(tx outbox.Tx) error {
		ctx := txCtx
		var err error
		stored, created, err = tx.CreateSubmission(ctx, outbox.Submission{
			ID:             sub.ID,
			PortalID:       r.PortalID,
			TenantID:       tenant.ID,
			ProcedureID:    r.Procedure,
			IdempotencyKey: r.IdempotencyKey,
			RequestHash:    hash[:],
			Payload:        r.Payload,
			CreatedAt:      now,
		})
		if err != nil {
			return fmt.Errorf("create submission: %w", err)
		}
		if !created {
			return nil // an idempotent retry, or a conflict: see below
		}
		if len(blobs) > 0 {
			if err := tx.InsertBlobs(ctx, blobs); err != nil {
				return fmt.Errorf("insert attachments: %w", err)
			}
		}
		if err := tx.InsertMessages(ctx, msgs); err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		if len(r.FollowUps) > 0 {
			if err := tx.InsertMessages(ctx, followUps(r.FollowUps, sub.ID, now)); err != nil {
				return fmt.Errorf("insert follow-ups: %w", err)
			}
		}
		return nil
	})
	committed = err == nil && created
	if committed {
		for i, t := range tickets {
			if t != nil {
				t.Hand(msgs[i])
			}
		}
	}
	if err != nil {
		return rc, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !created {
		if !bytes.Equal(stored.RequestHash, hash[:]) {
			rc.SubmissionID = ""
			return rc, ErrIdempotencyConflict
		}
		rc.SubmissionID, rc.Replayed = stored.ID, true
	}
	return rc, nil
}

// inTx runs fn in a transaction of the store, shared with concurrent
// submissions where the store can (outbox.TxSharer): fn only writes rows of
// its own submission, and may run again alone if the shared transaction
// fails.
func (s *Service) inTx(ctx context.Context, fn func(tx outbox.Tx) error) error {
	if sh, ok := s.store.(outbox.TxSharer); ok {
		return sh.InTxShared(ctx, fn)
	}
	return s.store.InTx(ctx, fn)
}

// offer takes a ticket of the handoff for each message that it has a slot
// for, and leases the message to it; the tickets are in msgs' order, nil
// where none was taken.
func (s *Service) offer(msgs []outbox.Message) []*outbox.Ticket {
	if s.handoff == nil {
		return nil
	}
	tickets := make([]*outbox.Ticket, len(msgs))
	// The lease must outlast the transaction: one that ran out before the
	// commit (a relay.lease shorter than the database budget, a slow
	// database) would have the message recovered as lost, and delivered
	// twice, while this process hands it over. A transaction cannot commit
	// after its budget (the store checks it on commit).
	outlast := time.Now().Add(s.dbTimeout + time.Second) // the relay's clock, not the receipt's
	for i := range msgs {
		if t, ok := s.handoff.Offer(msgs[i].Topic); ok {
			t.Lease(&msgs[i])
			if msgs[i].LeaseUntil.Before(outlast) {
				msgs[i].LeaseUntil = outlast
			}
			tickets[i] = t
		}
	}
	return tickets
}

// cancelTickets gives back the slots of tickets not handed (the
// transaction failed or stored nothing); a handed one ignores it.
func cancelTickets(tickets []*outbox.Ticket) {
	for _, t := range tickets {
		if t != nil {
			t.Cancel()
		}
	}
}

// procedureLimits returns the attachment limits of procedure, with the
// defaults for zero fields.
func procedureLimits(cfg *config.Config, procedure string) config.AttachmentLimits {
	var limits config.AttachmentLimits
	if p, ok := cfg.Procedure(procedure); ok {
		limits = p.Attachments
	}
	return limits.WithDefaults()
}

// stageContents stages the content that came with the request, checked by
// checkAttachments already; a failure is the store's.
func stageContents(ctx context.Context, s *Stager, decoded []Attachment) error {
	for i, a := range decoded {
		if a.Content == nil {
			continue
		}
		if err := s.Stage(ctx, i, bytes.NewReader(a.Content)); err != nil {
			if _, ok := errors.AsType[*ValidationError](err); ok {
				return err
			}
			return fmt.Errorf("%w: stage attachment %d: %w", ErrUnavailable, i, err)
		}
	}
	return nil
}

// followUps returns copies of msgs linked to the submission id.
func followUps(msgs []outbox.Message, submissionID string, now time.Time) []outbox.Message {
	out := make([]outbox.Message, len(msgs))
	for i, m := range msgs {
		m.Metadata, m.SubmissionID = maps.Clone(m.Metadata), submissionID
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		out[i] = m
	}
	return out
}
