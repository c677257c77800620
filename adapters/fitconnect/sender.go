package fitconnect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// XMLSchemaURI is the default submissionSchema of the XÖV XML Amtsbote
// sends: the message type is in the XML itself.
const XMLSchemaURI = "urn:amtsbote:fitconnect:xoev"

// CaseTopic is the outbox topic of the case messages of a fitconnect
// destination: one per sent submission, delivered once the recipient has
// accepted it (dead when it rejected it).
func CaseTopic(tenant, procedure, destination string) string {
	return "~fitconnect-case/" + tenant + "/" + procedure + "/" + destination
}

// IsCaseTopic reports whether topic is a CaseTopic.
func IsCaseTopic(topic string) bool { return strings.HasPrefix(topic, "~fitconnect-case/") }

// SenderConfig configures a Sender: one destination of type fitconnect.
type SenderConfig struct {
	Tenant, Procedure, Destination string // the route's ids
	Client                         *Client
	// DestinationID is the FIT-Connect destination; empty: RoutingAPI
	// finds it by Service and ARS.
	DestinationID string
	RoutingAPI    string
	ARS           string
	// Service is the LeiKa URN and name of the submissions.
	Service ServiceType
	// SchemaURI is the submissionSchema of the XML; default XMLSchemaURI.
	SchemaURI string
	// Callback, when set, is registered with each submission: the
	// Zustelldienst posts NewEvents callbacks for its case there
	// (NewEventsHandler).
	Callback *CreateCallback
	// Store records the case of each sent submission.
	Store  Enqueuer
	Logger *slog.Logger
	Now    func() time.Time
}

// Sender delivers a message to a FIT-Connect destination: it fetches and
// checks the destination's encryption key, announces the submission with
// its attachments, uploads them encrypted, submits metadata (with the
// hashes) and data encrypted, and records the case in the outbox, whose
// case message follows the event log.
type Sender struct {
	cfg SenderConfig
	log *slog.Logger
	now func() time.Time

	mu            sync.Mutex
	destinationID string
}

var _ outbox.Deliverer = (*Sender)(nil)

// NewSender returns a Sender.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.Client == nil || cfg.Store == nil {
		return nil, errors.New("fitconnect: sender: client and store are required")
	}
	if cfg.DestinationID == "" && (cfg.RoutingAPI == "" || cfg.ARS == "") {
		return nil, errors.New("fitconnect: sender: a destination id, or routing api and ars, are required")
	}
	if cfg.Service.Identifier == "" {
		return nil, errors.New("fitconnect: sender: the service identifier is required")
	}
	if cfg.SchemaURI == "" {
		cfg.SchemaURI = XMLSchemaURI
	}
	s := &Sender{cfg: cfg, log: cfg.Logger, now: cfg.Now, destinationID: cfg.DestinationID}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// resolve returns the destination id: configured, or found by the
// Routing API once.
func (s *Sender) resolve(ctx context.Context) (string, error) {
	s.mu.Lock()
	id := s.destinationID
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := FindDestination(ctx, &http.Client{Timeout: 30 * time.Second}, s.cfg.RoutingAPI, s.cfg.Service.Identifier, s.cfg.ARS)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.destinationID = id
	s.mu.Unlock()
	return id, nil
}

// EncryptionKey fetches the destination's encryption key and checks it.
func (s *Sender) EncryptionKey(ctx context.Context, destinationID string) (Key, error) {
	d, err := s.cfg.Client.Destination(ctx, destinationID)
	if err != nil {
		return Key{}, err
	}
	if d.Status != "" && d.Status != "active" {
		return Key{}, outbox.Permanent(fmt.Errorf("destination %s is %s", destinationID, d.Status))
	}
	raw, err := s.cfg.Client.DestinationKey(ctx, destinationID, d.EncryptionKid)
	if err != nil {
		return Key{}, err
	}
	k, err := ParseEncryptionKey(raw)
	if err != nil {
		return Key{}, outbox.Permanent(fmt.Errorf("destination %s: encryption key: %w", destinationID, err))
	}
	if k.KID() != d.EncryptionKid {
		return Key{}, outbox.Permanent(fmt.Errorf("destination %s: key has kid %q, destination names %q", destinationID, k.KID(), d.EncryptionKid))
	}
	return k, nil
}

// part is one attachment to send.
type part struct {
	id, name, mimeType string
	content            []byte
}

