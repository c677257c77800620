package portalapi_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xdomea"
)

const hostileAttachmentsDir = "../../testdata/hostile/attachments"

// Attachment contents that pass the content sniffing.
var (
	pdfBytes = []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
)

// Attachment ids.
const (
	pdfID = "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d"
	pngID = "9e8d7c6b-5a4f-4e3d-a2c1-b0a9f8e7d6c5"
)

// attachment returns an attachment object of the request body.
func attachment(id, filename, mimeType string, content []byte) map[string]any {
	return map[string]any{"id": id, "filename": filename, "mime_type": mimeType,
		"content": base64.StdEncoding.EncodeToString(content)}
}

// validAttachments are a PDF and a PNG with a name outside ASCII.
func validAttachments() []any {
	return []any{
		attachment(pdfID, "Antrag.pdf", "application/pdf", pdfBytes),
		attachment(pngID, "Grundriss Erdgeschoß.png", "image/png", pngBytes),
	}
}

// withAttachments returns demo.json with the attachments member a.
func withAttachments(t *testing.T, a any) []byte {
	t.Helper()
	return demoBody(t, func(m map[string]any) { m["attachments"] = a })
}

// submissionRecorder is the envelope mapper, recording the submissions it validates.
type submissionRecorder struct {
	transform.Mapper
	mu   sync.Mutex
	seen []transform.Submission
}

func (m *submissionRecorder) Validate(s transform.Submission) []transform.FieldError {
	m.mu.Lock()
	m.seen = append(m.seen, s)
	m.mu.Unlock()
	return m.Mapper.Validate(s)
}

func (m *submissionRecorder) submissions() []transform.Submission {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.seen)
}

// withRecorder registers a submissionRecorder for demoProcedure and, as the
// plain envelope mapper, for the procedures in also.
func withRecorder(t *testing.T, rec *submissionRecorder, also ...string) func(*envConfig) {
	return func(c *envConfig) {
		r := transform.NewRegistry()
		if err := r.Register(demoProcedure, rec); err != nil {
			t.Fatal(err)
		}
		for _, p := range also {
			if err := r.Register(p, envelope.New()); err != nil {
				t.Fatal(err)
			}
		}
		c.Registry = r
	}
}

// withLimits sets the attachment limits of demoProcedure.
func withLimits(limits config.AttachmentLimits) func(*envConfig) {
	return func(c *envConfig) {
		p, ok := c.Config.Procedure(demoProcedure)
		if !ok {
			panic("no " + demoProcedure)
		}
		p.Attachments = limits
	}
}

// zipEntry is one file of a ZIP container.
type zipEntry struct {
	name     string
	method   uint16
	modified time.Time
	content  []byte
}

// unzip returns the files of a ZIP container in order.
func unzip(t *testing.T, b []byte) []zipEntry {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("payload is not a ZIP container: %v", err)
	}
	var out []zipEntry
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		out = append(out, zipEntry{name: f.Name, method: f.Method, modified: f.Modified, content: content})
	}
	return out
}

func entryNames(entries []zipEntry) []string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.name
	}
	return names
}

