package xdomea_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/amtsbote/amtsbote/transform/xdomea"
	"github.com/amtsbote/amtsbote/transform/xgewerbe"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// TestWrapGewerbeanmeldung files a real Gewerbeanmeldung: the XGewerbeanzeige
// message of the minimal example becomes the primary document, unchanged.
func TestWrapGewerbeanmeldung(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../testdata/submissions/gewerbe.anmeldung-minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := mappertest.DecodeSubmission(raw, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := xgewerbe.New()
	if err != nil {
		t.Fatal(err)
	}
	in := fullInput()
	s.ID, s.ReceivedAt = in.Submission.ID, in.Submission.ReceivedAt
	in.Submission = s
	inner, err := m.Map(in)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := xdomea.Build(in, inner, fullMetadata())
	if err != nil {
		t.Fatal(err)
	}
	xoevtest.Validate(t, xoevtest.Schema(t, xdomeaXSD), msg.Document.XML)
	if !bytes.Equal(msg.Primary.Content, inner.XML) {
		t.Error("the primary document is not the XGewerbeanzeige message")
	}
	if !bytes.Contains(msg.Document.XML, []byte("<xdomea:Wert>"+xgewerbe.MessageType+"</xdomea:Wert>")) {
		t.Error("the message does not name the inner message type")
	}
	if !bytes.Contains(msg.Document.XML, []byte("<xdomea:Betreff>Gewerbeanmeldung: Hausmeisterdienste</xdomea:Betreff>")) {
		t.Error("the Betreff does not name the declared activity")
	}
	for _, personal := range []string{"Größmann", "Lindenallee", "1984-03-07"} {
		if bytes.Contains(msg.Document.XML, []byte(personal)) {
			t.Errorf("the xdomea message carries the applicant's %q outside the primary document", personal)
		}
	}
}
