package sealed

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/outbox"
)

// Kinds of records, as RewritePayloads names them (KindBlobChunk and
// KindBlob: the bindings of blob chunks and of blob checksums, which
// BlobChunkRewriter and BlobHeaderRewriter walk).
const (
	KindSubmission = "submission"
	KindMessage    = "message"
	KindBlobChunk  = "blob_chunk"
	KindBlob       = "blob"
)

// metaPrefix starts a sealed metadata value: "sealed:" and the envelope in
// standard base64 (metadata is JSON text; PostgreSQL's jsonb takes no NUL).
const metaPrefix = "sealed:"

// Config configures the decorator.
type Config struct {
	// Keyring seals and opens. Required.
	Keyring *Keyring
	// MetadataKeys are the message metadata keys whose values are personal
	// data and are sealed like payloads (e.g. a citizen's postbox reference).
	MetadataKeys []string
}

// Store is an outbox.Store that seals payloads and personal metadata values
// on every write path and opens them on every read path of the store it
// wraps. Every method is written out, none embedded: a method added to
// outbox.Store breaks the build here instead of bypassing encryption.
type Store struct {
	inner outbox.Store
	kr    *Keyring
	meta  map[string]bool
}

var (
	_ outbox.Store          = (*Store)(nil)
	_ outbox.BatchCompleter = (*Store)(nil)
	_ outbox.TxSharer       = (*Store)(nil)
)

// New wraps inner.
func New(inner outbox.Store, cfg Config) (*Store, error) {
	if inner == nil {
		return nil, errors.New("sealed: inner store is required")
	}
	if cfg.Keyring == nil {
		return nil, errors.New("sealed: keyring is required")
	}
	s := &Store{inner: inner, kr: cfg.Keyring, meta: map[string]bool{}}
	for _, k := range cfg.MetadataKeys {
		s.meta[k] = true
	}
	return s, nil
}

// Keyring returns the store's keyring.
func (s *Store) Keyring() *Keyring { return s.kr }

func submissionBinding(id string) []byte { return Binding(KindSubmission, id, "payload") }

func messageBinding(topic, id, field string) []byte {
	return Binding(KindMessage, topic, id, field)
}

func blobChunkBinding(id string, seq int) []byte {
	return Binding(KindBlobChunk, id, strconv.Itoa(seq))
}

func blobChecksumBinding(id string) []byte { return Binding(KindBlob, id, "sha256") }

// sealChecksum returns b with its SHA256 sealed into SealedSHA256 and
// zeroed, so that the stored header does not tell whose document it is.
func (s *Store) sealChecksum(b outbox.Blob) outbox.Blob {
	b.SealedSHA256 = s.kr.Seal(b.SHA256[:], blobChecksumBinding(b.ID))
	b.SHA256 = [sha256.Size]byte{}
	return b
}

// openChecksum returns the SHA-256 of a stored header: opened from
// SealedSHA256, or SHA256 as it is for a header written in clear (before
// encryption was enabled).
func (s *Store) openChecksum(b outbox.Blob) ([sha256.Size]byte, error) {
	if len(b.SealedSHA256) == 0 {
		return b.SHA256, nil
	}
	var sum [sha256.Size]byte
	if !IsSealed(b.SealedSHA256) {
		return sum, fmt.Errorf("checksum of blob %s is not sealed: %w", b.ID, outbox.ErrBlobCorrupt)
	}
	plain, err := s.kr.Open(b.SealedSHA256, blobChecksumBinding(b.ID))
	if err != nil {
		return sum, fmt.Errorf("open checksum of blob %s: %w", b.ID, err)
	}
	if len(plain) != len(sum) {
		return sum, fmt.Errorf("checksum of blob %s: %w", b.ID, outbox.ErrBlobCorrupt)
	}
	copy(sum[:], plain)
	return sum, nil
}

