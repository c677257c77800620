package portalapi

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
)

// MultipartWriter writes a multipart/form-data submission the way the
// intake reads it: the part PartSubmission with the JSON first, then each
// attachment's content as the part named by its id. It streams: nothing
// is held beyond what w buffers. For portals written in Go, tests and the
// bench harness.
type MultipartWriter struct {
	mw *multipart.Writer
}

// NewMultipartWriter returns a MultipartWriter writing to w.
func NewMultipartWriter(w io.Writer) *MultipartWriter {
	return &MultipartWriter{mw: multipart.NewWriter(w)}
}

// ContentType is the Content-Type of the request, with its boundary.
func (m *MultipartWriter) ContentType() string { return m.mw.FormDataContentType() }

// WriteSubmission writes the submission JSON, whose attachments are
// described without content. Call it first, once.
func (m *MultipartWriter) WriteSubmission(submission []byte) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+PartSubmission+`"`)
	h.Set("Content-Type", mediaTypeJSON)
	w, err := m.mw.CreatePart(h)
	if err != nil {
		return fmt.Errorf("submission part: %w", err)
	}
	if _, err := w.Write(submission); err != nil {
		return fmt.Errorf("submission part: %w", err)
	}
	return nil
}

// WriteAttachment writes the content of the attachment with id, read from
// content to its end, as the part named id (filename is informative: the
// submission's filename counts). It returns the number of bytes written.
func (m *MultipartWriter) WriteAttachment(id, filename string, content io.Reader) (int64, error) {
	w, err := m.mw.CreateFormFile(id, filename)
	if err != nil {
		return 0, fmt.Errorf("attachment %s: %w", id, err)
	}
	n, err := io.Copy(w, content)
	if err != nil {
		return n, fmt.Errorf("attachment %s: %w", id, err)
	}
	return n, nil
}

// Close writes the closing boundary.
func (m *MultipartWriter) Close() error { return m.mw.Close() }
