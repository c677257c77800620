package portalapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/transform"
)

// Headers of the submission endpoint.
const (
	// HeaderIdempotencyKey optionally names a submission within the portal:
	// a retry with the same key and the same request is answered like the
	// original, without storing anything.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIdempotentReplayed is "true" on the answer to such a retry.
	HeaderIdempotentReplayed = "Idempotent-Replayed"
)

// MaxIdempotencyKeyLength is the longest Idempotency-Key accepted.
const MaxIdempotencyKeyLength = 255

// Submission states of AcceptedResponse and StatusResponse.
const (
	StatusAccepted  = "accepted"  // stored; not every destination has it yet
	StatusDelivered = "delivered" // every destination has it
	StatusFailed    = "failed"    // at least one destination's message is dead
)

// AcceptedResponse is the body of the 202 answer to a submission.
type AcceptedResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"` // always StatusAccepted
}

// submissionsPath is the collection; a submission is at submissionsPath/{id}.
const submissionsPath = "/v1/submissions"

// submit handles RouteSubmit.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	info := infoOf(ctx)
	portal, err := h.authenticate(r)
	if err != nil {
		return err
	}
	boundary, err := checkContentType(r.Header)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r.Header)
	if err != nil {
		return err
	}
	verified, err := h.verifyIdentityToken(ctx, r, portal)
	if err != nil {
		return err
	}
	// The minimum body rate counts from here: after the identity token,
	// whose verification may wait for the provider's keys (the server's
	// wait, not the client's), before the wait for an upload slot.
	began := time.Now()
	// The portal's share of the uploads in progress, and of the memory
	// of bodies, held until the answer.
	res, err := h.shares.begin(ctx, portal.ID)
	if err != nil {
		return err
	}
	defer res.done()
	var (
		req       request
		multipart *multipartRequest
	)
	if boundary == "" {
		body, err := h.readBody(w, r, res, began, h.maxBody)
		if err != nil {
			return err
		}
		if req, err = decodeRequest(body, false); err != nil {
			return err
		}
		// The body is here: the rest is database work (staging the
		// attachments it carries, the transaction), bounded as one. The
		// write deadline (bodyDeadline) is a write timeout after the last
		// byte arrived, later than this.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.dbTimeout)
		defer cancel()
	} else {
		multipart = h.openMultipart(w, r, boundary, res, began)
		body, err := h.readSubmission(ctx, multipart)
		if err != nil {
			return err
		}
		if req, err = decodeRequest(body, true); err != nil {
			return err
		}
	}

	// Permission first: a portal learns nothing about tenants and
	// procedures it may not use.
	if !portal.Allows(req.tenant, req.procedure) {
		return errForbidden(text("the portal may not submit this procedure for this tenant",
			"das Portal darf diese Leistung für diesen Mandanten nicht einreichen"))
	}
	if verified != nil {
		if req.identity, err = mergeIdentity(req.identity, verified); err != nil {
			return err
		}
		req.hash = identityHash(req.hash, req.identity)
	}
	rc, err := h.intake.Accept(ctx, intake.Request{
		PortalID:       portal.ID,
		Tenant:         req.tenant,
		Procedure:      req.procedure,
		Applicant:      req.applicant,
		Data:           req.data,
		Identity:       req.identity,
		Attachments:    &requestAttachments{h: h, member: req.attachments, multipart: multipart},
		IdempotencyKey: key,
		RequestHash:    req.hash,
		HashContent:    multipart != nil,
		Payload:        req.stored,
	})
	info.tenant, info.procedure, info.submission = rc.Tenant, rc.Procedure, rc.SubmissionID
	if err != nil {
		return acceptProblem(err)
	}
	if rc.Replayed {
		info.replayed = true
		w.Header().Set(HeaderIdempotentReplayed, "true")
	}
	w.Header().Set("Location", submissionsPath+"/"+url.PathEscape(rc.SubmissionID))
	writeJSON(w, http.StatusAccepted, "application/json", AcceptedResponse{ID: rc.SubmissionID, Status: StatusAccepted})
	return nil
}

// appendJSON appends a as json.Marshal encodes it, without its reflection:
// every submission is answered with one.
func (a AcceptedResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, a.ID)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, a.Status)
	return append(b, '}')
}