// sealMessage returns m with its payload and personal metadata sealed; the
// caller's map is not changed.
func (s *Store) sealMessage(m outbox.Message) outbox.Message {
	if len(m.Payload) > 0 && !IsSealed(m.Payload) {
		m.Payload = s.kr.Seal(m.Payload, messageBinding(m.Topic, m.ID, "payload"))
	}
	m.Metadata = s.sealMetadata(m.Topic, m.ID, m.Metadata)
	return m
}

func (s *Store) sealMetadata(topic, id string, md map[string]string) map[string]string {
	var out map[string]string
	for k, v := range md {
		if !s.meta[k] || v == "" || isSealedValue(v) {
			continue
		}
		if out == nil {
			out = maps.Clone(md)
		}
		out[k] = metaPrefix + encodeEnvelope(s.kr.Seal([]byte(v), messageBinding(topic, id, "metadata:"+k)))
	}
	if out == nil {
		return md
	}
	return out
}

// openMessage opens m's payload and sealed metadata values in place.
func (s *Store) openMessage(m *outbox.Message) error {
	p, err := s.kr.Open(m.Payload, messageBinding(m.Topic, m.ID, "payload"))
	if err != nil {
		return fmt.Errorf("open payload of message %s: %w", m.ID, err)
	}
	m.Payload = p
	md, err := s.openMetadata(m.Topic, m.ID, m.Metadata)
	if err != nil {
		return err
	}
	m.Metadata = md
	return nil
}

func (s *Store) openMetadata(topic, id string, md map[string]string) (map[string]string, error) {
	var out map[string]string
	for k, v := range md {
		env, ok := decodeValue(v)
		if !ok {
			continue
		}
		plain, err := s.kr.Open(env, messageBinding(topic, id, "metadata:"+k))
		if err != nil {
			return nil, fmt.Errorf("open metadata %s of message %s: %w", k, id, err)
		}
		if out == nil {
			out = maps.Clone(md)
		}
		out[k] = string(plain)
	}
	if out == nil {
		return md, nil
	}
	return out, nil
}

func encodeEnvelope(env []byte) string { return base64.StdEncoding.EncodeToString(env) }

// decodeValue returns the envelope of a sealed metadata value; ok is false
// for a value in clear (one that merely starts with "sealed:" included).
func decodeValue(v string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(v, metaPrefix)
	if !ok {
		return nil, false
	}
	env, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || !IsSealed(env) {
		return nil, false
	}
	return env, true
}

func isSealedValue(v string) bool {
	_, ok := decodeValue(v)
	return ok
}

