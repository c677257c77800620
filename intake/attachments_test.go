package intake_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
	"github.com/amtsbote/amtsbote/transform"
)

// Contents that start with the signature of their type.
var (
	jpegBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	tiffLE    = []byte("II*\x00\x08\x00\x00\x00")
	tiffBE    = []byte("MM\x00*\x00\x00\x00\x08")
	textBytes = []byte("Hallo, Amt!")
)

// sqliteStore is a fresh SQLite store.
func sqliteStore(t *testing.T) store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// file is one attachment of a test request.
type file struct {
	id, name, mimeType string
	content            []byte
}

// filesOf are the attachments fs, given with the request or, with upload,
// streamed at Stage.
func filesOf(upload bool, fs ...file) *files {
	f := &files{upload: upload}
	for _, x := range fs {
		f.attachments = append(f.attachments, transform.Attachment{ID: x.id, FileName: x.name, MIMEType: x.mimeType})
		f.contents = append(f.contents, x.content)
	}
	return f
}

// ids returns n distinct canonical UUIDs.
func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Replace("00000000-0000-4000-8000-000000000000", "0000", strings.Repeat(string(rune('a'+i%6)), 4), 1)
		out[i] = out[i][:34] + string("0123456789abcdef"[i/16]) + string("0123456789abcdef"[i%16])
	}
	return out
}

