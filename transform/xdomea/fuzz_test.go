package xdomea_test

import (
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xdomea"
)

// FuzzBuild feeds the texts of an xdomea filing (the metadata and the Akte,
// the tenant's and author's names, an attachment's name, type and bytes,
// the payload members a Betreff is derived from) to Build: it
// never panics, and when it succeeds the message is well-formed XML and
// its container lists the message, the primary document and every
// attachment by reference, with its size. Seeds: f.Add below and
// testdata/fuzz/FuzzBuild.
func FuzzBuild(f *testing.F) {
	f.Add("Gewerbeanmeldung", "Stadt Musterstadt", "svc-amtsbote", "c0ffee00-1234-4abc-8def-0123456789ab", "Lageplan Grundstück.pdf", "application/pdf", []byte("%PDF-1.7"))
	f.Add("<!DOCTYPE x [<!ENTITY a 'b'>]>&a;", "]]>", "a&b", "<c/>", "x.pdf", "text/plain", []byte{0})
	f.Add("", "", "", "", "", "", []byte(nil))
	f.Add("Ümläut\u0301", "Gemeinde \"Ort\"", "svc\tx", "id\n", "a\x00b.pdf", "image/png", []byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, procedure, tenant, creator, container, fileName, mimeType string, content []byte) {
		in := fullInput()
		in.Author.Name = tenant
		if fileName != "" {
			in.Submission.Attachments = []transform.Attachment{{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
				FileName: fileName, MIMEType: mimeType, Size: int64(len(content)), Ref: "blob"}}
		}
		// The same texts as the payload a Betreff is derived from, as the
		// Akte's fields and as the Ablageort.
		in.Submission.Procedure = "bau.baugenehmigung"
		in.Submission.Data = map[string]any{
			"bauvorhaben":    map[string]any{"bezeichnung": procedure},
			"baugrundstueck": map[string]any{"flurstuecke": []any{map[string]any{"gemarkung": map[string]any{"bezeichnung": tenant}, "zaehler": creator}}},
			"anlagen":        []any{map[string]any{"dokumentId": "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", "bezeichnung": mimeType}},
		}
		meta := xdomea.Metadata{ProcedureName: procedure, TenantName: tenant, Creator: creator, Container: container,
			Akte:      xdomea.Akte{Betreff: container + xdomea.PlaceholderJahr, Aktenzeichen: creator, Aktenplankennzeichen: fileName, Typ: tenant},
			Ablageort: fileName}
		m, err := xdomea.Build(in, innerDoc, meta)
		if err != nil {
			return // refused input is fine; a panic is not
		}
		if err := etree.NewDocument().ReadFromBytes(m.Document.XML); err != nil {
			t.Fatalf("message is not well-formed: %v\n%s", err, m.Document.XML)
		}
		files := m.Files()
		want := 2 + len(in.Submission.Attachments)
		if len(files) != want {
			t.Fatalf("%d files in the container, want %d", len(files), want)
		}
		if len(in.Submission.Attachments) > 0 {
			last := files[len(files)-1]
			if last.Attachment == nil || last.Attachment.Ref != "blob" || last.Attachment.Size != int64(len(content)) {
				t.Fatalf("attachment %s: %+v, want the blob of %d bytes", last.Name, last.Attachment, len(content))
			}
		}
	})
}