// acceptProblem is the problem answering an error of Intake.Accept. Errors of
// requestAttachments are problems already.
func acceptProblem(err error) error {
	if v, ok := errors.AsType[*intake.ValidationError](err); ok {
		return errValidation(v.Errors...)
	}
	switch {
	case errors.Is(err, intake.ErrIdempotencyConflict):
		return errIdempotencyConflict()
	case errors.Is(err, intake.ErrUnavailable):
		return errUnavailable(text("the submission could not be stored; retry later with the same Idempotency-Key",
			"der Antrag konnte nicht gespeichert werden; bitte später mit demselben Idempotency-Key erneut senden"), err)
	}
	return err // a problem, or a bug answered with 500
}

// requestAttachments hands the attachments member of a request, and the
// parts of a multipart request, to Intake.Accept, which checks them.
type requestAttachments struct {
	h         *Handler
	member    any               // the attachments member as decoded
	multipart *multipartRequest // nil for a JSON request
}

var _ intake.Attachments = (*requestAttachments)(nil)

// Check decodes the attachments member (decodeAttachments).
func (a *requestAttachments) Check() ([]intake.Attachment, []transform.FieldError) {
	return decodeAttachments(a.member, a.multipart != nil)
}

// Stage streams the parts of a multipart request (stageParts); the content
// of a JSON request came with it, and Accept staged it.
func (a *requestAttachments) Stage(ctx context.Context, s *intake.Stager, attachments []transform.Attachment) ([]transform.FieldError, error) {
	if a.multipart == nil {
		return nil, nil
	}
	return a.h.stageParts(ctx, a.multipart, attachments, s)
}

// errNotJSON is the detail of a request that is neither application/json
// nor multipart/form-data.
var errNotJSON = text("Content-Type must be application/json, or multipart/form-data for attachments sent as parts",
	"Content-Type muss application/json sein, oder multipart/form-data für Anlagen als eigene Teile")

// checkContentType accepts application/json, with no charset or UTF-8, and
// multipart/form-data with a boundary, which it returns ("" for JSON).
func checkContentType(h http.Header) (boundary string, err error) {
	v := h.Get("Content-Type")
	switch v {
	case "":
		return "", errUnsupportedMediaType(errNotJSON)
	case mediaTypeJSON: // what portals send: no parameters to parse
		return "", nil
	}
	mt, params, perr := mime.ParseMediaType(v)
	if perr == nil && mt == mediaTypeMultipart {
		if b := params["boundary"]; b != "" && len(b) <= 70 {
			return b, nil
		}
		return "", errUnsupportedMediaType(text("multipart/form-data needs a boundary of 1 to 70 characters",
			"multipart/form-data braucht eine boundary von 1 bis 70 Zeichen"))
	}
	return "", checkJSONType(v)
}

// idempotencyKey returns the Idempotency-Key header, "" when there is none.
func idempotencyKey(h http.Header) (string, error) {
	values := h.Values(HeaderIdempotencyKey)
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errMalformed(text("the Idempotency-Key header may be sent only once",
			"der Header Idempotency-Key darf nur einmal gesendet werden"))
	}
	key := values[0]
	if len(key) == 0 || len(key) > MaxIdempotencyKeyLength {
		return "", errMalformed(text("the Idempotency-Key must have 1 to %d characters",
			"der Idempotency-Key muss 1 bis %d Zeichen haben", MaxIdempotencyKeyLength))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return "", errMalformed(text("the Idempotency-Key may contain printable ASCII characters only",
				"der Idempotency-Key darf nur druckbare ASCII-Zeichen enthalten"))
		}
	}
	return key, nil
}

