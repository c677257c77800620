package mappertest

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform"
)

// SubmissionID is the Submission.ID that DecodeSubmission gives every
// submission.
const SubmissionID = "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"

// ReceivedAt is the Submission.ReceivedAt that DecodeSubmission gives every
// submission: 2026-11-28 09:59:58.123456789 CET.
func ReceivedAt() time.Time {
	return time.Date(2026, 11, 28, 9, 59, 58, 123456789, time.FixedZone("CET", 3600))
}

// request is a portal request body as the tests decode it.
type request struct {
	Tenant    string         `json:"tenant"`
	Procedure string         `json:"procedure"`
	Applicant map[string]any `json:"applicant"`
	Data      map[string]any `json:"data"`
	Identity  *struct {
		Method           string `json:"method"`
		Provider         string `json:"provider"`
		TrustLevel       string `json:"trust_level"`
		PostboxReference string `json:"postbox_reference"`
	} `json:"identity"`
}

// DecodeSubmission decodes a portal request body (tenant, procedure,
// applicant, data, identity) the way the intake does, numbers as
// json.Number, into a Submission with the fixed SubmissionID and
// ReceivedAt. With strict, an unknown member is an error.
func DecodeSubmission(raw []byte, strict bool) (transform.Submission, error) {
	var body request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&body); err != nil {
		return transform.Submission{}, err
	}
	s := transform.Submission{
		ID:         SubmissionID,
		Tenant:     body.Tenant,
		Procedure:  body.Procedure,
		Applicant:  body.Applicant,
		Data:       body.Data,
		ReceivedAt: ReceivedAt(),
	}
	if id := body.Identity; id != nil {
		s.Identity = &transform.Identity{Method: id.Method, Provider: id.Provider, TrustLevel: id.TrustLevel, PostboxReference: id.PostboxReference}
	}
	return s, nil
}

// ReadSubmission reads the request body at path (an example in
// testdata/submissions) with DecodeSubmission, strict; it fails the test
// where the file cannot be read or decoded.
func ReadSubmission(t testing.TB, path string) transform.Submission {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeSubmission(raw, true)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return s
}
