package portalapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// filePart is one attachment of a multipart submission.
type filePart struct {
	id, filename, mimeType string
	content                []byte
}

// multipartBody builds a multipart/form-data submission of demo.json with
// the attachments described in the JSON and their content as parts, and
// returns it with its Content-Type.
func multipartBody(t testing.TB, files ...filePart) ([]byte, string) {
	t.Helper()
	var described []any
	for _, f := range files {
		described = append(described, map[string]any{"id": f.id, "filename": f.filename, "mime_type": f.mimeType})
	}
	var b bytes.Buffer
	w := portalapi.NewMultipartWriter(&b)
	if err := w.WriteSubmission(demoBody(t, func(m map[string]any) { m["attachments"] = described })); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := w.WriteAttachment(f.id, f.filename, bytes.NewReader(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.ContentType()
}

// submitMultipart posts a multipart body.
func (e *env) submitMultipart(t *testing.T, key string, body []byte, contentType string, header ...string) response {
	t.Helper()
	return e.do(t, http.MethodPost, "/v1/submissions", key, bytes.NewReader(body),
		append([]string{"Content-Type", contentType}, header...)...)
}

// largePDF is a PDF signature followed by n-5 random bytes.
func largePDF(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	copy(b, "%PDF-")
	return b
}

// A multipart submission streams each attachment into the store: the
// destination's container holds the exact bytes, stored once however
// many chunks they take.
func TestSubmitMultipart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(config.AttachmentLimits{MaxBytes: 8 << 20}))
	big := largePDF(t, 2*outbox.BlobChunkSize+12345) // three chunks
	body, ct := multipartBody(t,
		filePart{pdfID, "Antrag.pdf", "application/pdf", big},
		filePart{pngID, "Grundriss Erdgeschoß.png", "image/png", pngBytes})
	id := accepted(t, e.submitMultipart(t, demoKey, body, ct))

	sub, msgs, err := e.store.Submission(context.Background(), id)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("store.Submission = %d messages, %v; want 1", len(msgs), err)
	}
	if bytes.Contains(sub.Payload, big[:64]) || !bytes.Contains(sub.Payload, []byte(pngID)) {
		t.Error("the stored request holds attachment content, or lacks the attachments' ids")
	}
	m := msgs[0]
	if m.Metadata[outbox.MetaPayloadFormat] != outbox.PayloadFormatBundle || m.Metadata[outbox.MetaAttachments] != "2" ||
		m.Metadata[outbox.MetaContentType] != "application/zip" {
		t.Errorf("metadata = %v", m.Metadata)
	}
	if len(m.Payload) > 64<<10 {
		t.Errorf("message payload has %d bytes; the content belongs in blobs", len(m.Payload))
	}
	entries := unzip(t, e.assemble(t, m))
	if len(entries) != 3 || !bytes.Equal(entries[1].content, big) || !bytes.Equal(entries[2].content, pngBytes) {
		t.Fatalf("container holds %d entries; attachments equal: %v %v", len(entries),
			len(entries) > 1 && bytes.Equal(entries[1].content, big), len(entries) > 2 && bytes.Equal(entries[2].content, pngBytes))
	}
	if n, err := e.store.PurgeStagedBlobs(context.Background(), time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("PurgeStagedBlobs = %d, %v; committed blobs are not staged ones", n, err)
	}
}

// The same submission as JSON with base64 content and as multipart gives
// the same container contents.
func TestMultipartAndJSONDeliverTheSame(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	jsonID := accepted(t, e.submit(t, demoKey, withAttachments(t, validAttachments())))
	body, ct := multipartBody(t,
		filePart{pdfID, "Antrag.pdf", "application/pdf", pdfBytes},
		filePart{pngID, "Grundriss Erdgeschoß.png", "image/png", pngBytes})
	partsID := accepted(t, e.submitMultipart(t, demoKey, body, ct))

	contents := func(id string) [][]byte {
		_, msgs, err := e.store.Submission(context.Background(), id)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("store.Submission(%s) = %d messages, %v", id, len(msgs), err)
		}
		var out [][]byte
		for _, en := range unzip(t, e.assemble(t, msgs[0]))[1:] {
			out = append(out, en.content)
		}
		return out
	}
	a, b := contents(jsonID), contents(partsID)
	if len(a) != 2 || len(b) != 2 || !bytes.Equal(a[0], b[0]) || !bytes.Equal(a[1], b[1]) {
		t.Errorf("JSON delivers %d attachments, multipart %d, or their bytes differ", len(a), len(b))
	}
}

// A retry with the same Idempotency-Key and the same parts is answered
// like the original and leaves nothing staged; other content is a conflict.
func TestMultipartIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body, ct := multipartBody(t, filePart{pdfID, "Antrag.pdf", "application/pdf", pdfBytes})
	first := accepted(t, e.submitMultipart(t, demoKey, body, ct, "Idempotency-Key", "k-1"))
	r := e.submitMultipart(t, demoKey, body, ct, "Idempotency-Key", "k-1")
	if again := accepted(t, r); again != first || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry answered %s (replayed %q), want %s replayed", again, r.header.Get("Idempotent-Replayed"), first)
	}
	other, ct2 := multipartBody(t, filePart{pdfID, "Antrag.pdf", "application/pdf", append(bytes.Clone(pdfBytes), '!')})
	problemOf(t, e.submitMultipart(t, demoKey, other, ct2, "Idempotency-Key", "k-1"), http.StatusUnprocessableEntity,
		portalapi.ProblemIdempotencyConflict)
	if n, err := e.store.PurgeStagedBlobs(context.Background(), time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("%d staged blobs left by the retries (%v), want none", n, err)
	}
}

