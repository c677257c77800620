package adminapi

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem types of the admin API, each with one HTTP status.
const (
	ProblemUnauthorized         = "urn:amtsbote:problem:unauthorized"           // 401: no or a wrong admin key
	ProblemNotFound             = "urn:amtsbote:problem:not-found"              // 404: no such message or resource
	ProblemMethodNotAllowed     = "urn:amtsbote:problem:method-not-allowed"     // 405: see the Allow header
	ProblemMalformedRequest     = "urn:amtsbote:problem:malformed-request"      // 400: a bad query parameter or body
	ProblemUnsupportedMediaType = "urn:amtsbote:problem:unsupported-media-type" // 415: the body is not application/json
	ProblemAmbiguous            = "urn:amtsbote:problem:ambiguous-message"      // 409: the id exists on several topics; name the topic
	ProblemNotReplayable        = "urn:amtsbote:problem:not-replayable"         // 409: only dead messages can be replayed
	ProblemTooManyRequests      = "urn:amtsbote:problem:too-many-requests"      // 429: too many failed keys; see Retry-After
	ProblemInternal             = "urn:amtsbote:problem:internal"               // 500: logged
	ProblemNotRemappable        = "urn:amtsbote:problem:not-remappable"         // 409: the request was purged, or the message's route is gone
	ProblemReloadRefused        = "urn:amtsbote:problem:reload-refused"         // 409: the new configuration is invalid or needs a restart
)

// Problem is the body of every error response, an RFC 9457 problem detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

var problemTitles = map[string]string{
	ProblemUnauthorized:         "Unauthorized",
	ProblemNotFound:             "Not found",
	ProblemMethodNotAllowed:     "Method not allowed",
	ProblemMalformedRequest:     "Malformed request",
	ProblemUnsupportedMediaType: "Unsupported media type",
	ProblemAmbiguous:            "Ambiguous message id",
	ProblemNotReplayable:        "Not replayable",
	ProblemNotRemappable:        "Not re-mappable",
	ProblemReloadRefused:        "Reload refused",
	ProblemTooManyRequests:      "Too many requests",
	ProblemInternal:             "Internal server error",
	ProblemAnswerResolved:       "Answer not unmatched",
	ProblemAssignTarget:         "No such submission of the tenant",
}

// problemError is an error a handler answers with a problem response.
type problemError struct {
	typ    string
	status int
	detail string
	header http.Header
	cause  error // logged, never sent
	// anonymous: answered before authentication; the problem then names no
	// part of the request (no instance).
	anonymous bool
}

func (e *problemError) Error() string { return e.typ + ": " + e.detail }

func (e *problemError) Unwrap() error { return e.cause }

func problem(typ string, status int, detail string) *problemError {
	return &problemError{typ: typ, status: status, detail: detail}
}

func writeProblem(w http.ResponseWriter, r *http.Request, p *problemError) {
	for k, vs := range p.header {
		w.Header()[k] = vs
	}
	pr := Problem{Type: p.typ, Title: problemTitles[p.typ], Status: p.status, Detail: p.detail}
	if !p.anonymous {
		pr.Instance = r.URL.EscapedPath()
	}
	writeJSON(w, p.status, ProblemContentType, pr)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, contentType = http.StatusInternalServerError, ProblemContentType
		b = []byte(`{"type":"` + ProblemInternal + `","title":"Internal server error","status":500}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
