package fitconnecttest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
)

// FromPortalBody splits a portal API submission body (as in
// testdata/submissions) into what a FIT-Connect sender posts: the Fachdaten
// (the body without tenant, procedure and attachments) and the attachments
// with their content.
func FromPortalBody(raw []byte) (fachdaten []byte, atts []Attachment, err error) {
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, nil, fmt.Errorf("portal body: %w", err)
	}
	list, _ := body["attachments"].([]any)
	for i, a := range list {
		m, _ := a.(map[string]any)
		id, _ := m["id"].(string)
		name, _ := m["filename"].(string)
		mimeType, _ := m["mime_type"].(string)
		b64, _ := m["content"].(string)
		content, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, nil, fmt.Errorf("portal body: attachment %d: %w", i, err)
		}
		atts = append(atts, Attachment{ID: id, FileName: name, MIMEType: mimeType, Content: content})
	}
	for _, k := range []string{"tenant", "procedure", "attachments"} {
		delete(body, k)
	}
	fachdaten, err = json.Marshal(body)
	return fachdaten, atts, err
}

// Attachment is a file of a test submission.
type Attachment struct {
	// ID is the attachment's UUID, which the Fachdaten may reference;
	// default a new one.
	ID       string
	FileName string
	MIMEType string
	Content  []byte
}

// SendRequest is a submission an online service posts through Send.
type SendRequest struct {
	DestinationID string
	Service       fitconnect.ServiceType
	// Data are the Fachdaten, sent as they are.
	Data        []byte
	Attachments []Attachment
	// SchemaURI of the Fachdaten; default fitconnect.FachdatenSchemaURI.
	SchemaURI string

	// Faults of the sender, for the reject cases.
	TamperData       bool           // flip a byte of the data's ciphertext
	TamperAttachment bool           // flip a byte of the first attachment's ciphertext
	WrongHash        bool           // metadata with a wrong hash of the data
	EncryptWith      fitconnect.Key // another public key (wrong key, unknown kid)
	// Metadata, when set, replaces the metadata document.
	Metadata []byte
	// AuthenticationInformation goes into the metadata as it is.
	AuthenticationInformation []fitconnect.AuthenticationInformation
}

// Sent names a submission posted through Send.
type Sent struct {
	SubmissionID string
	CaseID       string
	// AttachmentIDs in the order of the request.
	AttachmentIDs []string
}

// Send posts a submission as an online service does: it is created,
// its attachments and metadata (with SHA-512 hashes) and data are
// encrypted with the destination's key, and it is submitted; the
// destination's NewSubmissions callback follows.
func (f *Fake) Send(req SendRequest) (Sent, error) {
	f.mu.Lock()
	d, ok := f.destinations[req.DestinationID]
	if !ok {
		f.mu.Unlock()
		return Sent{}, errors.New("no such destination")
	}
	key := d.EncryptionKey
	f.mu.Unlock()
	if req.EncryptWith.JWK.Key != nil {
		key = req.EncryptWith.Public()
	}
	schema := req.SchemaURI
	if schema == "" {
		schema = fitconnect.FachdatenSchemaURI
	}
	ids := make([]string, len(req.Attachments))
	md := fitconnect.Metadata{Schema: fitconnect.MetadataSchemaURI, ContentStructure: fitconnect.ContentStructure{
		Data: &fitconnect.MetadataData{Hash: fitconnect.NewHash(req.Data),
			SubmissionSchema: fitconnect.SubmissionSchema{SchemaURI: schema, MIMEType: "application/json"}},
		Attachments: []fitconnect.MetadataAttachment{},
	}}
	md.AuthenticationInformation = req.AuthenticationInformation
	if req.WrongHash {
		md.ContentStructure.Data.Hash = fitconnect.NewHash(append(slices.Clone(req.Data), ' '))
	}
	jwes := map[string]string{}
	for i, a := range req.Attachments {
		ids[i] = a.ID
		if ids[i] == "" {
			ids[i] = uuid.NewString()
		}
		jwe, err := fitconnect.Encrypt(key, a.Content, a.MIMEType)
		if err != nil {
			return Sent{}, err
		}
		if i == 0 && req.TamperAttachment {
			jwe = tamper(jwe)
		}
		jwes[ids[i]] = jwe
		md.ContentStructure.Attachments = append(md.ContentStructure.Attachments, fitconnect.MetadataAttachment{
			Hash: fitconnect.NewHash(a.Content), Purpose: "attachment", FileName: a.FileName, MIMEType: a.MIMEType, AttachmentID: ids[i]})
	}
	mdJSON := req.Metadata
	if mdJSON == nil {
		var err error
		if mdJSON, err = json.Marshal(md); err != nil {
			return Sent{}, err
		}
	}
	encMD, err := fitconnect.Encrypt(key, mdJSON, "application/json")
	if err != nil {
		return Sent{}, err
	}
	encData, err := fitconnect.Encrypt(key, req.Data, "application/json")
	if err != nil {
		return Sent{}, err
	}
	if req.TamperData {
		encData = tamper(encData)
	}

	f.mu.Lock()
	s := f.newSubmission(req.DestinationID, req.Service, ids, "")
	for id, jwe := range jwes {
		s.Attachments[id] = jwe
	}
	s.EncryptedMetadata, s.EncryptedData, s.State = encMD, encData, StateSubmitted
	f.appendOwnEvent(s, fitconnect.EventSubmitSubmission)
	cb := f.callbackFor(s)
	f.mu.Unlock()
	if cb != nil {
		go cb()
	}
	return Sent{SubmissionID: s.ID, CaseID: s.CaseID, AttachmentIDs: ids}, nil
}

// tamper changes one character of a JWE's ciphertext (its fourth part).
func tamper(jwe string) string {
	parts := strings.Split(jwe, ".")
	if len(parts) != 5 || len(parts[3]) == 0 {
		return jwe
	}
	c := []byte(parts[3])
	if c[0] == 'A' {
		c[0] = 'B'
	} else {
		c[0] = 'A'
	}
	parts[3] = string(c)
	return strings.Join(parts, ".")
}

// State returns the state of a submission, "" when there is none.
func (f *Fake) State(submissionID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.submissions[submissionID]; ok {
		return s.State
	}
	return ""
}

// DecodedEvents returns a case's events verified: the subscriber's with
// key, the Zustelldienst's own with its key.
func (f *Fake) DecodedEvents(caseID string, key fitconnect.Key) ([]fitconnect.Event, error) {
	var out []fitconnect.Event
	for _, set := range f.Events(caseID) {
		kid, err := fitconnect.SETKeyID(set)
		if err != nil {
			return nil, err
		}
		k := key.Public()
		if kid == f.key.KID() {
			k = f.key.Public()
		}
		e, err := fitconnect.VerifySET(k, set)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