func TestSubmitWithAttachments(t *testing.T) {
	t.Parallel()
	rec := &submissionRecorder{Mapper: envelope.New()}
	e := newEnv(t, withRecorder(t, rec))
	body := withAttachments(t, validAttachments())
	id := accepted(t, e.submit(t, demoKey, body))

	sub, msgs, err := e.store.Submission(context.Background(), id)
	if err != nil {
		t.Fatalf("store.Submission: %v", err)
	}
	// The request is kept without the content, which is stored once, apart.
	if bytes.Contains(sub.Payload, []byte(`"content"`)) || !bytes.Contains(sub.Payload, []byte(pdfID)) {
		t.Errorf("stored request = %.200s; want it without content, with the attachments' ids", sub.Payload)
	}
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	for k, want := range map[string]string{
		outbox.MetaContentType: "application/zip", outbox.MetaAttachments: "2", outbox.MetaMessageType: envelope.MessageType,
		outbox.MetaDestination: "fachverfahren", outbox.MetaPayloadFormat: outbox.PayloadFormatBundle,
	} {
		if got := m.Metadata[k]; got != want {
			t.Errorf("metadata %s = %q, want %q", k, got, want)
		}
	}

	entries := unzip(t, e.assemble(t, m))
	wantNames := []string{m.ID + ".xml", "anlagen/" + pdfID + "/Antrag.pdf", "anlagen/" + pngID + "/Grundriss Erdgeschoß.png"}
	if got := entryNames(entries); !slices.Equal(got, wantNames) {
		t.Fatalf("ZIP entries = %q, want %q", got, wantNames)
	}
	// The XML deflated; attachments, mostly compressed already, stored.
	for i, en := range entries {
		want := uint16(zip.Store)
		if i == 0 {
			want = zip.Deflate
		}
		if en.method != want || !en.modified.Equal(testNow) {
			t.Errorf("%s: method %d, modified %v; want %d and %v", en.name, en.method, en.modified, want, testNow)
		}
	}
	if !bytes.Equal(entries[1].content, pdfBytes) || !bytes.Equal(entries[2].content, pngBytes) {
		t.Error("attachment bytes in the ZIP container differ from the ones sent")
	}

	// The XML is exactly what the mapper builds for the submission it saw.
	seen := rec.submissions()
	if len(seen) != 1 {
		t.Fatalf("mapper validated %d submissions, want 1", len(seen))
	}
	s := seen[0]
	s.ID, s.ReceivedAt = id, testNow
	tenant, _ := e.cfg.Tenant(demoTenant)
	want, err := envelope.New().Map(transform.Input{
		Submission: s, MessageID: m.ID,
		Author: transform.Party{ID: tenant.ID, Name: tenant.Name, Kennung: tenant.Behoerdenkennung, AGS: tenant.AGS},
		Reader: transform.Party{ID: "fachverfahren", Kennung: tenant.Procedures[0].Destinations[0].Reader,
			Name: tenant.Name, AGS: tenant.AGS},
		Product: testProduct, CreatedAt: testNow,
	})
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if !bytes.Equal(entries[0].content, want.XML) {
		t.Errorf("XML in the ZIP container differs from the mapper's:\n got: %s\nwant: %s", entries[0].content, want.XML)
	}
}

func TestAttachmentsReachTheMapper(t *testing.T) {
	t.Parallel()
	rec := &submissionRecorder{Mapper: envelope.New()}
	e := newEnv(t, withRecorder(t, rec))
	atts := validAttachments()
	atts[0].(map[string]any)["mime_type"] = "Application/PDF" // case-insensitive, stored lower-case
	accepted(t, e.submit(t, demoKey, withAttachments(t, atts)))

	seen := rec.submissions()
	if len(seen) != 1 {
		t.Fatalf("mapper validated %d submissions, want 1", len(seen))
	}
	want := []transform.Attachment{
		{ID: pdfID, FileName: "Antrag.pdf", MIMEType: "application/pdf", Size: int64(len(pdfBytes))},
		{ID: pngID, FileName: "Grundriss Erdgeschoß.png", MIMEType: "image/png", Size: int64(len(pngBytes))},
	}
	got := seen[0].Attachments
	if len(got) != len(want) {
		t.Fatalf("Submission.Attachments has %d entries, want %d", len(got), len(want))
	}
	// The mapper sees each attachment with its size and where its content
	// is stored (Ref, an outbox blob id).
	for i := range want {
		ref := got[i].Ref
		if got[i].Ref = ""; got[i] != want[i] || ref == "" {
			t.Errorf("attachment %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSubmitWithoutAttachmentsUnchanged(t *testing.T) {
	t.Parallel()
	for name, a := range map[string]any{"absent": nil, "null": "null", "empty": []any{}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			body := readDemo(t)
			switch a := a.(type) {
			case string:
				body = []byte(`{"attachments":null,` + string(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("{"))))
			case []any:
				body = withAttachments(t, a)
			}
			r := e.submit(t, demoKey, body)
			id := accepted(t, r)
			if want := `{"id":"` + id + `","status":"accepted"}` + "\n"; string(r.body) != want {
				t.Errorf("body = %s, want %s", r.body, want)
			}
			_, msgs, err := e.store.Submission(context.Background(), id)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("store.Submission = %d messages, %v; want 1", len(msgs), err)
			}
			m := msgs[0]
			if ct := m.Metadata[outbox.MetaContentType]; ct != "application/xml" {
				t.Errorf("content_type = %q, want application/xml", ct)
			}
			if v, ok := m.Metadata[outbox.MetaAttachments]; ok {
				t.Errorf("metadata attachments = %q, want none", v)
			}
			if !bytes.HasPrefix(m.Payload, []byte("<?xml")) {
				t.Errorf("payload starts with %q, want the XML document", m.Payload[:min(len(m.Payload), 10)])
			}
		})
	}
}

