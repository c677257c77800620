package portalapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/transform"
)

// The answers of the authority on the portal listener: POST /v1/answers,
// where a destination's Fachverfahren or DMS sends them (authenticated by
// the destination's answers key, not a portal's), and what portals see of
// them: the answers timeline of GET /v1/submissions/{id} and the download
// of a Bescheid's documents. They live beside the portal API because they
// share its listener, its problem responses, its key and mTLS checks and
// its body limits; the use case itself is intake's AnswerService.

// Routes of answers.
const (
	RouteAnswers        = "POST /v1/answers"
	RouteAnswerDocument = "GET /v1/submissions/{id}/answers/{answer}/documents/{index}"
)

// Problem types of POST /v1/answers.
const (
	ProblemInvalidAnswer  = ProblemTypePrefix + "invalid-answer"  // 422: not an acceptable answer; errors locate the problem
	ProblemAnswerConflict = ProblemTypePrefix + "answer-conflict" // 409: the answer's message id was received before with another body
)

// CodeInvalidAnswer is the code of the errors of ProblemInvalidAnswer; its
// pointer is an element path (XML), a JSON pointer (JSON) or "" (the body).
const CodeInvalidAnswer = "invalid_answer"

func init() {
	problemTitles[ProblemInvalidAnswer] = localized{"Invalid answer", "Ungültige Antwort"}
	problemTitles[ProblemAnswerConflict] = localized{"Answer conflict", "Antwortkonflikt"}
}

// AnswerReceiver receives the answers of POST /v1/answers;
// intake.AnswerService implements it.
type AnswerReceiver interface {
	Receive(ctx context.Context, src intake.AnswerSource, body []byte, contentType string) (intake.AnswerReceipt, error)
}

// AnswerStore is what the answers timeline and the document download read;
// an optional capability of Config.Store (outbox.Store has it).
type AnswerStore interface {
	SubmissionAnswers(ctx context.Context, submissionID string) ([]outbox.Answer, error)
	outbox.Blobs
}

// AnswerReceiptResponse is the body of the answer to POST /v1/answers:
// 202 for a new answer, 200 for one received before (nothing changed).
type AnswerReceiptResponse struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	// Matched: the answer refers to a submission of the destination's
	// tenant, SubmissionID; otherwise an operator assigns or discards it.
	Matched      bool   `json:"matched"`
	SubmissionID string `json:"submission_id,omitempty"`
}

// States of an answer in the answers timeline: the vocabulary portals see,
// one per kind of answer (docs/api.md).
const (
	AnswerStateReceived     = "received_by_authority" // the authority received the application (XBau 1120)
	AnswerStateCaseNumber   = "case_number_assigned"  // it has an Aktenzeichen (XBau 1121)
	AnswerStateIncomplete   = "incomplete"            // documents are missing or faulty, see findings (XBau 0201)
	AnswerStateComplete     = "complete"              // the formelle Prüfung found it complete (XBau 0201)
	AnswerStateDecided      = "decided"               // decided, see decision and documents (XBau 0205)
	AnswerStateRejected     = "rejected"              // not processed, see decision (JSON answer)
	AnswerStateDMSReceived  = "received_by_dms"       // the DMS received the filing message (xdomea 0629)
	AnswerStateFiled        = "filed"                 // filed in the E-Akte, see dms_id (xdomea 0630)
	AnswerStateFilingFailed = "filing_failed"         // the DMS could not import it, see findings (xdomea 0630)
)

// answerStates maps the statuses of stored answers to the API's vocabulary.
var answerStates = map[string]string{
	"received": AnswerStateReceived, "case_number": AnswerStateCaseNumber, "incomplete": AnswerStateIncomplete,
	"complete": AnswerStateComplete, "decided": AnswerStateDecided, "rejected": AnswerStateRejected,
	"dms_received": AnswerStateDMSReceived, "filed": AnswerStateFiled, "filing_failed": AnswerStateFilingFailed,
}

// AnswerState is the API's state of an answer status ("" when unknown).
func AnswerState(status string) string { return answerStates[status] }

// submissionAnswerStates are the answer states that become the
// submission's status; the DMS's answers concern the E-Akte only.
var submissionAnswerStates = map[string]bool{
	AnswerStateReceived: true, AnswerStateCaseNumber: true, AnswerStateIncomplete: true,
	AnswerStateComplete: true, AnswerStateDecided: true, AnswerStateRejected: true,
}

