package portalapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

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
	ProblemInternal             = ProblemTypePrefix + "internal"               // 500: a bug; it is logged
)

// Codes of ProblemError in addition to the transform.Code constants that
// mappers report.
const (
	CodeUnknownField     = "unknown_field"     // a top-level member other than tenant, procedure, applicant and data
	CodeUnknownTenant    = "unknown_tenant"    // no such tenant
	CodeUnknownProcedure = "unknown_procedure" // the tenant does not accept the procedure, or it has no mapper
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
}

// ProblemError is one problem of a submission, located by an RFC 6901 JSON
// pointer into the request body.
type ProblemError struct {
	Pointer string `json:"pointer"`
	Code    string `json:"code"`
	Detail  string `json:"detail,omitempty"`
}

// problemTitles are the titles of the problem types.
var problemTitles = map[string]string{
	ProblemUnauthorized:         "Unauthorized",
	ProblemForbidden:            "Forbidden",
	ProblemNotFound:             "Not found",
	ProblemMethodNotAllowed:     "Method not allowed",
	ProblemValidationFailed:     "Validation failed",
	ProblemMalformedRequest:     "Malformed request",
	ProblemUnsupportedMediaType: "Unsupported media type",
	ProblemPayloadTooLarge:      "Payload too large",
	ProblemIdempotencyConflict:  "Idempotency conflict",
	ProblemUnavailable:          "Service unavailable",
	ProblemInternal:             "Internal server error",
}

// retryAfterSeconds is the Retry-After of every 503.
const retryAfterSeconds = 5

// problemError is an error that a handler answers with a problem response.
type problemError struct {
	typ    string
	status int
	detail string
	errors []transform.FieldError
	header http.Header // extra response headers
	cause  error       // logged, never sent
}

func (e *problemError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.typ, e.detail, e.cause)
	}
	return e.typ + ": " + e.detail
}

func (e *problemError) Unwrap() error { return e.cause }

func errUnauthorized(detail string) *problemError {
	return &problemError{typ: ProblemUnauthorized, status: http.StatusUnauthorized, detail: detail,
		header: http.Header{"Www-Authenticate": {`Bearer realm="amtsbote"`}}}
}

func errForbidden(detail string) *problemError {
	return &problemError{typ: ProblemForbidden, status: http.StatusForbidden, detail: detail}
}

func errNotFound(detail string) *problemError {
	return &problemError{typ: ProblemNotFound, status: http.StatusNotFound, detail: detail}
}

func errMethodNotAllowed(allow string) *problemError {
	return &problemError{typ: ProblemMethodNotAllowed, status: http.StatusMethodNotAllowed,
		detail: "the method is not allowed for this resource; allowed: " + allow,
		header: http.Header{"Allow": {allow}}}
}

func errValidation(errs ...transform.FieldError) *problemError {
	return &problemError{typ: ProblemValidationFailed, status: http.StatusUnprocessableEntity,
		detail: fmt.Sprintf("the submission has %d problem(s), see errors", len(errs)), errors: errs}
}

func errMalformed(format string, args ...any) *problemError {
	return &problemError{typ: ProblemMalformedRequest, status: http.StatusBadRequest, detail: fmt.Sprintf(format, args...)}
}

func errUnsupportedMediaType(detail string) *problemError {
	return &problemError{typ: ProblemUnsupportedMediaType, status: http.StatusUnsupportedMediaType, detail: detail}
}

func errTooLarge(limit int64) *problemError {
	return &problemError{typ: ProblemPayloadTooLarge, status: http.StatusRequestEntityTooLarge,
		detail: fmt.Sprintf("the request body exceeds %d bytes", limit)}
}

func errIdempotencyConflict() *problemError {
	return &problemError{typ: ProblemIdempotencyConflict, status: http.StatusUnprocessableEntity,
		detail: "idempotency key reused with a different request"}
}

// errUnavailable is the answer to a store failure or a draining server: the
// portal retries, with its Idempotency-Key.
func errUnavailable(detail string, cause error) *problemError {
	return &problemError{typ: ProblemUnavailable, status: http.StatusServiceUnavailable, detail: detail,
		header: http.Header{"Retry-After": {strconv.Itoa(retryAfterSeconds)}}, cause: cause}
}

func errInternal(cause error) *problemError {
	return &problemError{typ: ProblemInternal, status: http.StatusInternalServerError,
		detail: "the request could not be processed; the error has been logged", cause: cause}
}

// writeProblem answers r with p.
func writeProblem(w http.ResponseWriter, r *http.Request, p *problemError) {
	body := Problem{
		Type:     p.typ,
		Title:    problemTitles[p.typ],
		Status:   p.status,
		Detail:   p.detail,
		Instance: r.URL.EscapedPath(),
	}
	for _, fe := range p.errors {
		body.Errors = append(body.Errors, ProblemError{Pointer: fe.Pointer, Code: fe.Code, Detail: fe.Message})
	}
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	writeJSON(w, p.status, ProblemContentType, body)
}

// writeJSON answers with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
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