// An xdomea destination gets the attachments in its own container (the
// xdomea package's layout), an xoev one in the anlagen/ layout.
func TestAttachmentsTravelToEveryDestination(t *testing.T) {
	t.Parallel()
	const gewerbe = "gewerbe.anmeldung" // config.Demo: fachverfahren (xoev) and eakte (xdomea)
	e := newEnv(t, withRecorder(t, &submissionRecorder{Mapper: envelope.New()}, gewerbe))
	body := withAttachments(t, validAttachments())
	body = bytes.Replace(body, []byte(`"procedure":"`+demoProcedure+`"`), []byte(`"procedure":"`+gewerbe+`"`), 1)
	id := accepted(t, e.submit(t, otherKey, body))

	_, msgs, err := e.store.Submission(context.Background(), id)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("store.Submission = %d messages, %v; want 2", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Metadata[outbox.MetaContentType] != "application/zip" || m.Metadata[outbox.MetaAttachments] != "2" {
			t.Errorf("%s: content_type %q, attachments %q; want application/zip, 2",
				m.Metadata[outbox.MetaDestination], m.Metadata[outbox.MetaContentType], m.Metadata[outbox.MetaAttachments])
		}
		entries := unzip(t, e.assemble(t, m))
		var want []string
		switch m.Metadata[outbox.MetaDestination] {
		case "fachverfahren":
			want = []string{m.ID + ".xml", "anlagen/" + pdfID + "/Antrag.pdf", "anlagen/" + pngID + "/Grundriss Erdgeschoß.png"}
		case "eakte":
			want = []string{m.ID + "_" + xdomea.Nachricht + ".xml", m.ID + ".xml",
				pdfID + "_Antrag.pdf", pngID + "_Grundriss Erdgeschoß.png"}
		default:
			t.Fatalf("unexpected destination %q", m.Metadata[outbox.MetaDestination])
		}
		if got := entryNames(entries); !slices.Equal(got, want) {
			t.Fatalf("%s: ZIP entries = %q, want %q", m.Metadata[outbox.MetaDestination], got, want)
		}
		if n := len(entries); !bytes.Equal(entries[n-2].content, pdfBytes) || !bytes.Equal(entries[n-1].content, pngBytes) {
			t.Errorf("%s: attachment bytes differ from the ones sent", m.Metadata[outbox.MetaDestination])
		}
	}
}

func TestAttachmentsIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := withAttachments(t, validAttachments())
	id := accepted(t, e.submit(t, demoKey, body, "Idempotency-Key", "k1"))
	r := e.submit(t, demoKey, body, "Idempotency-Key", "k1")
	if got := accepted(t, r); got != id || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry = %s, replayed %q; want %s, true", got, r.header.Get("Idempotent-Replayed"), id)
	}
	other := validAttachments()
	other[1] = attachment(pngID, "Grundriss Erdgeschoß.png", "image/png", append(slices.Clone(pngBytes), 0))
	problemOf(t, e.submit(t, demoKey, withAttachments(t, other), "Idempotency-Key", "k1"),
		http.StatusUnprocessableEntity, portalapi.ProblemIdempotencyConflict)
}

// wantError is the one problem expected of an invalid request.
type wantError struct {
	pointer, code string
}