// The rules of attachments are the intake's: Accept applies them to
// every attachment, whatever the protocol, and reports each problem at
// the pointer the portal API has always reported it at. Content given with
// the request is checked before the mapper; content streamed as an upload
// while the Stager stages it.
func TestAcceptAttachmentRules(t *testing.T) {
	t.Parallel()
	limits := config.AttachmentLimits{MaxCount: 3, MaxBytes: 64, MaxTotalBytes: 100,
		MIMETypes: []string{"application/pdf", "image/png", "image/jpeg", "image/tiff", "Text/Plain"}}
	id := ids(4)
	pdfOf := func(n int) []byte { return append([]byte("%PDF-"), bytes.Repeat([]byte{'x'}, n-5)...) }
	type want struct{ pointer, code string }
	tests := []struct {
		name  string
		files []file
		want  []want // nil: accepted
	}{
		{"every sniffed type and one that is not", []file{
			{id[0], "a.pdf", "application/pdf", pdfBytes}, {id[1], "b.png", "IMAGE/PNG", pngBytes}, {id[2], "c.jpg", "image/jpeg", jpegBytes},
		}, nil},
		{"TIFF in both byte orders and text", []file{
			{id[0], "a.tif", "image/tiff", tiffLE}, {id[1], "b.tiff", "image/tiff", tiffBE}, {id[2], "liesmich.txt", "text/plain", textBytes},
		}, nil},
		{"max bytes exactly, total exactly", []file{{id[0], "a.pdf", "application/pdf", pdfOf(64)}, {id[1], "b.pdf", "application/pdf", pdfOf(36)}}, nil},
		{"too many", []file{
			{id[0], "a.pdf", "application/pdf", pdfBytes}, {id[1], "b.pdf", "application/pdf", pdfBytes},
			{id[2], "c.pdf", "application/pdf", pdfBytes}, {id[3], "../d.pdf", "image/gif", nil},
		}, []want{{"/attachments", "too_long"}}},
		{"too big", []file{{id[0], "a.pdf", "application/pdf", pdfBytes}, {id[1], "b.pdf", "application/pdf", pdfOf(65)}},
			[]want{{"/attachments/1/content", "too_long"}}},
		{"total too big", []file{{id[0], "a.pdf", "application/pdf", pdfOf(64)}, {id[1], "b.pdf", "application/pdf", pdfOf(37)}},
			[]want{{"/attachments", "too_long"}}},
		{"empty", []file{{id[0], "a.pdf", "application/pdf", []byte{}}}, []want{{"/attachments/0/content", "too_short"}}},
		{"disallowed type", []file{{id[0], "a.gif", "image/gif", []byte("GIF89a")}}, []want{{"/attachments/0/mime_type", "enum"}}},
		{"type with a parameter", []file{{id[0], "a.txt", "text/plain; charset=utf-8", textBytes}}, []want{{"/attachments/0/mime_type", "enum"}}},
		{"no type", []file{{id[0], "a.pdf", "", pdfBytes}}, []want{{"/attachments/0/mime_type", "required"}}},
		{"name ..", []file{{id[0], "..", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name ../x", []file{{id[0], "../antrag.pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name con.txt", []file{{id[0], "con.txt", "text/plain", textBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name LPT1.pdf", []file{{id[0], "LPT1.pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name a/b", []file{{id[0], "a/b.pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{`name a\b`, []file{{id[0], `a\b.pdf`, "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name absolute", []file{{id[0], "/etc/passwd", "text/plain", textBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name with a drive", []file{{id[0], "C:antrag.pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name not NFC", []file{{id[0], "Gru\u0308ndriss.png", "image/png", pngBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name hidden", []file{{id[0], ".htaccess", "text/plain", textBytes}}, []want{{"/attachments/0/filename", "invalid_filename"}}},
		{"name with a line feed", []file{{id[0], "a\nb.pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "control_character"}}},
		{"name outside DIN SPEC 91379", []file{{id[0], "Σχέδιο.png", "image/png", pngBytes}}, []want{{"/attachments/0/filename", "unsupported_character"}}},
		{"name of 256 bytes", []file{{id[0], strings.Repeat("a", 252) + ".pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "too_long"}}},
		{"no name", []file{{id[0], "", "application/pdf", pdfBytes}}, []want{{"/attachments/0/filename", "required"}}},
		{"id not canonical", []file{{strings.ToUpper(id[0]), "a.pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/id", "format"}}},
		{"id a path", []file{{"../" + id[0][3:], "a.pdf", "application/pdf", pdfBytes}}, []want{{"/attachments/0/id", "format"}}},
		{"id twice", []file{{id[0], "a.pdf", "application/pdf", pdfBytes}, {id[0], "b.pdf", "application/pdf", pdfBytes}},
			[]want{{"/attachments/1/id", "duplicate_id"}}},
		{"PDF that is not", []file{{id[0], "a.pdf", "application/pdf", pngBytes}}, []want{{"/attachments/0/content", "content_mismatch"}}},
		{"PNG that is not", []file{{id[0], "a.png", "image/png", pdfBytes}}, []want{{"/attachments/0/content", "content_mismatch"}}},
		{"PNG signature cut short", []file{{id[0], "a.png", "image/png", pngBytes[:7]}}, []want{{"/attachments/0/content", "content_mismatch"}}},
		{"JPEG that is not", []file{{id[0], "a.jpg", "image/jpeg", []byte("<html></html>")}}, []want{{"/attachments/0/content", "content_mismatch"}}},
		{"TIFF that is not", []file{{id[0], "a.tif", "image/tiff", textBytes}}, []want{{"/attachments/0/content", "content_mismatch"}}},
		{"problems of several attachments in request order", []file{
			{id[0], "a.png", "image/png", pdfBytes}, {id[1], "con", "image/gif", pdfBytes}, {id[0], "ok.pdf", "application/pdf", pdfBytes},
		}, []want{{"/attachments/0/content", "content_mismatch"}, {"/attachments/1/filename", "invalid_filename"},
			{"/attachments/1/mime_type", "enum"}, {"/attachments/2/id", "duplicate_id"}}},
		{"problems of content of two attachments", []file{{id[0], "a.png", "image/png", pdfBytes}, {id[1], "b.pdf", "application/pdf", []byte{}}},
			[]want{{"/attachments/0/content", "content_mismatch"}, {"/attachments/1/content", "too_short"}}},
	}
	// Streamed content is checked only after the rest, as it is staged, and
	// its first problem ends the upload.
	streamed := map[string][]want{
		"problems of several attachments in request order": {{"/attachments/1/filename", "invalid_filename"},
			{"/attachments/1/mime_type", "enum"}, {"/attachments/2/id", "duplicate_id"}},
		"problems of content of two attachments": {{"/attachments/0/content", "content_mismatch"}},
	}
	for _, tt := range tests {
		for _, upload := range []bool{false, true} {
			name := tt.name + "/with the request"
			if upload {
				name = tt.name + "/streamed"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				st := sqliteStore(t)
				cfg := testConfig(t)
				p, _ := cfg.Procedure(meldung)
				p.Attachments = limits
				r := demoRequest(t, meldung)
				r.Attachments = filesOf(upload, tt.files...)
				rc, err := newService(t, cfg, st).Accept(context.Background(), r)
				if tt.want == nil {
					if err != nil {
						t.Fatalf("Accept: %v", err)
					}
					_, msgs, err := st.Submission(context.Background(), rc.SubmissionID)
					if err != nil || len(msgs) != 1 {
						t.Fatalf("Submission = %d messages, %v", len(msgs), err)
					}
					assertContainer(t, st, msgs[0], tt.files)
					return
				}
				verr, ok := errors.AsType[*intake.ValidationError](err)
				if !ok {
					t.Fatalf("err = %v, want a *ValidationError", err)
				}
				var got []want
				for _, fe := range verr.Errors {
					got = append(got, want{fe.Pointer, fe.Code})
					if fe.Message == "" || fe.MessageDE == "" {
						t.Errorf("problem %+v lacks a message", fe)
					}
				}
				wantProblems := tt.want
				if w, ok := streamed[tt.name]; ok && upload {
					wantProblems = w
				}
				if !slices.Equal(got, wantProblems) {
					t.Errorf("problems = %v, want %v", got, wantProblems)
				}
				assertNothingStored(t, st, rc.SubmissionID)
			})
		}
	}
}

// assertContainer checks that the ZIP container of m holds each file's
// content.
func assertContainer(t *testing.T, st store, m outbox.Message, fs []file) {
	t.Helper()
	b, err := outbox.ParseBundle(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var zip bytes.Buffer
	if err := b.WriteZIP(context.Background(), &zip, st); err != nil {
		t.Fatalf("WriteZIP: %v", err)
	}
	if len(b.Entries) != len(fs)+1 {
		t.Fatalf("%d entries for %d files", len(b.Entries), len(fs))
	}
	for i, f := range fs {
		e := b.Entries[i+1]
		if e.Name != intake.AttachmentsDir+"/"+f.id+"/"+f.name || e.Size != int64(len(f.content)) ||
			e.MIMEType != strings.ToLower(f.mimeType) || !bytes.Contains(zip.Bytes(), f.content) {
			t.Errorf("entry %d = %+v; want %s of %d bytes", i+1, e, f.name, len(f.content))
		}
	}
}

// silentUpload announces uploads and stages none of them.
type silentUpload struct{ *files }

func (silentUpload) Stage(context.Context, *intake.Stager, []transform.Attachment) ([]transform.FieldError, error) {
	return nil, nil
}

// An attachment whose content the protocol neither gave nor staged is a
// bug of the protocol, not the sender's problem, and stores nothing.
func TestAcceptAttachmentWithoutContent(t *testing.T) {
	t.Parallel()
	st := sqliteStore(t)
	r := demoRequest(t, meldung)
	r.Attachments = silentUpload{filesOf(true, file{pdfID, "a.pdf", "application/pdf", pdfBytes})}
	rc, err := newService(t, testConfig(t), st).Accept(context.Background(), r)
	if _, ok := errors.AsType[*intake.ValidationError](err); ok || err == nil || !strings.Contains(err.Error(), "no content") {
		t.Fatalf("err = %v, want the protocol's bug", err)
	}
	assertNothingStored(t, st, rc.SubmissionID)
}

// The Stager refuses an index that names no attachment, and content staged
// twice for one.
func TestStagerRefusesWrongIndex(t *testing.T) {
	t.Parallel()
	st := sqliteStore(t)
	r := demoRequest(t, meldung)
	var errs []error
	r.Attachments = &stageWith{files: filesOf(true, file{pdfID, "a.pdf", "application/pdf", pdfBytes}),
		stage: func(ctx context.Context, s *intake.Stager) error {
			errs = append(errs, s.Stage(ctx, 1, bytes.NewReader(pdfBytes)), s.Stage(ctx, -1, bytes.NewReader(pdfBytes)))
			if err := s.Stage(ctx, 0, bytes.NewReader(pdfBytes)); err != nil {
				return err
			}
			errs = append(errs, s.Stage(ctx, 0, bytes.NewReader(pdfBytes)))
			return nil
		}}
	if _, err := newService(t, testConfig(t), st).Accept(context.Background(), r); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if len(errs) != 3 || slices.Contains(errs, nil) {
		t.Errorf("errors = %v, want three", errs)
	}
}

// stageWith stages by its function.
type stageWith struct {
	*files
	stage func(ctx context.Context, s *intake.Stager) error
}

func (w *stageWith) Stage(ctx context.Context, s *intake.Stager, _ []transform.Attachment) ([]transform.FieldError, error) {
	return nil, w.stage(ctx, s)
}