// AnswerStatus is one entry of a submission's answers timeline.
type AnswerStatus struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Source      string    `json:"source"`       // the destination that answered
	MessageType string    `json:"message_type"` // e.g. prozessnachrichten.aktenzeichen.1121
	ReceivedAt  time.Time `json:"received_at"`
	intake.AnswerDetail
	Documents []AnswerDocument `json:"documents,omitempty"`
}

// AnswerDocument is a document an answer names; Download is set when its
// file is stored and can be fetched.
type AnswerDocument struct {
	intake.AnswerDoc
	Download string `json:"download,omitempty"`
}

// receiveAnswer handles RouteAnswers.
func (h *Handler) receiveAnswer(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := h.authenticateAnswers(r)
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	if !answerMediaType(ct) {
		return errUnsupportedMediaType(text("an answer is application/xml, application/json or application/zip",
			"eine Antwort ist application/xml, application/json oder application/zip"))
	}
	// A destination's answers share the body budget as a portal does.
	res, err := h.shares.begin(ctx, "answers:"+b.Tenant+"/"+b.Destination)
	if err != nil {
		return err
	}
	defer res.done()
	body, err := h.readBody(w, r, res, time.Now(), b.Answers.MaxBytes)
	if err != nil {
		return err
	}
	// The body is here: the rest is database work, bounded as a submission's.
	ctx, cancel := context.WithTimeout(ctx, h.dbTimeout)
	defer cancel()
	rc, err := h.answers.Receive(ctx, intake.AnswerSource{Tenant: b.Tenant, Procedure: b.Procedure,
		Destination: b.Destination, Channel: intake.AnswerChannelHTTP}, body, ct)
	if aerr, ok := errors.AsType[*intake.AnswerError](err); ok {
		return &problemError{typ: ProblemInvalidAnswer, status: http.StatusUnprocessableEntity,
			detail: text("the body is not an acceptable answer: %s", "der Inhalt ist keine gültige Antwort: %s", aerr.Reason),
			errors: []transform.FieldError{{Pointer: aerr.Path, Code: CodeInvalidAnswer, Message: aerr.Reason}}}
	}
	switch {
	case errors.Is(err, intake.ErrAnswerConflict):
		return &problemError{typ: ProblemAnswerConflict, status: http.StatusConflict,
			detail: text("an answer with this message id was received before with a different body; the conflict is recorded",
				"eine Antwort mit dieser Nachrichten-ID wurde bereits mit anderem Inhalt empfangen; der Konflikt ist protokolliert")}
	case errors.Is(err, intake.ErrUnavailable):
		return errUnavailable(text("the answer could not be stored; retry later",
			"die Antwort konnte nicht gespeichert werden; bitte später erneut versuchen"), err)
	case err != nil:
		return errInternal(err)
	}
	infoOf(ctx).submission = rc.SubmissionID
	status := http.StatusAccepted
	if rc.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, "application/json", AnswerReceiptResponse{ID: rc.ID, Duplicate: rc.Duplicate,
		Matched: rc.Matched, SubmissionID: rc.SubmissionID})
	return nil
}

// answerMediaType reports whether ct is a media type an answer may have
// (or none, to detect it).
func answerMediaType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch {
	case mt == "application/xml", mt == "text/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/zip", mt == "application/octet-stream":
		return true
	}
	return false
}

// authenticateAnswers returns the destination of the request's bearer
// key (its answers key_hash), with the checks of authenticate: the
// client's failure limit, the key compared in constant time, the client
// certificate where the destination requires one.
func (h *Handler) authenticateAnswers(r *http.Request) (config.AnswerBinding, error) {
	now := h.now()
	client := clientAddr(r.RemoteAddr)
	if wait, blocked := h.failures.blocked(client, now); blocked {
		return config.AnswerBinding{}, errTooManyRequests(wait)
	}
	values := r.Header.Values("Authorization")
	scheme, key, ok := "", "", false
	if len(values) == 1 {
		scheme, key, ok = strings.Cut(values[0], " ")
		key = strings.TrimLeft(key, " ")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return config.AnswerBinding{}, h.authFailed(r, client, now, "missing_key", "", errUnauthorized(errKeyRequired))
	}
	b, found := h.portals.Load().cfg.AnswerBindingByKey(key)
	if !found {
		return config.AnswerBinding{}, h.authFailed(r, client, now, "unknown_key", "",
			errUnauthorized(text("the API key is not valid", "der API-Schlüssel ist ungültig")))
	}
	if c := b.Answers.ClientCert; c != nil && !clientCertMatches(r, c) {
		return config.AnswerBinding{}, h.authFailed(r, client, now, "client_certificate", "",
			errUnauthorized(text("this API key requires the destination's TLS client certificate",
				"dieser API-Schlüssel erfordert das TLS-Client-Zertifikat des Ziels")))
	}
	info := infoOf(r.Context())
	info.tenant, info.procedure = b.Tenant, b.Procedure
	return b, nil
}