// checkRejected checks that r is a problem with exactly the error want,
// whose details in English and German quote none of secrets, and that
// nothing was stored.
func checkRejected(t *testing.T, e *env, r response, want wantError, secrets ...string) {
	t.Helper()
	if r.status < 400 || r.status > 499 {
		t.Fatalf("status = %d, want 4xx; body: %.500s", r.status, r.body)
	}
	p := problemOf(t, r, http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
	if len(p.Errors) != 1 || p.Errors[0].Pointer != want.pointer || p.Errors[0].Code != want.code {
		t.Errorf("errors = %+v, want exactly %s %s", p.Errors, want.pointer, want.code)
	}
	for _, pe := range p.Errors {
		if !strings.HasPrefix(pe.Pointer, "/attachments") || pe.Detail == "" {
			t.Errorf("error %+v: want a pointer under /attachments and a detail", pe)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(pe.Detail, s) {
				t.Errorf("error %+v quotes a value of the request", pe)
			}
		}
	}
	e.assertNothingStored(t)
}

func TestAttachmentsInvalid(t *testing.T) {
	t.Parallel()
	a := func(mutate func(m map[string]any)) []any {
		atts := validAttachments()
		mutate(atts[1].(map[string]any))
		return atts
	}
	tests := []struct {
		name        string
		attachments any
		want        wantError
		secret      string // a value that no message may quote
	}{
		{"traversal", a(func(m map[string]any) { m["filename"] = "../../etc/passwd" }), wantError{"/attachments/1/filename", "invalid_filename"}, "passwd"},
		{"backslash", a(func(m map[string]any) { m["filename"] = `plaene\grundriss.png` }), wantError{"/attachments/1/filename", "invalid_filename"}, "plaene"},
		{"colon", a(func(m map[string]any) { m["filename"] = "grundriss.png:versteckt" }), wantError{"/attachments/1/filename", "invalid_filename"}, "versteckt"},
		{"dot", a(func(m map[string]any) { m["filename"] = "." }), wantError{"/attachments/1/filename", "invalid_filename"}, ""},
		{"leading dot", a(func(m map[string]any) { m["filename"] = ".grundriss.png" }), wantError{"/attachments/1/filename", "invalid_filename"}, "grundriss"},
		{"tab", a(func(m map[string]any) { m["filename"] = "grund\triss.png" }), wantError{"/attachments/1/filename", "control_character"}, "grund"},
		{"DEL", a(func(m map[string]any) { m["filename"] = "grund\x7friss.png" }), wantError{"/attachments/1/filename", "control_character"}, "grund"},
		{"255 bytes", a(func(m map[string]any) { m["filename"] = strings.Repeat("ä", 126) + ".png" }), wantError{"/attachments/1/filename", "too_long"}, "ää"},
		{"NFD", a(func(m map[string]any) { m["filename"] = "Gru\u0308ndriss.png" }), wantError{"/attachments/1/filename", "invalid_filename"}, "ndriss"},
		{"Greek", a(func(m map[string]any) { m["filename"] = "Σχέδιο.png" }), wantError{"/attachments/1/filename", "unsupported_character"}, "Σχέδιο"},
		{"mime type not allowed", a(func(m map[string]any) { m["mime_type"] = "image/gif" }), wantError{"/attachments/1/mime_type", "enum"}, "gif"},
		{"mime type as number", a(func(m map[string]any) { m["mime_type"] = 7 }), wantError{"/attachments/1/mime_type", "type"}, ""},
		{"id null", a(func(m map[string]any) { m["id"] = nil }), wantError{"/attachments/1/id", "required"}, ""},
		{"id with braces", a(func(m map[string]any) { m["id"] = "{" + pngID + "}" }), wantError{"/attachments/1/id", "format"}, pngID},
		{"id duplicate of the first", a(func(m map[string]any) { m["id"] = pdfID }), wantError{"/attachments/1/id", "duplicate_id"}, pdfID},
		{"content PDF as PNG", a(func(m map[string]any) { m["content"] = base64.StdEncoding.EncodeToString(pdfBytes) }), wantError{"/attachments/1/content", "content_mismatch"}, ""},
		{"content truncated PNG signature", a(func(m map[string]any) { m["content"] = base64.StdEncoding.EncodeToString(pngBytes[:7]) }), wantError{"/attachments/1/content", "content_mismatch"}, ""},
		// len(pngBytes) is a multiple of 3: the last bytes encode as "----".
		{"content raw URL base64", a(func(m map[string]any) {
			m["content"] = base64.RawURLEncoding.EncodeToString(append(slices.Clone(pngBytes), 0xfb, 0xef, 0xbe))
		}), wantError{"/attachments/1/content", "format"}, ""},
		{"content CRLF", a(func(m map[string]any) { m["content"] = "iVBO\r\nRw0K" }), wantError{"/attachments/1/content", "format"}, "iVBO"},
		{"content only padding", a(func(m map[string]any) { m["content"] = "====" }), wantError{"/attachments/1/content", "format"}, ""},
		{"content object", a(func(m map[string]any) { m["content"] = map[string]any{} }), wantError{"/attachments/1/content", "type"}, ""},
		{"member with slash", a(func(m map[string]any) { m["a/b"] = 1 }), wantError{"/attachments/1/a~1b", "unknown_field"}, ""},
		{"attachment null", []any{nil}, wantError{"/attachments/0", "type"}, ""},
		{"attachments number", 3, wantError{"/attachments", "type"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			r := e.submit(t, demoKey, withAttachments(t, tt.attachments))
			checkRejected(t, e, r, tt.want, tt.secret)
		})
	}
}

func TestAttachmentErrorsInGerman(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	atts := validAttachments()
	atts[0].(map[string]any)["filename"] = "../antrag.pdf"
	r := e.submit(t, demoKey, withAttachments(t, atts), "Accept-Language", "de-DE")
	p := problemIn(t, r, http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed, "de")
	if len(p.Errors) != 1 || p.Errors[0].Pointer != "/attachments/0/filename" ||
		p.Errors[0].Detail != "filename muss ein Name ohne Pfad sein: kein / oder \\" {
		t.Errorf("errors = %+v, want the German detail of /attachments/0/filename", p.Errors)
	}
}

func TestAttachmentLimitsOfTheProcedure(t *testing.T) {
	t.Parallel()
	limits := config.AttachmentLimits{MaxCount: 2, MaxBytes: 1000, MIMETypes: []string{"application/pdf", "Text/Plain"}}
	pdfOf := func(n int) []byte { return append([]byte("%PDF-"), bytes.Repeat([]byte{'x'}, n-5)...) }
	tests := []struct {
		name        string
		limits      config.AttachmentLimits
		attachments []any
		want        *wantError // nil: accepted
	}{
		{"max bytes exactly", limits, []any{attachment(pdfID, "a.pdf", "application/pdf", pdfOf(1000))}, nil},
		{"max bytes plus one", limits, []any{attachment(pdfID, "a.pdf", "application/pdf", pdfOf(1001))},
			&wantError{"/attachments/0/content", "too_long"}},
		{"max bytes plus 1000", limits, []any{attachment(pdfID, "a.pdf", "application/pdf", pdfOf(2000))},
			&wantError{"/attachments/0/content", "too_long"}},
		{"max count", limits, []any{
			attachment(pdfID, "a.pdf", "application/pdf", pdfBytes), attachment(pngID, "b.pdf", "application/pdf", pdfBytes),
		}, nil},
		{"max count plus one", limits, []any{
			attachment(pdfID, "a.pdf", "application/pdf", pdfBytes), attachment(pngID, "b.pdf", "application/pdf", pdfBytes),
			attachment("00000000-0000-4000-8000-000000000000", "c.pdf", "application/pdf", pdfBytes),
		}, &wantError{"/attachments", "too_long"}},
		{"type of the procedure, not sniffed", limits, []any{attachment(pdfID, "liesmich.txt", "text/plain", []byte("Hallo"))}, nil},
		{"default type not allowed", limits, []any{attachment(pngID, "b.png", "image/png", pngBytes)},
			&wantError{"/attachments/0/mime_type", "enum"}},
		{"zero limits mean the defaults", config.AttachmentLimits{}, []any{attachment(pngID, "b.png", "image/png", pngBytes)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withLimits(tt.limits))
			r := e.submit(t, demoKey, withAttachments(t, tt.attachments))
			if tt.want != nil {
				checkRejected(t, e, r, *tt.want)
				return
			}
			id := accepted(t, r)
			_, msgs, err := e.store.Submission(context.Background(), id)
			if err != nil || len(msgs) != 1 || msgs[0].Metadata[outbox.MetaAttachments] != fmt.Sprint(len(tt.attachments)) {
				t.Fatalf("store.Submission = %d messages, %v; want 1 with %d attachments", len(msgs), err, len(tt.attachments))
			}
		})
	}
}