// An attachment over the procedure's limit is refused while it arrives,
// pointing at its content, and nothing of it stays.
func TestMultipartAttachmentTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withLimits(config.AttachmentLimits{MaxBytes: outbox.BlobChunkSize + 10}))
	body, ct := multipartBody(t,
		filePart{pdfID, "Antrag.pdf", "application/pdf", pdfBytes},
		filePart{pngID, "Plan.png", "image/png", append(bytes.Clone(pngBytes), make([]byte, outbox.BlobChunkSize)...)})
	p := problemOf(t, e.submitMultipart(t, demoKey, body, ct), http.StatusUnprocessableEntity,
		portalapi.ProblemValidationFailed)
	if len(p.Errors) != 1 || p.Errors[0].Pointer != "/attachments/1/content" || p.Errors[0].Code != "too_long" {
		t.Errorf("errors = %+v, want too_long at /attachments/1/content", p.Errors)
	}
	e.assertNothingStored(t)
}

// Attachments larger than server.max_body_bytes pass as parts: the body
// limit bounds the JSON, not the upload.
func TestMultipartBeyondBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *envConfig) { c.MaxBodyBytes = 64 << 10 },
		withLimits(config.AttachmentLimits{MaxBytes: 4 << 20}))
	big := largePDF(t, 3<<20)
	body, ct := multipartBody(t, filePart{pdfID, "Antrag.pdf", "application/pdf", big})
	id := accepted(t, e.submitMultipart(t, demoKey, body, ct))
	_, msgs, err := e.store.Submission(context.Background(), id)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("store.Submission = %d messages, %v", len(msgs), err)
	}
	if entries := unzip(t, e.assemble(t, msgs[0])); !bytes.Equal(entries[1].content, big) {
		t.Error("the 3 MiB attachment arrived changed")
	}
	// The same as JSON is too large.
	r := e.submit(t, demoKey, withAttachments(t, []any{attachment(pdfID, "Antrag.pdf", "application/pdf", big)}))
	problemOf(t, r, http.StatusRequestEntityTooLarge, portalapi.ProblemPayloadTooLarge)
}

// A slow upload is not cut off by the server's read timeout while it makes
// progress.
func TestMultipartSlowUploadOutlastsReadTimeout(t *testing.T) {
	t.Parallel()
	e := newEnvServer(t, func(s *http.Server) { s.ReadTimeout, s.WriteTimeout = time.Second, time.Second },
		func(c *envConfig) { c.UploadIdleTimeout = 2 * time.Second; c.WriteTimeout = time.Second },
		withLimits(config.AttachmentLimits{MaxBytes: 4 << 20}))
	body, ct := multipartBody(t, filePart{pdfID, "Antrag.pdf", "application/pdf", largePDF(t, 1<<20)})
	// 1 MiB in 128 KiB steps every 300 ms: about 2.5 s, over the 1 s read timeout.
	pr, pw := io.Pipe()
	go func() {
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 128<<10)
			if _, err := pw.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
			time.Sleep(300 * time.Millisecond)
		}
		pw.Close()
	}()
	accepted(t, e.do(t, http.MethodPost, "/v1/submissions", demoKey, pr, "Content-Type", ct))
}

// FuzzSubmitMultipart feeds multipart bodies (boundary "XB") to the
// handler with a real store: the answer is a 202 or a 4xx problem, never
// a 5xx or a panic, and a refused request leaves no staged content
// behind. Seeds: the hostile multipart cases and one valid request.
func FuzzSubmitMultipart(f *testing.F) {
	cases, err := filepath.Glob("../../testdata/hostile/multipart/*.case")
	if err != nil || len(cases) == 0 {
		f.Fatalf("no seed cases: %v", err)
	}
	for _, c := range cases {
		b, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		if head, body, ok := bytes.Cut(b, []byte("\n\n")); ok && bytes.Contains(head, []byte("boundary=XB\n")) {
			f.Add(body)
		}
	}
	valid, _ := multipartBody(f, filePart{pdfID, "Antrag.pdf", "application/pdf", pdfBytes})
	f.Add(valid)
	e := newEnv(f, withLimits(config.AttachmentLimits{MaxBytes: 64 << 10}))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/submissions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+demoKey)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=XB")
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("answered %d: %s", rec.Code, rec.Body.Bytes())
		}
		if rec.Code != http.StatusAccepted {
			if n, err := e.store.PurgeStagedBlobs(context.Background(), time.Now().Add(24*time.Hour)); err != nil || n != 0 {
				t.Fatalf("%d staged blobs left by a %d (%v)", n, rec.Code, err)
			}
		}
	})
}