// answerTimeline returns the answers of a submission for its status.
func (h *Handler) answerTimeline(ctx context.Context, sub outbox.Submission) ([]AnswerStatus, error) {
	if h.answerStore == nil {
		return []AnswerStatus{}, nil
	}
	list, err := h.answerStore.SubmissionAnswers(ctx, sub.ID)
	if err != nil {
		return nil, err
	}
	out := make([]AnswerStatus, 0, len(list))
	for _, a := range list {
		d, err := intake.ParseAnswerDetail(a.Detail)
		if err != nil {
			h.log.ErrorContext(ctx, "answer detail unreadable; shown without it", slog.String("answer_id", a.ID), slog.Any("error", err))
		}
		st := AnswerStatus{ID: a.ID, State: AnswerState(a.Status), Source: sourceDestination(a.Source),
			MessageType: a.MessageType, ReceivedAt: utc(a.ReceivedAt), AnswerDetail: d}
		stored := map[int]bool{}
		if a.PurgedAt.IsZero() {
			for _, att := range a.Attachments {
				stored[att.Index] = true
			}
		}
		for _, doc := range d.Documents {
			ad := AnswerDocument{AnswerDoc: doc}
			ad.Stored = stored[doc.Index]
			if ad.Stored {
				ad.Download = "/v1/submissions/" + sub.ID + "/answers/" + a.ID + "/documents/" + strconv.Itoa(doc.Index)
			}
			st.Documents = append(st.Documents, ad)
		}
		st.AnswerDetail.Documents = nil
		out = append(out, st)
	}
	return out, nil
}

// sourceDestination is the destination id of an answer's source
// ("<procedure>/<destination>").
func sourceDestination(source string) string {
	if i := strings.LastIndexByte(source, '/'); i >= 0 {
		return source[i+1:]
	}
	return source
}

// answerStatus is the submission's status after its answers: the state of
// its latest answer from the Fachverfahren, a decision or rejection
// standing once given; status when there is none.
func answerStatus(status string, answers []AnswerStatus) string {
	if status == StatusFailed {
		return status
	}
	for _, a := range answers {
		if !submissionAnswerStates[a.State] {
			continue
		}
		if status == AnswerStateDecided || status == AnswerStateRejected {
			continue
		}
		status = a.State
	}
	return status
}

// answerDocument handles RouteAnswerDocument: a document of an answer to
// the portal's own submission; every other portal gets 404.
func (h *Handler) answerDocument(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	portal, err := h.authenticate(r)
	if err != nil {
		return err
	}
	sub, _, err := h.ownSubmission(r, portal)
	if err != nil {
		return err
	}
	notFound := errNotFound(text("no such document", "kein solches Dokument"))
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || h.answerStore == nil {
		return notFound
	}
	list, err := h.answerStore.SubmissionAnswers(ctx, sub.ID)
	if err != nil {
		return errUnavailable(errReadFailed, err)
	}
	var att *outbox.AnswerAttachment
	for _, a := range list {
		if a.ID != r.PathValue("answer") {
			continue
		}
		for i := range a.Attachments {
			if a.Attachments[i].Index == index {
				att = &a.Attachments[i]
			}
		}
	}
	if att == nil {
		return notFound
	}
	rd, err := outbox.OpenBlob(ctx, h.answerStore, att.BlobID)
	switch {
	case errors.Is(err, outbox.ErrNotFound):
		return notFound // removed by retention
	case err != nil:
		return errUnavailable(errReadFailed, err)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", att.MIMEType)
	hdr.Set("Content-Length", strconv.FormatInt(rd.Size(), 10))
	hdr.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": att.FileName}))
	if hdr.Get("Content-Disposition") == "" { // a name mime cannot encode
		hdr.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(att.FileName))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rd); err != nil {
		h.log.WarnContext(ctx, "answer document not sent whole", slog.String("submission_id", sub.ID),
			slog.String("blob_id", att.BlobID), slog.Any("error", err))
	}
	return nil
}

// maxAnswerBytes is the largest size limit of an answer over HTTP.
func maxAnswerBytes(c *config.Config) int64 {
	var n int64
	for _, b := range c.AnswerBindings() {
		if b.Answers.KeyHash.Value() != "" {
			n = max(n, b.Answers.MaxBytes)
		}
	}
	return n
}