// hostileAttachments is the expected problem of each request body in
// testdata/hostile/attachments, by file name; every file there must have an
// entry and every entry a file.
var hostileAttachments = map[string]wantError{
	"21-attachments.json":                   {"/attachments", "too_long"},
	"attachment-as-string.json":             {"/attachments/0", "type"},
	"attachments-as-object.json":            {"/attachments", "type"},
	"attachments-as-string.json":            {"/attachments", "type"},
	"content-as-number.json":                {"/attachments/0/content", "type"},
	"content-base64-with-newlines.json":     {"/attachments/0/content", "format"},
	"content-base64-with-spaces.json":       {"/attachments/0/content", "format"},
	"content-missing-padding.json":          {"/attachments/0/content", "format"},
	"content-missing.json":                  {"/attachments/0/content", "required"},
	"content-nonzero-trailing-bits.json":    {"/attachments/0/content", "format"},
	"content-not-base64.json":               {"/attachments/0/content", "format"},
	"content-url-safe-base64.json":          {"/attachments/0/content", "format"},
	"content-zero-bytes.json":               {"/attachments/0/content", "too_short"},
	"cyrillic-filename.json":                {"/attachments/0/filename", "unsupported_character"},
	"dot-dot-filename.json":                 {"/attachments/0/filename", "invalid_filename"},
	"duplicate-ids.json":                    {"/attachments/1/id", "duplicate_id"},
	"emoji-filename.json":                   {"/attachments/0/filename", "unsupported_character"},
	"filename-300-bytes.json":               {"/attachments/0/filename", "too_long"},
	"filename-as-array.json":                {"/attachments/0/filename", "type"},
	"filename-empty.json":                   {"/attachments/0/filename", "required"},
	"filename-not-nfc.json":                 {"/attachments/0/filename", "invalid_filename"},
	"id-missing.json":                       {"/attachments/0/id", "required"},
	"jpeg-declared-html-bytes.json":         {"/attachments/0/content", "content_mismatch"},
	"leading-dot-filename.json":             {"/attachments/0/filename", "invalid_filename"},
	"mime-type-missing.json":                {"/attachments/0/mime_type", "required"},
	"mime-type-with-parameter.json":         {"/attachments/0/mime_type", "enum"},
	"newline-in-filename.json":              {"/attachments/0/filename", "control_character"},
	"non-uuid-id.json":                      {"/attachments/0/id", "format"},
	"nul-in-filename.json":                  {"/attachments/0/filename", "control_character"},
	"path-traversal.json":                   {"/attachments/0/filename", "invalid_filename"},
	"pdf-declared-png-bytes.json":           {"/attachments/0/content", "content_mismatch"},
	"png-declared-pdf-bytes.json":           {"/attachments/0/content", "content_mismatch"},
	"tiff-declared-text-bytes.json":         {"/attachments/0/content", "content_mismatch"},
	"unknown-member.json":                   {"/attachments/0/path", "unknown_field"},
	"uppercase-uuid-id.json":                {"/attachments/0/id", "format"},
	"uuid-without-hyphens.json":             {"/attachments/0/id", "format"},
	"windows-alternate-data-stream.json":    {"/attachments/0/filename", "invalid_filename"},
	"windows-drive-backslash.json":          {"/attachments/0/filename", "invalid_filename"},
	"wrong-mime-type.json":                  {"/attachments/0/mime_type", "enum"},
	"generated: content of 6 MiB":           {"/attachments/0/content", "too_long"},
	"generated: base64 string of 20 MiB":    {"/attachments/0/content", "too_long"},
	"generated: second attachment of 6 MiB": {"/attachments/1/content", "too_long"},
}