func (s *Store) openMessages(msgs []outbox.Message) error {
	for i := range msgs {
		if err := s.openMessage(&msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) openSubmission(sub *outbox.Submission) error {
	p, err := s.kr.Open(sub.Payload, submissionBinding(sub.ID))
	if err != nil {
		return fmt.Errorf("open payload of submission %s: %w", sub.ID, err)
	}
	sub.Payload = p
	return nil
}

// InTxShared runs fn as InTx does, in a transaction the inner store may
// share with concurrent callers (outbox.TxSharer).
func (s *Store) InTxShared(ctx context.Context, fn func(tx outbox.Tx) error) error {
	sh, ok := s.inner.(outbox.TxSharer)
	if !ok {
		return s.InTx(ctx, fn)
	}
	return sh.InTxShared(ctx, func(tx outbox.Tx) error { return fn(&sealedTx{s: s, tx: tx}) })
}

// InTx runs fn with a transaction that seals what it writes.
func (s *Store) InTx(ctx context.Context, fn func(tx outbox.Tx) error) error {
	return s.inner.InTx(ctx, func(tx outbox.Tx) error { return fn(&sealedTx{s: s, tx: tx}) })
}

type sealedTx struct {
	s  *Store
	tx outbox.Tx
}

func (t *sealedTx) CreateSubmission(ctx context.Context, sub outbox.Submission) (outbox.Submission, bool, error) {
	plain := sub.Payload
	if len(sub.Payload) > 0 && !IsSealed(sub.Payload) {
		sub.Payload = t.s.kr.Seal(sub.Payload, submissionBinding(sub.ID))
	}
	stored, created, err := t.tx.CreateSubmission(ctx, sub)
	if err != nil {
		return stored, created, err
	}
	if created && stored.ID == sub.ID {
		stored.Payload = plain
		return stored, created, nil
	}
	if err := t.s.openSubmission(&stored); err != nil {
		return outbox.Submission{}, false, err
	}
	return stored, created, nil
}

func (t *sealedTx) InsertMessages(ctx context.Context, msgs []outbox.Message) error {
	out := make([]outbox.Message, len(msgs))
	for i, m := range msgs {
		out[i] = t.s.sealMessage(m)
	}
	return t.tx.InsertMessages(ctx, out)
}

// InsertBlobs seals each blob's checksum (SealedSHA256, bound to the blob
// id) and commits the blobs, whose chunks were sealed when staged. Size and
// chunk count stay in clear.
func (t *sealedTx) InsertBlobs(ctx context.Context, blobs []outbox.Blob) error {
	out := make([]outbox.Blob, len(blobs))
	for i, b := range blobs {
		out[i] = t.s.sealChecksum(b)
	}
	return t.tx.InsertBlobs(ctx, out)
}

func (t *sealedTx) SetAlarm(ctx context.Context, key string, open bool) (bool, error) {
	return t.tx.SetAlarm(ctx, key, open)
}

// Claim leases due messages and opens them.
func (s *Store) Claim(ctx context.Context, p outbox.ClaimParams) ([]outbox.Message, error) {
	msgs, err := s.inner.Claim(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := s.openMessages(msgs); err != nil {
		return nil, err
	}
	return msgs, nil
}

// Complete forwards to the inner store.
func (s *Store) Complete(ctx context.Context, c outbox.Completion) error {
	return s.inner.Complete(ctx, c)
}

// CompleteBatch forwards to the inner store, one by one if it cannot batch.
// Completions carry no payloads.
func (s *Store) CompleteBatch(ctx context.Context, cs []outbox.Completion) ([]error, error) {
	if bc, ok := s.inner.(outbox.BatchCompleter); ok {
		return bc.CompleteBatch(ctx, cs)
	}
	errs := make([]error, len(cs))
	for i, c := range cs {
		errs[i] = s.inner.Complete(ctx, c)
	}
	return errs, nil
}

// Release forwards to the inner store.
func (s *Store) Release(ctx context.Context, owner, topic string, ids []string) error {
	return s.inner.Release(ctx, owner, topic, ids)
}

// ExtendLeases forwards to the inner store.
func (s *Store) ExtendLeases(ctx context.Context, owner, topic string, ids []string, until time.Time) (int, error) {
	return s.inner.ExtendLeases(ctx, owner, topic, ids, until)
}

// RecoverLost forwards to the inner store.
func (s *Store) RecoverLost(ctx context.Context) ([]outbox.LostAttempt, error) {
	return s.inner.RecoverLost(ctx)
}

// MakeDue forwards to the inner store.
func (s *Store) MakeDue(ctx context.Context, topic, id string) (bool, error) {
	return s.inner.MakeDue(ctx, topic, id)
}

// NextDue forwards to the inner store.
func (s *Store) NextDue(ctx context.Context, topic string) (time.Time, bool, error) {
	return s.inner.NextDue(ctx, topic)
}

// Watch forwards to the inner store.
func (s *Store) Watch(topic string) (<-chan struct{}, func()) { return s.inner.Watch(topic) }

// Submission returns a submission and its messages, opened.
func (s *Store) Submission(ctx context.Context, id string) (outbox.Submission, []outbox.Message, error) {
	sub, msgs, err := s.inner.Submission(ctx, id)
	if err != nil {
		return sub, msgs, err
	}
	if err := s.openSubmission(&sub); err != nil {
		return outbox.Submission{}, nil, err
	}
	if err := s.openMessages(msgs); err != nil {
		return outbox.Submission{}, nil, err
	}
	return sub, msgs, nil
}

// Attempts forwards to the inner store (error texts are stored as received).
func (s *Store) Attempts(ctx context.Context, messageID string) ([]outbox.Attempt, error) {
	return s.inner.Attempts(ctx, messageID)
}

// List returns a page of messages, opened.
func (s *Store) List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error) {
	msgs, next, err := s.inner.List(ctx, f)
	if err != nil {
		return nil, "", err
	}
	if err := s.openMessages(msgs); err != nil {
		return nil, "", err
	}
	return msgs, next, nil
}

// Message returns a message, opened.
func (s *Store) Message(ctx context.Context, id string) (outbox.Message, error) {
	m, err := s.inner.Message(ctx, id)
	if err != nil {
		return m, err
	}
	if err := s.openMessage(&m); err != nil {
		return outbox.Message{}, err
	}
	return m, nil
}

// Replay forwards to the inner store.
func (s *Store) Replay(ctx context.Context, r outbox.ReplayRequest) error {
	return s.inner.Replay(ctx, r)
}

// Remap seals the new payload and personal metadata, bound to the
// message's topic and id, and forwards to the inner store. Without a topic
// in r it is looked up first, as the seal binds it.
func (s *Store) Remap(ctx context.Context, r outbox.RemapRequest) error {
	topic := r.Topic
	if topic == "" {
		m, err := s.inner.Message(ctx, r.ID)
		if err != nil {
			return fmt.Errorf("remap %s: %w", r.ID, err)
		}
		topic = m.Topic
		r.Topic = topic
	}
	sealed := s.sealMessage(outbox.Message{ID: r.ID, Topic: topic, Payload: r.Payload, Metadata: r.Metadata})
	r.Payload, r.Metadata = sealed.Payload, sealed.Metadata
	return s.inner.Remap(ctx, r)
}

// ReplayAll forwards to the inner store.
func (s *Store) ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error) {
	return s.inner.ReplayAll(ctx, f, by, reason)
}

// Replays forwards to the inner store.
func (s *Store) Replays(ctx context.Context, messageID string) ([]outbox.Replay, error) {
	return s.inner.Replays(ctx, messageID)
}

// Events returns a submission's audit trail (events carry no payloads;
// metadata, where a store fills it, is opened).
func (s *Store) Events(ctx context.Context, submissionID string) ([]outbox.Event, error) {
	events, err := s.inner.Events(ctx, submissionID)
	if err != nil {
		return nil, err
	}
	if err := s.openEvents(events); err != nil {
		return nil, err
	}
	return events, nil
}

// RecordAccess records an access in the inner store (events carry no payload).
func (s *Store) RecordAccess(ctx context.Context, e outbox.Event) error {
	return s.inner.RecordAccess(ctx, e)
}

func (s *Store) openEvents(events []outbox.Event) error {
	for i := range events {
		md, err := s.openMetadata(events[i].Topic, events[i].MessageID, events[i].Metadata)
		if err != nil {
			return err
		}
		events[i].Metadata = md
	}
	return nil
}

// SetReactor installs r on the inner store, behind an adapter that hands r
// events with opened metadata and seals the messages r returns. A returned
// message without ID or Topic (left for the store to fill) is stored in
// clear: the seal binds both.
func (s *Store) SetReactor(r outbox.Reactor) {
	if r == nil {
		s.inner.SetReactor(nil)
		return
	}
	s.inner.SetReactor(outbox.ReactorFunc(func(ctx context.Context, events []outbox.Event) ([]outbox.Message, error) {
		opened := make([]outbox.Event, len(events))
		copy(opened, events)
		if err := s.openEvents(opened); err != nil {
			return nil, err
		}
		msgs, err := r.React(ctx, opened)
		if err != nil {
			return nil, err
		}
		out := make([]outbox.Message, len(msgs))
		for i, m := range msgs {
			if m.ID != "" && m.Topic != "" {
				m = s.sealMessage(m)
			}
			out[i] = m
		}
		return out, nil
	}))
}

// Stats forwards to the inner store.
func (s *Store) Stats(ctx context.Context) ([]outbox.TopicStats, error) { return s.inner.Stats(ctx) }

// ListSubmissions lists a portal's submissions with their messages, opened.
func (s *Store) ListSubmissions(ctx context.Context, f outbox.SubmissionFilter) ([]outbox.SubmissionStatus, string, error) {
	list, next, err := s.inner.ListSubmissions(ctx, f)
	if err != nil {
		return nil, "", err
	}
	for i := range list {
		if err := s.openSubmission(&list[i].Submission); err != nil {
			return nil, "", err
		}
		if err := s.openMessages(list[i].Messages); err != nil {
			return nil, "", err
		}
	}
	return list, next, nil
}

// Purge forwards to the inner store.
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (outbox.PurgeResult, error) {
	return s.inner.Purge(ctx, before, limit)
}

// Discard forwards to the inner store.
func (s *Store) Discard(ctx context.Context, r outbox.ReplayRequest) error {
	return s.inner.Discard(ctx, r)
}

// PutBlobChunk seals the chunk, bound to the blob id and seq, and stages it
// in the inner store. Unlike payloads, a chunk is sealed even when it looks
// like an envelope: it is a citizen's file, whose bytes anyone can choose.
func (s *Store) PutBlobChunk(ctx context.Context, id string, seq int, data []byte) error {
	return s.inner.PutBlobChunk(ctx, id, seq, s.kr.Seal(data, blobChunkBinding(id, seq)))
}

// BlobChunk returns chunk seq of blob id, opened (a chunk in clear, written
// before encryption was enabled, as it is).
func (s *Store) BlobChunk(ctx context.Context, id string, seq int) ([]byte, error) {
	data, err := s.inner.BlobChunk(ctx, id, seq)
	if err != nil {
		return nil, err
	}
	plain, err := s.kr.Open(data, blobChunkBinding(id, seq))
	if err != nil {
		return nil, fmt.Errorf("open chunk %d of blob %s: %w", seq, id, err)
	}
	return plain, nil
}

// DeleteStagedBlob forwards to the inner store.
func (s *Store) DeleteStagedBlob(ctx context.Context, id string) error {
	return s.inner.DeleteStagedBlob(ctx, id)
}

// PurgeStagedBlobs forwards to the inner store.
func (s *Store) PurgeStagedBlobs(ctx context.Context, before time.Time) (int, error) {
	return s.inner.PurgeStagedBlobs(ctx, before)
}

// Blob returns the header of blob id with its checksum opened.
func (s *Store) Blob(ctx context.Context, id string) (outbox.Blob, error) {
	b, err := s.inner.Blob(ctx, id)
	if err != nil {
		return b, err
	}
	if b.SHA256, err = s.openChecksum(b); err != nil {
		return outbox.Blob{}, err
	}
	b.SealedSHA256 = nil
	return b, nil
}

// Ping forwards to the inner store.
func (s *Store) Ping(ctx context.Context) error { return s.inner.Ping(ctx) }

// Close closes the inner store.
func (s *Store) Close() error { return s.inner.Close() }

// MigrationsApplied forwards to the inner store's capability of that name.
func (s *Store) MigrationsApplied(ctx context.Context) (bool, error) {
	m, ok := s.inner.(interface {
		MigrationsApplied(ctx context.Context) (bool, error)
	})
	if !ok {
		return false, fmt.Errorf("sealed: the inner store %T cannot report its migrations", s.inner)
	}
	return m.MigrationsApplied(ctx)
}
