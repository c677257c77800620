package mappertest

import "testing"

func TestDecodeSubmission(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"tenant":"t","procedure":"p","applicant":{"n":1},"data":{},"identity":{"method":"eid","trust_level":"high"}}`)
	s, err := DecodeSubmission(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != SubmissionID || !s.ReceivedAt.Equal(ReceivedAt()) || s.Tenant != "t" || s.Procedure != "p" {
		t.Errorf("submission %+v", s)
	}
	if n, ok := s.Applicant["n"].(interface{ String() string }); !ok || n.String() != "1" {
		t.Errorf("number decoded as %T, want json.Number", s.Applicant["n"])
	}
	if s.Identity == nil || s.Identity.Method != "eid" || s.Identity.TrustLevel != "high" {
		t.Errorf("identity %+v", s.Identity)
	}
	unknown := []byte(`{"tenant":"t","extra":1}`)
	if _, err := DecodeSubmission(unknown, true); err == nil {
		t.Error("strict decoding accepted an unknown member")
	}
	if _, err := DecodeSubmission(unknown, false); err != nil {
		t.Errorf("lenient decoding: %v", err)
	}
}
