package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// Errors of Remap.
var (
	// ErrRequestPurged: the submission's request was removed by retention,
	// so there is nothing to map again.
	ErrRequestPurged = errors.New("the request of the submission was purged (retention); it cannot be mapped again")
	// ErrNotRemappable: the message was not mapped from a request (a mail,
	// a callback, a FIT-Connect event), or its route or mapper is no longer
	// configured.
	ErrNotRemappable = errors.New("message cannot be mapped again")
)

// Remapped is a message mapped again from its submission's request.
type Remapped struct {
	// Message has the old message's id and topic, the new payload and metadata.
	Message outbox.Message
	// OldVersion and NewVersion are the mapping versions before and after
	// (outbox.MetaMappingVersion); OldVersion is "unknown" for a message
	// stored before versions were recorded.
	OldVersion, NewVersion string
}

// Remap maps the request of sub again, with the configuration and the
// mappers in force now, into the message old of that submission: same id
// and topic, the receipt time of the submission, created now. It returns
// ErrRequestPurged when the request is gone, ErrNotRemappable (wrapped,
// with the reason) when old was not mapped from the request or its route,
// destination or mapper is no longer configured, and a *ValidationError
// when the request does not pass the current mapper's checks. Nothing is
// stored: the caller stores the result (outbox.Store.Remap).
//
// The applicant's identity is taken from old's metadata and the
// attachments from old's bundle, so that the attachments' stored content
// is reused.
func (s *Service) Remap(sub outbox.Submission, old outbox.Message) (Remapped, error) {
	set := s.setup.Load()
	md := old.Metadata
	tenantID, procedure, destID := md[outbox.MetaTenant], md[outbox.MetaProcedure], md[outbox.MetaDestination]
	if tenantID == "" || procedure == "" || destID == "" || old.Topic != config.Topic(tenantID, procedure, destID) ||
		old.SubmissionID != sub.ID {
		return Remapped{}, fmt.Errorf("%w: message %s was not mapped from a submission's request", ErrNotRemappable, old.ID)
	}
	if len(sub.Payload) == 0 {
		return Remapped{}, fmt.Errorf("submission %s: %w", sub.ID, ErrRequestPurged)
	}
	tenant, ok := set.cfg.Tenant(tenantID)
	if !ok {
		return Remapped{}, fmt.Errorf("%w: tenant %s is no longer configured", ErrNotRemappable, tenantID)
	}
	route, ok := tenant.Route(procedure)
	if !ok {
		return Remapped{}, fmt.Errorf("%w: tenant %s no longer routes procedure %s", ErrNotRemappable, tenantID, procedure)
	}
	di := -1
	for i := range route.Destinations {
		if route.Destinations[i].ID == destID {
			di = i
		}
	}
	if di < 0 {
		return Remapped{}, fmt.Errorf("%w: destination %s is no longer configured", ErrNotRemappable, old.Topic)
	}
	mapper, ok := set.registry.Mapper(procedure)
	if !ok {
		return Remapped{}, fmt.Errorf("%w: procedure %s has no mapper", ErrNotRemappable, procedure)
	}

	var request struct {
		Applicant map[string]any `json:"applicant"`
		Data      map[string]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(sub.Payload))
	dec.UseNumber()
	if err := dec.Decode(&request); err != nil {
		return Remapped{}, fmt.Errorf("%w: the stored request of submission %s is not a JSON object: %v", ErrNotRemappable, sub.ID, err)
	}
	attachments, err := bundleAttachments(old)
	if err != nil {
		return Remapped{}, err
	}
	ts := transform.Submission{
		ID:          sub.ID,
		Tenant:      tenant.ID,
		Procedure:   procedure,
		Applicant:   request.Applicant,
		Data:        request.Data,
		Identity:    identityOf(md),
		Attachments: attachments,
		ReceivedAt:  sub.CreatedAt.UTC(),
	}
	if errs := mapper.Validate(ts); len(errs) > 0 {
		return Remapped{}, &ValidationError{Errors: errs}
	}
	m, err := s.buildMessage(set.cfg, ts, mapper, tenant, &route.Destinations[di], old.ID, s.now().UTC())
	if err != nil {
		return Remapped{}, err
	}
	oldVersion := md[outbox.MetaMappingVersion]
	if oldVersion == "" {
		oldVersion = "unknown"
	}
	return Remapped{Message: m, OldVersion: oldVersion, NewVersion: m.Metadata[outbox.MetaMappingVersion]}, nil
}