// Deliver sends the message as a FIT-Connect submission.
func (s *Sender) Deliver(ctx context.Context, d outbox.Delivery) error {
	destID, err := s.resolve(ctx)
	if err != nil {
		return deliveryError(err)
	}
	key, err := s.EncryptionKey(ctx, destID)
	if err != nil {
		return deliveryError(err)
	}
	data, parts, err := contents(ctx, d)
	if err != nil {
		return err
	}
	announced := make([]string, len(parts))
	for i := range parts {
		announced[i] = parts[i].id
	}
	created, err := s.cfg.Client.CreateSubmission(ctx, CreateSubmission{DestinationID: destID,
		AnnouncedAttachments: announced, ServiceType: s.cfg.Service, Callback: s.cfg.Callback})
	if err != nil {
		return deliveryError(err)
	}
	md := Metadata{Schema: MetadataSchemaURI, ContentStructure: ContentStructure{
		Data:        &MetadataData{Hash: NewHash(data), SubmissionSchema: SubmissionSchema{SchemaURI: s.cfg.SchemaURI, MIMEType: "application/xml"}},
		Attachments: []MetadataAttachment{},
	}}
	for _, p := range parts {
		jwe, err := Encrypt(key, p.content, p.mimeType)
		if err != nil {
			return outbox.Permanent(err)
		}
		if err := s.cfg.Client.UploadAttachment(ctx, created.SubmissionID, p.id, jwe); err != nil {
			return deliveryError(err)
		}
		md.ContentStructure.Attachments = append(md.ContentStructure.Attachments, MetadataAttachment{
			Hash: NewHash(p.content), Purpose: "attachment", FileName: p.name, MIMEType: p.mimeType, AttachmentID: p.id})
	}
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return outbox.Permanent(err)
	}
	encMD, err := Encrypt(key, mdJSON, "application/json")
	if err != nil {
		return outbox.Permanent(err)
	}
	encData, err := Encrypt(key, data, "application/xml")
	if err != nil {
		return outbox.Permanent(err)
	}
	if err := s.cfg.Client.Submit(ctx, created.SubmissionID, SubmitSubmission{EncryptedMetadata: encMD, EncryptedData: encData}); err != nil {
		return deliveryError(err)
	}
	if err := s.recordCase(ctx, d, destID, created); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "fitconnect submission sent", slog.String("message_id", d.MessageID),
		slog.String("fitconnect_submission", created.SubmissionID), slog.String("fitconnect_case", created.CaseID))
	return nil
}

// caseNamespace derives case message ids from FIT-Connect submission ids.
var caseNamespace = uuid.MustParse("9d5c6f1a-2b7e-4e0c-8a31-5f7b2c4d6e80")

// caseMessage is the payload of a case message.
type caseMessage struct {
	DestinationID string `json:"destination_id"`
	SubmissionID  string `json:"submission_id"`
	CaseID        string `json:"case_id"`
	MessageID     string `json:"message_id"` // the delivered outbox message
}

// recordCase stores the case message of a sent submission.
func (s *Sender) recordCase(ctx context.Context, d outbox.Delivery, destID string, c SubmissionCreated) error {
	payload, err := json.Marshal(caseMessage{DestinationID: destID, SubmissionID: c.SubmissionID, CaseID: c.CaseID, MessageID: d.MessageID})
	if err != nil {
		return outbox.Permanent(err)
	}
	m := outbox.Message{
		ID:           CaseMessageID(c.SubmissionID),
		Topic:        CaseTopic(s.cfg.Tenant, s.cfg.Procedure, s.cfg.Destination),
		SubmissionID: d.SubmissionID,
		Payload:      payload,
		Metadata: map[string]string{
			outbox.MetaTenant:      s.cfg.Tenant,
			outbox.MetaProcedure:   s.cfg.Procedure,
			outbox.MetaDestination: s.cfg.Destination,
			outbox.MetaContentType: "application/json",
			MetaSubmission:         c.SubmissionID,
			MetaCase:               c.CaseID,
		},
		CreatedAt: s.now().UTC(),
	}
	if err := s.cfg.Store.InTx(ctx, func(tx outbox.Tx) error { return tx.InsertMessages(ctx, []outbox.Message{m}) }); err != nil {
		if _, lookErr := s.cfg.Store.Message(ctx, m.ID); lookErr == nil {
			return nil
		}
		return fmt.Errorf("record fitconnect case %s: %w", c.CaseID, err)
	}
	return nil
}

// attachmentNamespace derives the attachment ids of a message, so that a
// retry announces the same ids.
var attachmentNamespace = uuid.MustParse("3f2e1d0c-4b5a-4c69-8d7e-6f5a4b3c2d1e")

