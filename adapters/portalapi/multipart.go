package portalapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// PartSubmission is the form name of the first part of a multipart
// submission: the JSON object of the submission, with attachments
// described but without their content. Each attachment's content follows
// as a part whose form name is the attachment's id.
const PartSubmission = "submission"

// Media types of the submission endpoint.
const (
	mediaTypeJSON      = "application/json"
	mediaTypeMultipart = "multipart/form-data"
)

// budgetStep is the unit in which a multipart request reserves room in the
// in-flight budget for its submission part, and the upload progress that
// extends its read deadline.
const budgetStep = 64 << 10

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// multipartRequest reads a multipart/form-data submission part by part.
type multipartRequest struct {
	mr       *multipart.Reader
	deadline *bodyDeadline
	res      *reservation // the request's share of the body budget
}

// openMultipart starts reading r's multipart body with boundary, reserving
// memory in res: the upload is bounded by its progress (UploadIdleTimeout)
// and the minimum rate, not by the server's read timeout.
func (h *Handler) openMultipart(w http.ResponseWriter, r *http.Request, boundary string, res *reservation,
	began time.Time) *multipartRequest {
	d := newBodyDeadline(w, bodyDeadline{start: began, grace: h.rateGrace, rate: h.minRate, idle: h.uploadIdle, write: h.writeTimeout})
	return &multipartRequest{mr: multipart.NewReader(d.reader(r.Body), boundary), deadline: d, res: res}
}

// readSubmission reads the first part, which must be the submission JSON
// of at most h.maxBody bytes, reserving room for it in the request's
// reservation as it grows; it is released with the reservation.
func (h *Handler) readSubmission(ctx context.Context, m *multipartRequest) (body []byte, err error) {
	part, err := m.mr.NextPart()
	if err != nil {
		return nil, multipartProblem(err)
	}
	defer part.Close()
	if part.FormName() != PartSubmission {
		return nil, errMalformed(text("the first part must be the form field %q with the submission JSON",
			"der erste Teil muss das Formularfeld %q mit dem JSON des Antrags sein", PartSubmission))
	}
	if ct := part.Header.Get("Content-Type"); ct != "" {
		if err := checkJSONType(ct); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	for {
		if err := m.res.grow(ctx, budgetStep); err != nil {
			return nil, err
		}
		_, err := io.CopyN(&buf, part, budgetStep)
		if int64(buf.Len()) > h.maxBody {
			return nil, errTooLarge(h.maxBody)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if tooSlow(err) {
				return nil, errTooSlow()
			}
			return nil, errMalformed(text("the submission part could not be read: %s",
				"der Teil mit dem Antrag konnte nicht gelesen werden: %s", partError(err)))
		}
	}
	m.res.shrink(m.res.held - roundUp(int64(buf.Len()), budgetStep))
	return buf.Bytes(), nil
}

// multipartProblem is the problem answering a failure to read the next
// part of a multipart body.
func multipartProblem(err error) error {
	if tooSlow(err) {
		return errTooSlow()
	}
	return errMalformed(text("the multipart body could not be read: %s",
		"der multipart-Inhalt konnte nicht gelesen werden: %s", partError(err)))
}

// partError describes a multipart reading error without quoting data.
func partError(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "it ends without its closing boundary"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends in the middle of a part"
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return "it is too large"
	}
	return "malformed multipart data"
}