// readBody reads the whole body, at most maxBody bytes, reserving room
// for it in res as it arrives, budgetStep bytes at a time: an announced
// Content-Length reserves nothing before its bytes come. Beyond
// h.bodyBuffer bytes, the body goes to an encrypted spool file while it
// arrives, holding one step of memory, and is read back into memory once
// complete and room for all of it is reserved; so a slow large body holds
// little memory. The body must keep up with the minimum rate
// (bodyDeadline). The reservation is released with res, when the request
// is answered.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, res *reservation, began time.Time, maxBody int64) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, errTooLarge(maxBody)
	}
	d := newBodyDeadline(w, bodyDeadline{start: began, grace: h.rateGrace, rate: h.minRate, limit: h.uploadIdle, write: h.writeTimeout})
	body := d.reader(http.MaxBytesReader(w, r.Body, maxBody))
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n+bytes.MinRead <= budgetStep {
		// Within the first step's reservation: one allocation, no
		// growth. An announced length is not trusted beyond it.
		buf.Grow(int(n) + bytes.MinRead) // room that ReadFrom wants to see the end
	}
	for int64(buf.Len()) < h.bodyBuffer {
		if err := res.grow(r.Context(), budgetStep); err != nil {
			return nil, err
		}
		_, err := io.CopyN(&buf, body, budgetStep)
		if errors.Is(err, io.EOF) {
			res.shrink(res.held - roundUp(int64(buf.Len()), budgetStep)) // the last step's rest
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, bodyReadProblem(err, maxBody)
		}
	}

	// Larger than the buffer: spool the rest while it arrives.
	sp, err := newSpool(h.spoolDir)
	if err != nil {
		return nil, errUnavailable(errSpool, err)
	}
	defer sp.Close()
	if _, err := sp.Write(buf.Bytes()); err != nil {
		return nil, errUnavailable(errSpool, err)
	}
	buf = bytes.Buffer{}
	res.shrink(res.held - budgetStep) // the spool's chunk
	if _, err := io.Copy(spoolWriter{sp}, body); err != nil {
		if sw, ok := errors.AsType[spoolWriteError](err); ok {
			return nil, errUnavailable(errSpool, sw.err)
		}
		return nil, bodyReadProblem(err, maxBody)
	}
	// Complete: room for all of it, then back into memory.
	if err := res.grow(r.Context(), roundUp(sp.total, budgetStep)-res.held); err != nil {
		return nil, err
	}
	out, err := sp.appendTo(make([]byte, 0, sp.total))
	if err != nil {
		return nil, errUnavailable(errSpool, err)
	}
	return out, nil
}

// errSpool is the detail of a failure of the spool file (the disk).
var errSpool = text("the request body could not be buffered; retry later",
	"der Inhalt der Anfrage konnte nicht zwischengespeichert werden; bitte später erneut versuchen")

// spoolWriter tells the spool's errors from the body's in io.Copy.
type spoolWriter struct{ s *spool }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.s.Write(p)
	if err != nil {
		err = spoolWriteError{err}
	}
	return n, err
}

type spoolWriteError struct{ err error }

func (e spoolWriteError) Error() string { return e.err.Error() }

// roundUp rounds n up to a multiple of step, at least one step.
func roundUp(n, step int64) int64 {
	return max(step, (n+step-1)/step*step)
}

// bodyReadProblem is the problem answering a failed read of a body.
func bodyReadProblem(err error, maxBody int64) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errTooLarge(maxBody)
	}
	if tooSlow(err) {
		return errTooSlow()
	}
	return errMalformed(text("the request body could not be read", "der Inhalt der Anfrage konnte nicht gelesen werden"))
}

// request is the decoded body of a submission.
type request struct {
	tenant    string
	procedure string
	applicant map[string]any      // nil when absent or null
	data      map[string]any      // nil when absent or null
	identity  *transform.Identity // nil when absent or null
	// attachments is the attachments member as decoded: nil or an array,
	// checked by decodeAttachments once the procedure is known.
	attachments any
	hash        [sha256.Size]byte
	// stored is what is kept of the request: the body, or with
	// attachments the canonical object without their content, which is
	// stored apart.
	stored []byte
}

// Members of the request body.
const (
	memberTenant    = "tenant"
	memberProcedure = "procedure"
	memberApplicant = "applicant"
	memberData      = "data"
	memberIdentity  = "identity"
	// memberAttachments holds the files of the submission, see decodeAttachments.
	memberAttachments = "attachments"
)