// identityOf reads the identity the intake wrote into a message's metadata
// (setIdentityMetadata); nil when there is none.
func identityOf(md map[string]string) *transform.Identity {
	method := md[outbox.MetaIdentityMethod]
	if method == "" {
		return nil
	}
	return &transform.Identity{Method: method, Provider: md[outbox.MetaIdentityProvider],
		TrustLevel: md[outbox.MetaIdentityTrustLevel], PostboxReference: md[outbox.MetaIdentityPostboxReference]}
}

// bundleAttachments reads the attachments of a message from its bundle:
// the entries with an attachment id, in their order (the request's), named
// AttachmentsDir/<id>/<file name> (format xoev) or <id>_<file name>
// (xdomea). A message without a bundle has none.
func bundleAttachments(m outbox.Message) ([]transform.Attachment, error) {
	if m.Metadata[outbox.MetaPayloadFormat] != outbox.PayloadFormatBundle {
		return nil, nil
	}
	b, err := outbox.ParseBundle(m.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: message %s: %v", ErrNotRemappable, m.ID, err)
	}
	var out []transform.Attachment
	for _, e := range b.Entries {
		if e.AttachmentID == "" {
			continue
		}
		name := path.Base(e.Name)
		if prefix := strings.ToLower(e.AttachmentID) + "_"; strings.HasPrefix(name, prefix) && !strings.HasPrefix(e.Name, AttachmentsDir+"/") {
			name = strings.TrimPrefix(name, prefix)
		}
		out = append(out, transform.Attachment{ID: e.AttachmentID, FileName: name, MIMEType: e.MIMEType, Size: e.Size, Ref: e.Blob})
	}
	return out, nil
}

// RemapStore is the part of the outbox RemapMessage uses.
type RemapStore interface {
	Message(ctx context.Context, id string) (outbox.Message, error)
	Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error)
	Remap(ctx context.Context, r outbox.RemapRequest) error
}

// RemapMessage is the use case "replay a dead message with the current
// mapping", for the CLI and the admin API: it reads the message r names
// (by r.Topic too when given) and its submission, maps the stored request
// again (Remap) and has the store replace and replay it, recording the old
// and the new mapping version. Its errors are Remap's and the store's
// (outbox.ErrNotFound, ErrAmbiguous, ErrNotReplayable).
func (s *Service) RemapMessage(ctx context.Context, st RemapStore, r outbox.ReplayRequest) (Remapped, error) {
	if err := r.Validate(); err != nil {
		return Remapped{}, err
	}
	old, err := st.Message(ctx, r.ID)
	if err != nil && !(errors.Is(err, outbox.ErrAmbiguous) && r.Topic != "") {
		return Remapped{}, err
	}
	if r.Topic != "" && old.Topic != r.Topic {
		// The id on several topics: find the one named among the submission's.
		old, err = messageOnTopic(ctx, st, r.ID, r.Topic, old.SubmissionID)
		if err != nil {
			return Remapped{}, err
		}
	}
	if old.State != outbox.StateDead {
		return Remapped{}, fmt.Errorf("message %s is %s: %w", old.ID, old.State, outbox.ErrNotReplayable)
	}
	if old.SubmissionID == "" {
		return Remapped{}, fmt.Errorf("%w: message %s belongs to no submission", ErrNotRemappable, old.ID)
	}
	sub, _, err := st.Submission(ctx, old.SubmissionID)
	if err != nil {
		return Remapped{}, fmt.Errorf("read submission %s: %w", old.SubmissionID, err)
	}
	res, err := s.Remap(sub, old)
	if err != nil {
		return Remapped{}, err
	}
	r.Topic = old.Topic
	err = st.Remap(ctx, outbox.RemapRequest{ReplayRequest: r, Payload: res.Message.Payload, Metadata: res.Message.Metadata,
		OldVersion: res.OldVersion, NewVersion: res.NewVersion})
	if err != nil {
		return Remapped{}, err
	}
	s.log.InfoContext(ctx, "message re-mapped and replayed", slog.String("message_id", old.ID),
		slog.String("topic", old.Topic), slog.String("submission_id", sub.ID),
		slog.String("old_mapping", res.OldVersion), slog.String("new_mapping", res.NewVersion), slog.String("by", r.By))
	return res, nil
}

// messageOnTopic finds message id on topic among those of a submission;
// with no submission known, it is not found.
func messageOnTopic(ctx context.Context, st RemapStore, id, topic, submissionID string) (outbox.Message, error) {
	if submissionID != "" {
		_, msgs, err := st.Submission(ctx, submissionID)
		if err != nil {
			return outbox.Message{}, err
		}
		for _, m := range msgs {
			if m.ID == id && m.Topic == topic {
				return m, nil
			}
		}
	}
	return outbox.Message{}, fmt.Errorf("message %s on %s: %w", id, topic, outbox.ErrNotFound)
}