// stageParts streams the attachment parts that follow the submission part
// into staged blobs through staged, which checks each as it arrives (its
// size and signature, intake's rules) and sets its Size and Ref: a part's
// form name must be the id of a declared attachment not sent yet. A
// problem with the parts is returned as field errors (the first problem of
// the upload, or every attachment missing at the end), a failure to store
// as err.
func (h *Handler) stageParts(ctx context.Context, m *multipartRequest, attachments []transform.Attachment,
	staged *intake.Stager) ([]transform.FieldError, error) {
	index := make(map[string]int, len(attachments))
	for i, a := range attachments {
		index[a.ID] = i
	}
	// One chunk of each upload is in memory at a time; it counts against
	// the in-flight budget like a body.
	if err := m.res.grow(ctx, outbox.BlobChunkSize); err != nil {
		return nil, err
	}
	defer m.res.shrink(outbox.BlobChunkSize)
	seen := make([]bool, len(attachments))
	for {
		part, err := m.mr.NextPart()
		if err == io.EOF { //nolint:errorlint // only the bare io.EOF is the final boundary; a wrapped one is a truncated body
			break
		}
		if err != nil {
			return nil, multipartProblem(err)
		}
		fes, err := stagePart(ctx, part, index, seen, staged)
		part.Close()
		if fes != nil || err != nil {
			return fes, err
		}
	}
	var missing []transform.FieldError
	for i, ok := range seen {
		if !ok {
			missing = append(missing, attachmentError(intake.AttachmentPointer(i), memberContent, transform.CodeRequired,
				text("no part named %s carries the content of this attachment",
					"kein Teil mit dem Namen %s enthält den Inhalt dieser Anlage", attachments[i].ID)))
		}
	}
	return missing, nil
}

// stagePart stages one attachment part.
func stagePart(ctx context.Context, part *multipart.Part, index map[string]int, seen []bool,
	staged *intake.Stager) ([]transform.FieldError, error) {
	name := part.FormName()
	i, declared := index[name]
	switch {
	case name == PartSubmission:
		return []transform.FieldError{{Pointer: "", Code: CodeDuplicatePart,
			Message:   "the part " + PartSubmission + " is sent twice",
			MessageDE: "der Teil " + PartSubmission + " wird zweimal gesendet"}}, nil
	case !declared:
		return []transform.FieldError{{Pointer: "/" + memberAttachments, Code: CodeUnknownPart,
			Message:   fmt.Sprintf("a part is named %.64q, which is the id of no attachment in the submission", name),
			MessageDE: fmt.Sprintf("ein Teil heißt %.64q; das ist die id keiner Anlage des Antrags", name)}}, nil
	case seen[i]:
		return []transform.FieldError{attachmentError(intake.AttachmentPointer(i), memberContent, CodeDuplicatePart,
			localized{"the content of this attachment is sent in two parts",
				"der Inhalt dieser Anlage wird in zwei Teilen gesendet"})}, nil
	}
	seen[i] = true
	if cte := strings.ToLower(part.Header.Get("Content-Transfer-Encoding")); cte != "" && cte != "binary" && cte != "8bit" && cte != "7bit" {
		return []transform.FieldError{attachmentError(intake.AttachmentPointer(i), memberContent, transform.CodeFormat,
			localized{"send the content as it is (binary), without a Content-Transfer-Encoding",
				"den Inhalt unverändert (binär) senden, ohne Content-Transfer-Encoding"})}, nil
	}
	err := staged.Stage(ctx, i, part)
	if v, ok := errors.AsType[*intake.ValidationError](err); ok {
		return v.Errors, nil // too large, empty, or not its media type
	}
	switch {
	case errors.Is(err, outbox.ErrBlobSource) && tooSlow(err):
		return nil, errTooSlow()
	case errors.Is(err, outbox.ErrBlobSource):
		return nil, errMalformed(text("the multipart body could not be read: %s",
			"der multipart-Inhalt konnte nicht gelesen werden: %s", partError(err)))
	case err != nil:
		return nil, errUnavailable(text("the attachment could not be stored; retry later",
			"die Anlage konnte nicht gespeichert werden; bitte später erneut versuchen"), err)
	}
	return nil, nil
}

// checkJSONType accepts application/json, with no charset or UTF-8.
func checkJSONType(v string) error {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt != mediaTypeJSON {
		return errUnsupportedMediaType(errNotJSON)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errUnsupportedMediaType(text("the request body must be UTF-8 (charset=utf-8)",
			"der Inhalt der Anfrage muss UTF-8 sein (charset=utf-8)"))
	}
	return nil
}