// TestHostileAttachments sends every body of testdata/hostile/attachments,
// and large ones generated here, with a body limit high enough that the
// attachment checks, not the limit, reject them.
func TestHostileAttachments(t *testing.T) {
	t.Parallel()
	bodies := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join(hostileAttachmentsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("%s has %d request bodies, want at least 25", hostileAttachmentsDir, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[filepath.Base(f)] = b
	}
	// Too large to commit: the default limit is 5 MiB of content.
	sixMiB := append([]byte("%PDF-"), bytes.Repeat([]byte{0}, 6<<20)...)
	bodies["generated: content of 6 MiB"] = withAttachments(t, []any{attachment(pdfID, "gross.pdf", "application/pdf", sixMiB)})
	bodies["generated: second attachment of 6 MiB"] = withAttachments(t, []any{
		attachment(pngID, "klein.png", "image/png", pngBytes), attachment(pdfID, "gross.pdf", "application/pdf", sixMiB)})
	// 20 MiB of valid base64 characters, rejected by length before decoding.
	huge := map[string]any{"id": pdfID, "filename": "riesig.pdf", "mime_type": "application/pdf",
		"content": strings.Repeat("JVBE", 5<<20)}
	bodies["generated: base64 string of 20 MiB"] = withAttachments(t, []any{huge})

	for name := range hostileAttachments {
		if bodies[name] == nil {
			t.Errorf("no request body %s", name)
		}
	}
	const maxBody = 32 << 20
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, ok := hostileAttachments[name]
			if !ok {
				t.Fatalf("no expected problem for %s in hostileAttachments", name)
			}
			e := newEnv(t, func(c *envConfig) {
				c.MaxBodyBytes = maxBody
				c.Config.Server.MaxBodyBytes = maxBody
			})
			checkRejected(t, e, e.submit(t, demoKey, body), want)
		})
	}
}