// contents returns the XML and the attachments of a delivery: the payload
// itself, or a bundle's primary document and its attachment entries.
func contents(ctx context.Context, d outbox.Delivery) ([]byte, []part, error) {
	b, ok, err := d.Bundle()
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return d.Payload, nil, nil
	}
	var data []byte
	var parts []part
	for _, e := range b.Entries {
		r, _, err := d.OpenEntry(ctx, e)
		if err != nil {
			return nil, nil, err
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, r); err != nil {
			return nil, nil, err
		}
		if e.AttachmentID == "" {
			if data == nil {
				data = buf.Bytes()
			}
			continue
		}
		id := uuid.NewSHA1(attachmentNamespace, []byte(d.MessageID+"/"+e.AttachmentID)).String()
		mt := e.MIMEType
		if mt == "" {
			mt = "application/octet-stream"
		}
		parts = append(parts, part{id: id, name: path.Base(e.Name), mimeType: mt, content: buf.Bytes()})
	}
	if data == nil {
		return nil, nil, outbox.Permanent(fmt.Errorf("message %s: bundle without a document", d.MessageID))
	}
	return data, parts, nil
}

// CaseFollowerConfig configures a CaseFollower.
type CaseFollowerConfig struct {
	Client *Client
	// PollInterval is how long to wait for the next look at the event log.
	// Default 30s.
	PollInterval time.Duration
	Observer     Observer
	Destination  string // for metrics
	Logger       *slog.Logger
}

// CaseFollower delivers case messages: it reads the case's event log and
// succeeds once the recipient's accept-submission for the submission is
// there (its signature verified with the destination's key); a
// reject-submission makes the message dead, with the problems as error;
// nothing yet asks the relay to look again after PollInterval, or at once
// when a NewEvents callback makes the message due (NewEventsHandler).
type CaseFollower struct {
	cfg CaseFollowerConfig
	obs Observer
	log *slog.Logger
}

var _ outbox.Deliverer = (*CaseFollower)(nil)

// NewCaseFollower returns a CaseFollower.
func NewCaseFollower(cfg CaseFollowerConfig) (*CaseFollower, error) {
	if cfg.Client == nil {
		return nil, errors.New("fitconnect: case follower: client is nil")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 30 * time.Second
	}
	f := &CaseFollower{cfg: cfg, obs: cfg.Observer, log: cfg.Logger}
	if f.obs == nil {
		f.obs = nopObserver{}
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	return f, nil
}

// ErrNotYet is the error of a case whose recipient has not decided yet.
var ErrNotYet = errors.New("fitconnect: the recipient has not accepted or rejected the submission yet")

// ErrRejected is the error of a case the recipient rejected.
var ErrRejected = errors.New("fitconnect: the recipient rejected the submission")

// Deliver looks at the case's event log.
func (f *CaseFollower) Deliver(ctx context.Context, d outbox.Delivery) error {
	var c caseMessage
	if err := json.Unmarshal(d.Payload, &c); err != nil {
		return outbox.Permanent(fmt.Errorf("case message %s: %w", d.MessageID, err))
	}
	sets, err := f.cfg.Client.Events(ctx, c.CaseID)
	if err != nil {
		return deliveryError(err)
	}
	keys := map[string]Key{}
	for _, set := range sets {
		kid, err := SETKeyID(set)
		if err != nil {
			continue
		}
		e, err := decodeUnverified(set)
		if err != nil || e.SubmissionID != c.SubmissionID ||
			(e.Type != EventAcceptSubmission && e.Type != EventRejectSubmission) {
			continue
		}
		key, ok := keys[kid]
		if !ok {
			raw, err := f.cfg.Client.DestinationKey(ctx, c.DestinationID, kid)
			if ae, ok := errors.AsType[*APIError](err); ok && ae.Status == http.StatusNotFound {
				f.obs.Error(f.cfg.Destination, ErrorEvent)
				f.log.WarnContext(ctx, "fitconnect event signed with a key the destination does not have ignored", slog.String("kid", kid))
				continue
			}
			if err != nil {
				return deliveryError(err)
			}
			if key, err = ParseVerificationKey(raw); err != nil {
				f.obs.Error(f.cfg.Destination, ErrorEvent)
				f.log.WarnContext(ctx, "fitconnect event with an unusable key ignored", slog.String("kid", kid), slog.Any("error", err))
				continue
			}
			keys[kid] = key
		}
		ev, err := VerifySET(key, set)
		if err != nil {
			f.obs.Error(f.cfg.Destination, ErrorEvent)
			f.log.WarnContext(ctx, "fitconnect event that does not verify ignored", slog.String("fitconnect_case", c.CaseID), slog.Any("error", err))
			continue
		}
		if ev.Type == EventAcceptSubmission {
			f.obs.CaseEvent(f.cfg.Destination, "accept")
			return nil
		}
		f.obs.CaseEvent(f.cfg.Destination, "reject")
		types := make([]string, 0, len(ev.Payload.Problems))
		for _, p := range ev.Payload.Problems {
			types = append(types, p.Type)
		}
		return outbox.Permanent(fmt.Errorf("%w: %s", ErrRejected, strings.Join(types, ", ")))
	}
	return retryAfter{err: ErrNotYet, after: f.cfg.PollInterval}
}
