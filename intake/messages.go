package intake

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xdomea"
)

// AttachmentsDir is the directory of the attachments in the ZIP container
// of a message in format xoev: each attachment is
// AttachmentsDir/<attachment id>/<file name>.
const AttachmentsDir = "anlagen"

// buildMessages maps sub once per destination of route.
func (s *Service) buildMessages(cfg *config.Config, sub transform.Submission, mapper transform.Mapper, tenant *config.Tenant,
	route *config.Route, now time.Time) ([]outbox.Message, error) {
	out := make([]outbox.Message, 0, len(route.Destinations))
	for i := range route.Destinations {
		m, err := s.buildMessage(cfg, sub, mapper, tenant, &route.Destinations[i], s.newID(), now)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// buildMessage maps sub for one destination into the message id, created
// at now; its metadata records the mapping version (MetaMappingVersion).
func (s *Service) buildMessage(cfg *config.Config, sub transform.Submission, mapper transform.Mapper, tenant *config.Tenant,
	dest *config.Destination, id string, now time.Time) (outbox.Message, error) {
	author := transform.Party{ID: tenant.ID, Name: tenant.Name, Kennung: tenant.Behoerdenkennung, AGS: tenant.AGS}
	in := transform.Input{
		Submission: sub,
		MessageID:  id,
		Author:     author,
		Reader:     readerOf(tenant, dest),
		Product:    s.product,
		CreatedAt:  now,
	}
	doc, err := mapper.Map(in)
	if verr, ok := errors.AsType[*transform.ValidationError](err); ok {
		return outbox.Message{}, &ValidationError{Errors: verr.Errors}
	}
	if err != nil {
		return outbox.Message{}, fmt.Errorf("map submission for destination %s: %w", dest.ID, err)
	}
	payload, contentType, messageType := doc.XML, "application/xml", doc.MessageType
	var bundle *outbox.Bundle // a ZIP container assembled at delivery
	var fileName string       // the delivered file's base name, when not the message id
	switch {
	case dest.Format == config.FormatXDOMEA:
		// xdomea.Build files in.Submission.Attachments as Anlagen of
		// the document and carries them in its ZIP container.
		b, mt, name, err := fileInEAkte(cfg, in, doc, tenant, dest)
		if err != nil {
			return outbox.Message{}, fmt.Errorf("xdomea for destination %s: %w", dest.ID, err)
		}
		bundle, messageType, fileName = &b, mt, name
	case len(sub.Attachments) > 0:
		b := attachmentBundle(id, doc.XML, sub.Attachments, sub.ReceivedAt)
		bundle = &b
	}
	md := map[string]string{
		outbox.MetaTenant:         tenant.ID,
		outbox.MetaProcedure:      sub.Procedure,
		outbox.MetaDestination:    dest.ID,
		outbox.MetaMessageType:    messageType,
		outbox.MetaMappingVersion: s.mappingVersion(mapper, sub.Procedure),
	}
	if fileName != "" {
		md[outbox.MetaFileName] = fileName
	}
	if bundle != nil {
		if payload, err = bundle.Marshal(); err != nil {
			return outbox.Message{}, fmt.Errorf("destination %s: %w", dest.ID, err)
		}
		contentType = "application/zip"
		md[outbox.MetaPayloadFormat] = outbox.PayloadFormatBundle
	}
	md[outbox.MetaContentType] = contentType
	if n := len(sub.Attachments); n > 0 {
		md[outbox.MetaAttachments] = strconv.Itoa(n)
	}
	setIdentityMetadata(md, sub.Identity)
	return outbox.Message{
		ID:           id,
		Topic:        config.Topic(tenant.ID, sub.Procedure, dest.ID),
		SubmissionID: sub.ID,
		Payload:      payload,
		Metadata:     md,
	}, nil
}

// VersionedMapper is a mapper that names the version of its mapping, such
// as a declarative mapping's content hash; the intake records it with every
// message (outbox.MetaMappingVersion).
type VersionedMapper interface {
	MappingVersion() string
}

// mappingVersion is the version of mapper's mapping: its own
// (VersionedMapper), else that of the Go mapper compiled into this build,
// "go:<procedure>@<build version>".
func (s *Service) mappingVersion(mapper transform.Mapper, procedure string) string {
	if v, ok := mapper.(VersionedMapper); ok {
		if version := v.MappingVersion(); version != "" {
			return version
		}
	}
	build := s.product.Version
	if build == "" {
		build = "unknown"
	}
	return "go:" + procedure + "@" + build
}

// setIdentityMetadata writes id into the metadata of an outbox message:
// outbox.MetaIdentityMethod, and the other identity keys when not empty.
func setIdentityMetadata(md map[string]string, id *transform.Identity) {
	if id == nil {
		return
	}
	md[outbox.MetaIdentityMethod] = id.Method
	for key, value := range map[string]string{
		outbox.MetaIdentityProvider:         id.Provider,
		outbox.MetaIdentityTrustLevel:       id.TrustLevel,
		outbox.MetaIdentityPostboxReference: id.PostboxReference,
		outbox.MetaIdentityIssuer:           id.Issuer,
		outbox.MetaIdentitySubjectRef:       id.SubjectRef,
	} {
		if value != "" {
			md[key] = value
		}
	}
	if id.Verified {
		md[outbox.MetaIdentityVerified] = "true"
	}
}

// readerOf is the Leser of a destination's messages: as configured, else the
// tenant's own office (its Fachverfahren often sits in the same authority).
func readerOf(tenant *config.Tenant, dest *config.Destination) transform.Party {
	p := transform.Party{ID: dest.ID, Kennung: dest.Reader, Name: dest.ReaderName, AGS: tenant.AGS}
	if p.Kennung == "" {
		p.Kennung = tenant.Behoerdenkennung
	}
	if p.Name == "" {
		p.Name = tenant.Name
	}
	return p
}

// fileInEAkte wraps doc as the primary document of an xdomea filing message and
// returns the bundle of the xdomea ZIP container, in which xdomea transports a
// message and its files, the xdomea message type, and the container's name
// (without ".zip"), which xdomea gives like the message inside it.
func fileInEAkte(cfg *config.Config, in transform.Input, doc transform.Document, tenant *config.Tenant,
	dest *config.Destination) (b outbox.Bundle, messageType, name string, err error) {
	procedureName := in.Submission.Procedure
	if p, ok := cfg.Procedure(procedureName); ok && p.Name != "" {
		procedureName = p.Name
	}
	meta := xdomea.Metadata{ProcedureName: procedureName, TenantName: tenant.Name}
	if x := dest.XDomea; x != nil {
		meta.Creator, meta.Container, meta.ReceiptRequested = x.Creator, x.Container, x.ReceiptRequested
		meta.Ablageort = x.Ablageort
		if a := x.Akte; a != nil {
			meta.Akte = xdomea.Akte{Betreff: a.Betreff, Aktenzeichen: a.Aktenzeichen,
				Aktenplankennzeichen: a.Aktenplankennzeichen, Typ: a.Typ}
		}
	}
	if meta.Ablageort == "" && dest.FileDrop != nil {
		meta.Ablageort = fileDropDir(dest.FileDrop.Dir, tenant.ID, in.Submission.Procedure)
	}
	m, err := xdomea.Build(in, doc, meta)
	if err != nil {
		return outbox.Bundle{}, "", "", err
	}
	b = outbox.Bundle{Modified: m.Modified()}
	for _, f := range m.Files() {
		if f.Attachment != nil {
			b.Entries = append(b.Entries, attachmentEntry(f.Name, *f.Attachment))
		} else {
			b.Entries = append(b.Entries, outbox.BundleEntry{Name: f.Name, Data: f.Content})
		}
	}
	return b, m.Document.MessageType, m.Name, nil
}

// fileDropDir is the directory a file drop delivers a route's messages
// into, <dir>/<tenant>/<procedure> made absolute as the file drop does: the
// default Ablageort of its xdomea messages.
func fileDropDir(dir, tenant, procedure string) string {
	d := filepath.Join(dir, tenant, procedure)
	if abs, err := filepath.Abs(d); err == nil {
		return abs
	}
	return d
}

// attachmentBundle describes the payload of a message in format xoev with
// attachments: a ZIP container holding the XÖV document as
// "<message id>.xml" and then each attachment, in request order, as
// AttachmentsDir/<attachment id>/<file name>, streamed from its stored blob
// at delivery, with modified as modification time.
func attachmentBundle(messageID string, xml []byte, attachments []transform.Attachment, modified time.Time) outbox.Bundle {
	b := outbox.Bundle{Modified: modified.UTC().Truncate(time.Second),
		Entries: []outbox.BundleEntry{{Name: messageID + ".xml", Data: xml}}}
	for _, a := range attachments {
		b.Entries = append(b.Entries, attachmentEntry(AttachmentsDir+"/"+a.ID+"/"+a.FileName, a))
	}
	return b
}

// attachmentEntry is the bundle entry named name of attachment a.
func attachmentEntry(name string, a transform.Attachment) outbox.BundleEntry {
	return outbox.BundleEntry{Name: name, Blob: a.Ref, Size: a.Size, AttachmentID: a.ID, MIMEType: a.MIMEType}
}
