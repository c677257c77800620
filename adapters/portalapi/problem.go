package portalapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/transform"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// ProblemTypePrefix starts the type URI of every problem.
const ProblemTypePrefix = "urn:amtsbote:problem:"

// Problem types: the "type" member of an error response. Each has one HTTP
// status. They are part of the API that portals see.
const (
	ProblemUnauthorized         = ProblemTypePrefix + "unauthorized"           // 401: no or an unknown API key
	ProblemForbidden            = ProblemTypePrefix + "forbidden"              // 403: the portal may not submit this procedure for this tenant
	ProblemNotFound             = ProblemTypePrefix + "not-found"              // 404: no such route or submission
	ProblemMethodNotAllowed     = ProblemTypePrefix + "method-not-allowed"     // 405: see the Allow header
	ProblemValidationFailed     = ProblemTypePrefix + "validation-failed"      // 422: see errors
	ProblemMalformedRequest     = ProblemTypePrefix + "malformed-request"      // 400: not JSON, trailing data, a bad header
	ProblemUnsupportedMediaType = ProblemTypePrefix + "unsupported-media-type" // 415: Content-Type is not application/json
	ProblemPayloadTooLarge      = ProblemTypePrefix + "payload-too-large"      // 413: the body exceeds the limit
	ProblemIdempotencyConflict  = ProblemTypePrefix + "idempotency-conflict"   // 422: an Idempotency-Key reused with a different request
	ProblemUnavailable          = ProblemTypePrefix + "unavailable"            // 503: draining or the database is unavailable; see Retry-After
	ProblemTooManyRequests      = ProblemTypePrefix + "too-many-requests"      // 429: the portal's rate limit, its share of uploads or body memory, or too many failed authentications; see Retry-After
	ProblemRequestTimeout       = ProblemTypePrefix + "request-timeout"        // 408: the body arrived below the minimum rate; the connection is closed
	ProblemInternal             = ProblemTypePrefix + "internal"               // 500: a bug; it is logged
	ProblemIdentityToken        = ProblemTypePrefix + "identity-token-invalid" // 401: the applicant's identity token is missing or refused; see reason
)

// Codes of ProblemError in addition to the transform.Code constants that
// mappers report.
const (
	CodeUnknownField     = "unknown_field"             // a member the request body does not allow, at the top level or in identity or an attachment
	CodeUnknownTenant    = intake.CodeUnknownTenant    // no such tenant
	CodeUnknownProcedure = intake.CodeUnknownProcedure // the tenant does not accept the procedure, or it has no mapper
	CodeDuplicateID      = intake.CodeDuplicateID      // an attachment id used by an earlier attachment of the request
	CodeInvalidFileName  = intake.CodeInvalidFileName  // an attachment file name with a path, a leading dot, a colon, or not in NFC
	CodeContentMismatch  = intake.CodeContentMismatch  // attachment content that is not what its mime_type declares
	CodeUnknownPart      = "unknown_part"              // a multipart part named by no attachment id
	CodeDuplicatePart    = "duplicate_part"            // a multipart part sent twice (the submission, or one attachment's content)
)

// Problem is the body of every error response, an RFC 9457 problem detail.
// It never contains values of the request, only pointers and codes.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"` // the request path
	Errors   []ProblemError `json:"errors,omitempty"`   // only for ProblemValidationFailed
	// Reason says why an identity token was refused (only for
	// ProblemIdentityToken): one of the idtoken.Reason constants.
	Reason string `json:"reason,omitempty"`
}

// ProblemError is one problem of a submission, located by an RFC 6901 JSON
// pointer into the request body.
type ProblemError struct {
	Pointer string `json:"pointer"`
	Code    string `json:"code"`
	Detail  string `json:"detail,omitempty"`
}

// problemTitles are the titles of the problem types, in English and German.
var problemTitles = map[string]localized{
	ProblemUnauthorized:         {"Unauthorized", "Nicht authentifiziert"},
	ProblemForbidden:            {"Forbidden", "Nicht erlaubt"},
	ProblemNotFound:             {"Not found", "Nicht gefunden"},
	ProblemMethodNotAllowed:     {"Method not allowed", "Methode nicht erlaubt"},
	ProblemValidationFailed:     {"Validation failed", "Validierung fehlgeschlagen"},
	ProblemMalformedRequest:     {"Malformed request", "Fehlerhafte Anfrage"},
	ProblemUnsupportedMediaType: {"Unsupported media type", "Nicht unterstützter Medientyp"},
	ProblemPayloadTooLarge:      {"Payload too large", "Anfrage zu groß"},
	ProblemIdempotencyConflict:  {"Idempotency conflict", "Idempotenzkonflikt"},
	ProblemUnavailable:          {"Service unavailable", "Dienst nicht verfügbar"},
	ProblemTooManyRequests:      {"Too many requests", "Zu viele Anfragen"},
	ProblemInternal:             {"Internal server error", "Interner Serverfehler"},
	ProblemIdentityToken:        {"Identity token missing or invalid", "Identitätsnachweis fehlt oder ist ungültig"},
}

// localized is a text in English and German.
type localized struct{ en, de string }

// in returns the text in lang (LangGerman or LangEnglish).
func (l localized) in(lang string) string {
	if lang == LangGerman && l.de != "" {
		return l.de
	}
	return l.en
}

// text returns a localized text from two format strings and their arguments.
func text(en, de string, args ...any) localized {
	return localized{fmt.Sprintf(en, args...), fmt.Sprintf(de, args...)}
}

