package fitconnect

import (
	"bytes"
	"crypto/sha512"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MetadataSchemaURI is the $schema of the metadata Amtsbote sends.
const MetadataSchemaURI = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json"

// FachdatenSchemaURI names the JSON Fachdaten Amtsbote exchanges: an
// object with the members applicant, data and optionally identity, as the
// portal API's request body has them (without tenant and procedure, which
// the destination and the service name).
const FachdatenSchemaURI = "urn:amtsbote:fitconnect:fachdaten:1"

// HashSHA512 is the only hash type of the metadata.
const HashSHA512 = "sha512"

// Hash is a hash of the metadata: type sha512, hex content.
type Hash struct {
	Type    string `json:"type"`
	Content string `json:"content"`
}

// NewHash returns the SHA-512 hash of b.
func NewHash(b []byte) Hash {
	sum := sha512.Sum512(b)
	return Hash{Type: HashSHA512, Content: hex.EncodeToString(sum[:])}
}

// Matches reports whether h is the SHA-512 hash of b.
func (h Hash) Matches(b []byte) bool {
	sum := sha512.Sum512(b)
	return h.Type == HashSHA512 && strings.EqualFold(h.Content, hex.EncodeToString(sum[:]))
}

// SubmissionSchema names the schema of the Fachdaten.
type SubmissionSchema struct {
	SchemaURI string `json:"schemaUri"`
	MIMEType  string `json:"mimeType"`
}

// MetadataData describes the Fachdaten.
type MetadataData struct {
	Hash             Hash             `json:"hash"`
	SubmissionSchema SubmissionSchema `json:"submissionSchema"`
}

// MetadataAttachment describes one attachment.
type MetadataAttachment struct {
	Hash         Hash   `json:"hash"`
	Purpose      string `json:"purpose"`
	FileName     string `json:"filename,omitempty"`
	Description  string `json:"description,omitempty"`
	MIMEType     string `json:"mimeType"`
	AttachmentID string `json:"attachmentId"`
}

// ContentStructure is what the submission consists of.
type ContentStructure struct {
	Data        *MetadataData        `json:"data,omitempty"`
	Attachments []MetadataAttachment `json:"attachments"`
}

// Metadata is the decrypted metadata of a submission (the members used).
type Metadata struct {
	Schema           string           `json:"$schema,omitempty"`
	ContentStructure ContentStructure `json:"contentStructure"`
	// AuthenticationInformation are the sender's proofs of the applicant's
	// identity; a subscriber with an identity verifier reads the one of
	// type AuthIdentificationReport.
	AuthenticationInformation []AuthenticationInformation `json:"authenticationInformation,omitempty"`
}

// AuthIdentificationReport is the type of AuthenticationInformation that
// carries the identity provider's signed assertion (a JWT) as its content.
const AuthIdentificationReport = "identificationReport"

// AuthenticationInformation is one proof of identity in the metadata.
type AuthenticationInformation struct {
	Type    string `json:"type"`
	Version string `json:"version"`
	Content string `json:"content"`
}

// Errors of ParseMetadata, which the subscriber turns into problem types.
var (
	errSyntax = errors.New("not parseable JSON")
	errSchema = errors.New("invalid against the schema")
)

//go:embed schema/metadata.schema.json
var schemaFS embed.FS

var metadataSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	b, err := schemaFS.ReadFile("schema/metadata.schema.json")
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const url = "urn:amtsbote:fitconnect:metadata.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

// ParseMetadata decodes and validates decrypted metadata against the
// schema. The error names the JSON pointers of the violations, never
// values.
func ParseMetadata(b []byte) (Metadata, error) {
	s, err := metadataSchema()
	if err != nil {
		return Metadata{}, fmt.Errorf("metadata schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return Metadata{}, fmt.Errorf("metadata is not JSON: %w", errSyntax)
	}
	if err := s.Validate(doc); err != nil {
		return Metadata{}, fmt.Errorf("%w: %s", errSchema, violations(err))
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return Metadata{}, fmt.Errorf("%w: %v", errSchema, err)
	}
	for i, a := range m.ContentStructure.Attachments {
		if a.Hash.Type != HashSHA512 || len(a.Hash.Content) != 128 {
			return Metadata{}, fmt.Errorf("%w: /contentStructure/attachments/%d/hash: a sha512 hash is required", errSchema, i)
		}
	}
	if d := m.ContentStructure.Data; d != nil && (d.Hash.Type != HashSHA512 || len(d.Hash.Content) != 128) {
		return Metadata{}, fmt.Errorf("%w: /contentStructure/data/hash: a sha512 hash is required", errSchema)
	}
	return m, nil
}

// violations lists the instance locations of a validation error.
func violations(err error) string {
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err.Error()
	}
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			seen["/"+strings.Join(e.InstanceLocation, "/")] = true
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(verr)
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return "invalid at " + strings.Join(out, ", ")
}