// decodeRequest decodes body strictly (decodeJSON: no duplicate or
// case-variant member names, nesting at most MaxJSONDepth): one JSON object in UTF-8 with the
// members tenant and procedure (non-empty strings), applicant and data
// (objects or null, checked further by the mapper), optionally identity
// (see decodeIdentity) and attachments (an array or null, checked by
// decodeAttachments), and no others.
// Numbers are kept as json.Number. The hash is SHA-256 over the decoded
// object encoded again by encoding/json, which sorts keys and drops
// insignificant whitespace, so that a retry formatted differently hashes
// the same.
func decodeRequest(body []byte, inParts bool) (request, error) {
	if !utf8.Valid(body) {
		return request{}, errMalformed(text("the request body is not valid UTF-8 (byte offset %d)",
			"der Inhalt der Anfrage ist kein gültiges UTF-8 (Byte-Offset %d)", invalidUTF8Offset(body)))
	}
	v, end, err := decodeJSON(body)
	if err != nil {
		return request{}, err
	}
	if off := trailingData(body, end); off >= 0 {
		return request{}, errMalformed(text("unexpected data after the JSON object at byte offset %d",
			"unerwartete Daten nach dem JSON-Objekt bei Byte-Offset %d", off))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return request{}, errValidation(transform.FieldError{Pointer: "", Code: transform.CodeType,
			Message: "the request body must be a JSON object", MessageDE: "der Inhalt der Anfrage muss ein JSON-Objekt sein"})
	}

	var req request
	var errs []transform.FieldError
	req.tenant = stringMember(obj, memberTenant, &errs)
	req.procedure = stringMember(obj, memberProcedure, &errs)
	req.applicant = objectMember(obj, memberApplicant, &errs)
	req.data = objectMember(obj, memberData, &errs)
	req.identity = decodeIdentity(obj[memberIdentity], &errs)
	req.attachments = obj[memberAttachments]
	checkAttachmentsType(req.attachments, &errs)
	var unknown []string
	for k := range obj {
		switch k {
		case memberTenant, memberProcedure, memberApplicant, memberData, memberIdentity, memberAttachments:
		default:
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, transform.FieldError{Pointer: transform.AppendPointer("", k), Code: CodeUnknownField,
			Message:   "unknown member; allowed are tenant, procedure, applicant, data, identity and attachments",
			MessageDE: "unbekanntes Feld; erlaubt sind tenant, procedure, applicant, data, identity und attachments"})
	}
	if errs != nil {
		return request{}, errValidation(errs...)
	}

	canonical, ok := appendCanonical(make([]byte, 0, len(body)), obj)
	if !ok { // not a value decodeJSON returns; encoding/json knows
		if canonical, err = json.Marshal(obj); err != nil {
			return request{}, errInternal(fmt.Errorf("encode canonical request: %w", err))
		}
	}
	req.hash = sha256.Sum256(canonical)
	req.stored = body
	if list, ok := req.attachments.([]any); ok && len(list) > 0 && !inParts {
		stripped := make([]any, len(list))
		for i, a := range list {
			if m, ok := a.(map[string]any); ok {
				m = maps.Clone(m)
				delete(m, memberContent)
				a = m
			}
			stripped[i] = a
		}
		obj = maps.Clone(obj)
		obj[memberAttachments] = stripped
		if req.stored, err = json.Marshal(obj); err != nil {
			return request{}, errInternal(fmt.Errorf("encode stored request: %w", err))
		}
	}
	return req, nil
}

// stringMember returns the non-empty string member name of obj, reporting
// it as required or of the wrong type otherwise.
func stringMember(obj map[string]any, name string, errs *[]transform.FieldError) string {
	switch v := obj[name].(type) {
	case nil:
		*errs = append(*errs, transform.FieldError{Pointer: "/" + name, Code: transform.CodeRequired,
			Message: name + " is required", MessageDE: name + " ist erforderlich"})
	case string:
		if v == "" {
			*errs = append(*errs, transform.FieldError{Pointer: "/" + name, Code: transform.CodeRequired,
				Message: name + " must not be empty", MessageDE: name + " darf nicht leer sein"})
		}
		return v
	default:
		*errs = append(*errs, transform.FieldError{Pointer: "/" + name, Code: transform.CodeType,
			Message: name + " must be a string", MessageDE: name + " muss eine Zeichenkette sein"})
	}
	return ""
}

// objectMember returns the object member name of obj, nil when it is absent
// or null (the mapper decides whether that is allowed), and reports any
// other type.
func objectMember(obj map[string]any, name string, errs *[]transform.FieldError) map[string]any {
	switch v := obj[name].(type) {
	case nil:
		return nil
	case map[string]any:
		return v
	default:
		*errs = append(*errs, transform.FieldError{Pointer: "/" + name, Code: transform.CodeType,
			Message: name + " must be a JSON object", MessageDE: name + " muss ein JSON-Objekt sein"})
		return nil
	}
}

// trailingData returns the offset of the first byte other than JSON
// whitespace at or after off, or -1 when there is none.
func trailingData(body []byte, off int64) int64 {
	for i := off; i < int64(len(body)); i++ {
		switch body[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return i
		}
	}
	return -1
}

// invalidUTF8Offset returns the offset of the first byte of b that is not
// part of valid UTF-8.
func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && w == 1 {
			return i
		}
		i += w
	}
	return len(b)
}