// retryAfterSeconds is the Retry-After of every 503.
const retryAfterSeconds = 5

// problemError is an error that a handler answers with a problem response.
type problemError struct {
	typ    string
	status int
	detail localized
	errors []transform.FieldError
	header http.Header // extra response headers
	cause  error       // logged, never sent
	reason string      // Problem.Reason
}

func (e *problemError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.typ, e.detail.en, e.cause)
	}
	return e.typ + ": " + e.detail.en
}

func (e *problemError) Unwrap() error { return e.cause }

func errUnauthorized(detail localized) *problemError {
	return &problemError{typ: ProblemUnauthorized, status: http.StatusUnauthorized, detail: detail,
		header: http.Header{"Www-Authenticate": {`Bearer realm="amtsbote"`}}}
}

func errForbidden(detail localized) *problemError {
	return &problemError{typ: ProblemForbidden, status: http.StatusForbidden, detail: detail}
}

func errNotFound(detail localized) *problemError {
	return &problemError{typ: ProblemNotFound, status: http.StatusNotFound, detail: detail}
}

func errMethodNotAllowed(allow string) *problemError {
	return &problemError{typ: ProblemMethodNotAllowed, status: http.StatusMethodNotAllowed,
		detail: text("the method is not allowed for this resource; allowed: %s",
			"die Methode ist für diese Ressource nicht erlaubt; erlaubt: %s", allow),
		header: http.Header{"Allow": {allow}}}
}

func errValidation(errs ...transform.FieldError) *problemError {
	return &problemError{typ: ProblemValidationFailed, status: http.StatusUnprocessableEntity,
		detail: text("the submission has %d problem(s), see errors",
			"der Antrag hat %d Fehler, siehe errors", len(errs)),
		errors: errs}
}

func errMalformed(detail localized) *problemError {
	return &problemError{typ: ProblemMalformedRequest, status: http.StatusBadRequest, detail: detail}
}

func errUnsupportedMediaType(detail localized) *problemError {
	return &problemError{typ: ProblemUnsupportedMediaType, status: http.StatusUnsupportedMediaType, detail: detail}
}

func errTooLarge(limit int64) *problemError {
	return &problemError{typ: ProblemPayloadTooLarge, status: http.StatusRequestEntityTooLarge,
		detail: text("the request body exceeds %d bytes", "der Inhalt der Anfrage ist größer als %d Bytes", limit)}
}

func errIdempotencyConflict() *problemError {
	return &problemError{typ: ProblemIdempotencyConflict, status: http.StatusUnprocessableEntity,
		detail: text("idempotency key reused with a different request",
			"Idempotency-Key für eine andere Anfrage wiederverwendet")}
}

// errUnavailable is the answer to a store failure or a draining server: the
// portal retries, with its Idempotency-Key.
func errUnavailable(detail localized, cause error) *problemError {
	return &problemError{typ: ProblemUnavailable, status: http.StatusServiceUnavailable, detail: detail,
		header: http.Header{"Retry-After": {strconv.Itoa(retryAfterSeconds)}}, cause: cause}
}

// errTooManyRequests is the answer to a request over a rate limit; the
// client may retry after wait.
func errTooManyRequests(wait time.Duration) *problemError {
	return errTooManyRequestsDetail(wait, text("too many requests; retry after the time in Retry-After",
		"zu viele Anfragen; bitte nach der Zeit in Retry-After erneut versuchen"))
}

func errTooManyRequestsDetail(wait time.Duration, detail localized) *problemError {
	return &problemError{typ: ProblemTooManyRequests, status: http.StatusTooManyRequests, detail: detail,
		header: http.Header{"Retry-After": {strconv.Itoa(retryAfterSecondsOf(wait))}}}
}

func errInternal(cause error) *problemError {
	return &problemError{typ: ProblemInternal, status: http.StatusInternalServerError,
		detail: text("the request could not be processed; the error has been logged",
			"die Anfrage konnte nicht verarbeitet werden; der Fehler wurde protokolliert"),
		cause: cause}
}

// writeProblem answers r with p, in the language that r's Accept-Language
// prefers (negotiateLanguage), named by Content-Language.
func writeProblem(w http.ResponseWriter, r *http.Request, p *problemError) {
	lang := negotiateLanguage(r.Header)
	body := Problem{
		Type:     p.typ,
		Title:    problemTitles[p.typ].in(lang),
		Status:   p.status,
		Detail:   p.detail.in(lang),
		Instance: r.URL.EscapedPath(),
		Reason:   p.reason,
	}
	for _, fe := range p.errors {
		body.Errors = append(body.Errors, ProblemError{Pointer: fe.Pointer, Code: fe.Code, Detail: fe.Localized(lang)})
	}
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Language", lang)
	w.Header().Add("Vary", "Accept-Language")
	writeJSON(w, p.status, ProblemContentType, body)
}

// writeJSON answers with v encoded as JSON; an AcceptedResponse, the answer
// to every submission, without encoding/json's reflection.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	var (
		b   []byte
		err error
	)
	if a, ok := v.(AcceptedResponse); ok {
		b = a.appendJSON(make([]byte, 0, 128))
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil { // only the types of this package are written
		status = http.StatusInternalServerError
		contentType = ProblemContentType
		b = []byte(`{"type":"` + ProblemInternal + `","title":"Internal server error","status":500}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
