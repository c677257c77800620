// Package fitconnecttest is a local fake of the FIT-Connect Zustelldienst
// (Submission API 1.1), its OAuth2 token endpoint and the Routing API 2.0,
// written from the published specifications, for tests and the bench
// harness. It is an http.Handler (httptest.NewServer(fake)).
//
// It keeps submissions in memory with the states of the specification
// (created, submitted, accepted, rejected), answers misuse with the
// status codes and problem documents of the specification (409 on an
// invalid state transition, 415 on a wrong content type, 422 on missing
// attachments), keeps each case's event log as signed SETs, sends
// NewSubmissions callbacks to destinations and NewEvents callbacks (on an
// accept or reject) to senders that registered one with the submission,
// authenticated with HMAC-SHA512 and a timestamp, and injects faults: status codes, delays (timeouts), expired tokens, and
// held event posts.
//
// Its test sender API (Send) posts a submission into it as an online
// service would; Received and Decide play the receiving side of a
// destination for Amtsbote's outbound submissions.
package fitconnecttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
)

// Submission states.
const (
	StateCreated   = "created"
	StateSubmitted = "submitted"
	StateAccepted  = "accepted"
	StateRejected  = "rejected"
)

// Destination is a Zustellpunkt of the fake.
type Destination struct {
	ID string
	// EncryptionKey is the public key senders encrypt with (a private key
	// is reduced to its public half).
	EncryptionKey fitconnect.Key
	// SigningKeys verify the events the destination's subscriber posts.
	SigningKeys []fitconnect.Key
	// Services are the LeiKa URNs it accepts, Regions the ARS ("DE...").
	Services []string
	Regions  []string
	// CallbackURL and CallbackSecret receive NewSubmissions callbacks.
	CallbackURL    string
	CallbackSecret string
	// Status is active unless set.
	Status string
}

// Submission is a submission as the fake keeps it.
type Submission struct {
	ID, CaseID, DestinationID string
	Service                   fitconnect.ServiceType
	State                     string
	Announced                 []string
	Attachments               map[string]string // id -> JWE
	EncryptedMetadata         string
	EncryptedData             string
	// SenderCallbackURL and SenderCallbackSecret receive the NewEvents
	// callbacks of the submission's case (CreateSubmission's callback).
	SenderCallbackURL    string
	SenderCallbackSecret string
	created              int
}

// Fault is an injected failure of the requests whose path starts with
// Path (and whose method is Method, when set): Status answers them, or
// Delay holds them first (a timeout for a client with a shorter one).
// Count is how many requests it hits; 0 means until cleared.
type Fault struct {
	Method string
	Path   string
	Status int
	Delay  time.Duration
	Count  int
}

// Fake is the Zustelldienst. Its methods are safe for concurrent use.
type Fake struct {
	mu           sync.Mutex
	clients      map[string]string    // client id -> secret
	tokens       map[string]time.Time // access token -> expiry
	TokenTTL     time.Duration
	tokenCount   int
	destinations map[string]*Destination
	submissions  map[string]*Submission
	order        int
	events       map[string][]string // case id -> SETs
	jtis         map[string]bool
	faults       []*Fault
	hold         chan struct{} // non-nil: event posts wait until it is closed
	held         int
	key          fitconnect.Key // the Zustelldienst's signing key
	httpClient   *http.Client
	callbackErrs []error
	requests     map[string]int // "METHOD /path-template" -> count
	now          func() time.Time
}

// New returns a fake with its own signing key (generated: slow) and no
// clients or destinations.
func New() (*Fake, error) {
	keys, err := SharedKeys("zustelldienst")
	if err != nil {
		return nil, err
	}
	return &Fake{
		clients: map[string]string{}, tokens: map[string]time.Time{}, TokenTTL: time.Hour,
		destinations: map[string]*Destination{}, submissions: map[string]*Submission{},
		events: map[string][]string{}, jtis: map[string]bool{}, key: keys.Signing,
		httpClient: &http.Client{Timeout: 10 * time.Second}, requests: map[string]int{}, now: time.Now,
	}, nil
}

// AddClient registers OAuth2 client credentials.
func (f *Fake) AddClient(id, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients[id] = secret
}

// AddDestination registers a destination.
func (f *Fake) AddDestination(d Destination) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.EncryptionKey = d.EncryptionKey.Public()
	for i := range d.SigningKeys {
		d.SigningKeys[i] = d.SigningKeys[i].Public()
	}
	if d.Status == "" {
		d.Status = "active"
	}
	f.destinations[d.ID] = &d
}

// SetCallback sets the NewSubmissions callback of a destination.
func (f *Fake) SetCallback(destinationID, url, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d := f.destinations[destinationID]; d != nil {
		d.CallbackURL, d.CallbackSecret = url, secret
	}
}

// ExpireTokens makes every issued access token invalid, as if it had
// expired early; clients must fetch a new one.
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

// TokensIssued counts the access tokens issued.
func (f *Fake) TokensIssued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCount
}

// Inject adds a fault.
func (f *Fake) Inject(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &ft)
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// HoldEvents makes event posts wait, unrecorded, until ReleaseEvents; a
// post whose client goes away meanwhile is never recorded.
func (f *Fake) HoldEvents() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold == nil {
		f.hold = make(chan struct{})
	}
}

// ReleaseEvents lets held and later event posts through.
func (f *Fake) ReleaseEvents() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold != nil {
		close(f.hold)
		f.hold = nil
	}
}

// HeldEvents counts the event posts waiting now.
func (f *Fake) HeldEvents() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

// Requests counts the requests to a route, e.g. "GET /v1/submissions/{id}".
func (f *Fake) Requests(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[route]
}

// CallbackErrors returns the failures of callbacks sent so far.
func (f *Fake) CallbackErrors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.callbackErrs)
}

// PublicKey is the Zustelldienst's key that verifies its own events.
func (f *Fake) PublicKey() fitconnect.Key { return f.key.Public() }

// SigningKey is the Zustelldienst's private signing key, for tests
// that need a valid signature by a key no destination registered.
func (f *Fake) SigningKey() fitconnect.Key { return f.key }

// Submission returns a copy of a submission.
func (f *Fake) Submission(id string) (Submission, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.submissions[id]
	if !ok {
		return Submission{}, false
	}
	c := *s
	c.Attachments = make(map[string]string, len(s.Attachments))
	for k, v := range s.Attachments {
		c.Attachments[k] = v
	}
	return c, true
}

// Events returns a case's event log.
func (f *Fake) Events(caseID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events[caseID])
}

// Received lists the submitted submissions of a destination, oldest first.
func (f *Fake) Received(destinationID string) []Submission {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Submission
	for _, s := range f.submissions {
		if s.DestinationID == destinationID && s.State != StateCreated {
			out = append(out, *s)
		}
	}
	slices.SortFunc(out, func(a, b Submission) int { return a.created - b.created })
	return out
}

// Decide records the receiving destination's accept or reject of a
// submission, signed with key (the destination's signing key, whose
// public half must be among its SigningKeys).
func (f *Fake) Decide(submissionID, eventType string, key fitconnect.Key, problems []fitconnect.Problem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.submissions[submissionID]
	if !ok {
		return errors.New("no such submission")
	}
	var payload fitconnect.EventPayload
	if eventType == fitconnect.EventRejectSubmission {
		payload.Problems = problems
	} else {
		payload.AuthenticationTags = &fitconnect.AuthenticationTags{Metadata: fitconnect.AuthenticationTag(s.EncryptedMetadata),
			Data: fitconnect.AuthenticationTag(s.EncryptedData)}
	}
	set, err := fitconnect.SignSET(key, s.DestinationID, uuid.NewString(), s.ID, s.CaseID, eventType, payload, f.now())
	if err != nil {
		return err
	}
	ev, err := fitconnect.VerifySET(key.Public(), set)
	if err != nil {
		return err
	}
	cb, err := f.recordEvent(s, ev, set)
	if cb != nil {
		go cb()
	}
	return err
}

// recordEvent applies an accept or reject to s and appends it, and returns
// the sender's NewEvents callback to send once f.mu is released (nil
// without one); f.mu held.
func (f *Fake) recordEvent(s *Submission, ev fitconnect.Event, set string) (func(), error) {
	if s.State != StateSubmitted {
		return nil, errInvalidTransition
	}
	switch ev.Type {
	case fitconnect.EventAcceptSubmission:
		s.State = StateAccepted
	case fitconnect.EventRejectSubmission:
		s.State = StateRejected
	default:
		return nil, errors.New("unknown event")
	}
	f.jtis[ev.JTI] = true
	f.events[s.CaseID] = append(f.events[s.CaseID], set)
	return f.newEventsCallback(s), nil
}

// newEventsCallback returns the NewEvents callback the sender of s
// registered, nil without one; f.mu held.
func (f *Fake) newEventsCallback(s *Submission) func() {
	if s.SenderCallbackURL == "" {
		return nil
	}
	body, _ := json.Marshal(fitconnect.CallbackBody{Type: fitconnect.CallbackNewEvents,
		Submissions: []fitconnect.SubmissionForPickup{{DestinationID: s.DestinationID, SubmissionID: s.ID, CaseID: s.CaseID}}})
	url, secret := s.SenderCallbackURL, s.SenderCallbackSecret
	return func() { f.sendCallback(url, secret, body) }
}

// sendCallback posts a callback and records its failure.
func (f *Fake) sendCallback(url, secret string, body []byte) {
	if err := SendCallback(f.httpClient, url, secret, body, f.now()); err != nil {
		f.mu.Lock()
		f.callbackErrs = append(f.callbackErrs, err)
		f.mu.Unlock()
	}
}

var errInvalidTransition = errors.New("invalid state transition")

// appendOwnEvent signs and appends one of the Zustelldienst's events; f.mu held.
func (f *Fake) appendOwnEvent(s *Submission, eventType string) {
	set, err := fitconnect.SignSET(f.key, "https://fake.zustelldienst.invalid", uuid.NewString(), s.ID, s.CaseID, eventType,
		fitconnect.EventPayload{}, f.now())
	if err == nil {
		f.events[s.CaseID] = append(f.events[s.CaseID], set)
	}
}

// ServeHTTP serves the token endpoint (POST /token), the Submission API
// (/v1/...), the Routing API (GET /v1/routes) and /.well-known/jwks.json.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := routeOf(r)
	f.mu.Lock()
	f.requests[route]++
	fault := f.fault(r)
	f.mu.Unlock()
	if fault != nil {
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if fault.Status != 0 {
			problem(w, fault.Status, "https://schema.fitko.de/fit-connect/submission-api/problems/injected", "injected fault", "")
			return
		}
	}
	switch {
	case r.URL.Path == "/token":
		f.token(w, r)
		return
	case r.URL.Path == "/.well-known/jwks.json":
		writeJSON(w, http.StatusOK, map[string]any{"keys": []fitconnect.Key{f.key.Public()}})
		return
	case r.URL.Path == "/v1/routes":
		f.routes(w, r)
		return
	}
	if !f.authorized(r) {
		problem(w, http.StatusUnauthorized, fitconnect.APIProblemUnauthorized, "Unauthorized", "missing, unknown or expired access token")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case route == "GET /v1/submissions":
		f.listSubmissions(w, r)
	case route == "POST /v1/submissions":
		f.createSubmission(w, r)
	case route == "GET /v1/submissions/{id}":
		f.getSubmission(w, parts[2])
	case route == "PUT /v1/submissions/{id}":
		f.submit(w, r, parts[2])
	case route == "GET /v1/submissions/{id}/attachments/{aid}":
		f.getAttachment(w, parts[2], parts[4])
	case route == "PUT /v1/submissions/{id}/attachments/{aid}":
		f.putAttachment(w, r, parts[2], parts[4])
	case route == "GET /v1/cases/{id}/events":
		f.mu.Lock()
		log := slices.Clone(f.events[parts[2]])
		f.mu.Unlock()
		if log == nil {
			problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Case not found", "")
			return
		}
		writeJSON(w, http.StatusOK, fitconnect.EventLog{Count: len(log), TotalCount: len(log), EventLog: log})
	case route == "POST /v1/cases/{id}/events":
		f.postEvent(w, r, parts[2])
	case route == "GET /v1/destinations/{id}":
		f.getDestination(w, parts[2])
	case route == "GET /v1/destinations/{id}/keys/{kid}":
		f.getKey(w, parts[2], parts[4])
	default:
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Not Found", "no such endpoint")
	}
}

// routeOf names the endpoint of a request with its path template.
func routeOf(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	tmpl := []string{}
	for i, p := range parts {
		switch {
		case i == 2 && len(parts) > 2 && parts[0] == "v1":
			tmpl = append(tmpl, "{id}")
		case i == 4 && parts[1] == "submissions":
			tmpl = append(tmpl, "{aid}")
		case i == 4 && parts[1] == "destinations":
			tmpl = append(tmpl, "{kid}")
		default:
			tmpl = append(tmpl, p)
		}
	}
	return r.Method + " /" + strings.Join(tmpl, "/")
}

// fault returns the fault hitting r, counting it down; f.mu held.
func (f *Fake) fault(r *http.Request) *Fault {
	for i, ft := range f.faults {
		if !strings.HasPrefix(r.URL.Path, ft.Path) || (ft.Method != "" && ft.Method != r.Method) {
			continue
		}
		c := *ft
		if ft.Count > 0 {
			ft.Count--
			if ft.Count == 0 {
				f.faults = slices.Delete(f.faults, i, i+1)
			}
		}
		return &c
	}
	return nil
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want, known := f.clients[id]; !known || want != secret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	f.tokens[tok] = f.now().Add(f.TokenTTL)
	f.tokenCount++
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(f.TokenTTL.Seconds())})
}

func (f *Fake) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, known := f.tokens[tok]
	return known && f.now().Before(exp)
}

func (f *Fake) routes(w http.ResponseWriter, r *http.Request) {
	leika, ars := r.URL.Query().Get("leikaKey"), r.URL.Query().Get("ars")
	if leika == "" || ars == "" {
		problem(w, http.StatusBadRequest, fitconnect.APIProblemBadRequest, "Bad Request", "leikaKey and ars are required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := fitconnect.Routes{Routes: []fitconnect.Route{}}
	for _, d := range f.destinations {
		if slices.Contains(d.Services, leika) && slices.ContainsFunc(d.Regions, func(reg string) bool {
			return strings.HasPrefix(ars, strings.TrimPrefix(reg, "DE"))
		}) {
			out.Routes = append(out.Routes, fitconnect.Route{DestinationID: d.ID})
		}
	}
	out.Count, out.TotalCount = len(out.Routes), len(out.Routes)
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) listSubmissions(w http.ResponseWriter, r *http.Request) {
	dest := r.URL.Query().Get("destinationId")
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 500 {
		limit = 100
	}
	f.mu.Lock()
	var all []*Submission
	for _, s := range f.submissions {
		if s.State == StateSubmitted && (dest == "" || s.DestinationID == dest) {
			all = append(all, s)
		}
	}
	slices.SortFunc(all, func(a, b *Submission) int { return a.created - b.created })
	out := fitconnect.SubmissionsForPickup{Offset: offset, TotalCount: len(all), Submissions: []fitconnect.SubmissionForPickup{}}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		s := all[i]
		out.Submissions = append(out.Submissions, fitconnect.SubmissionForPickup{DestinationID: s.DestinationID, SubmissionID: s.ID, CaseID: s.CaseID})
	}
	f.mu.Unlock()
	out.Count = len(out.Submissions)
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) createSubmission(w http.ResponseWriter, r *http.Request) {
	var req fitconnect.CreateSubmission
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.DestinationID == "" || req.ServiceType.Identifier == "" || req.AnnouncedAttachments == nil {
		problem(w, http.StatusBadRequest, fitconnect.APIProblemBadRequest, "Bad Request", "destinationId, announcedAttachments and serviceType.identifier are required")
		return
	}
	if cb := req.Callback; cb != nil && (cb.URL == "" || len(cb.Secret) < 32 || len(cb.Secret) > 512) {
		problem(w, http.StatusBadRequest, fitconnect.APIProblemBadRequest, "Bad Request", "callback needs a url and a secret of 32 to 512 characters")
		return
	}
	for _, a := range req.AnnouncedAttachments {
		if _, err := uuid.Parse(a); err != nil {
			problem(w, http.StatusBadRequest, fitconnect.APIProblemBadRequest, "Bad Request", "announcedAttachments must be UUIDs")
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.destinations[req.DestinationID]
	switch {
	case !ok:
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Destination not found", "")
		return
	case d.Status != "active":
		problem(w, http.StatusUnprocessableEntity, "https://schema.fitko.de/fit-connect/submission-api/problems/destination-state-invalid", "Destination not active", "")
		return
	case !slices.Contains(d.Services, req.ServiceType.Identifier):
		problem(w, http.StatusUnprocessableEntity, "https://schema.fitko.de/fit-connect/submission-api/problems/service-not-offered", "Service not offered", "")
		return
	}
	s := f.newSubmission(req.DestinationID, req.ServiceType, req.AnnouncedAttachments, req.CaseID)
	if req.Callback != nil {
		s.SenderCallbackURL, s.SenderCallbackSecret = req.Callback.URL, req.Callback.Secret
	}
	writeJSON(w, http.StatusCreated, fitconnect.SubmissionCreated{DestinationID: s.DestinationID, SubmissionID: s.ID, CaseID: s.CaseID})
}

// newSubmission stores a created submission; f.mu held.
func (f *Fake) newSubmission(dest string, svc fitconnect.ServiceType, announced []string, caseID string) *Submission {
	if caseID == "" {
		caseID = uuid.NewString()
	}
	f.order++
	s := &Submission{ID: uuid.NewString(), CaseID: caseID, DestinationID: dest, Service: svc, State: StateCreated,
		Announced: slices.Clone(announced), Attachments: map[string]string{}, created: f.order}
	f.submissions[s.ID] = s
	f.appendOwnEvent(s, fitconnect.EventCreateSubmission)
	return s
}

func (f *Fake) putAttachment(w http.ResponseWriter, r *http.Request, id, aid string) {
	if !isJOSE(r) {
		problem(w, http.StatusUnsupportedMediaType, fitconnect.APIProblemContentType, "Unsupported Media Type", "attachments are application/jose")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil || len(body) == 0 {
		problem(w, http.StatusBadRequest, fitconnect.APIProblemBadRequest, "Bad Request", "empty attachment")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.submissions[id]
	switch {
	case !ok:
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Submission not found", "")
	case s.State != StateCreated:
		problem(w, http.StatusConflict, fitconnect.APIProblemInvalidTransition, "Conflict: Invalid state transition", "the submission was submitted already")
	case !slices.Contains(s.Announced, aid):
		problem(w, http.StatusUnprocessableEntity, fitconnect.APIProblemAttachments, "Attachment not announced", "")
	default:
		s.Attachments[aid] = strings.TrimSpace(string(body))
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *Fake) submit(w http.ResponseWriter, r *http.Request, id string) {
	var req fitconnect.SubmitSubmission
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.EncryptedMetadata == "" {
		problem(w, http.StatusBadRequest, fitconnect.APIProblemBadRequest, "Bad Request", "encryptedMetadata is required")
		return
	}
	f.mu.Lock()
	s, ok := f.submissions[id]
	switch {
	case !ok:
		f.mu.Unlock()
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Submission not found", "")
		return
	case s.State != StateCreated:
		f.mu.Unlock()
		problem(w, http.StatusConflict, fitconnect.APIProblemInvalidTransition, "Conflict: Invalid state transition", "the submission was submitted already")
		return
	case len(s.Attachments) != len(s.Announced):
		f.mu.Unlock()
		problem(w, http.StatusUnprocessableEntity, fitconnect.APIProblemAttachments, "Gesamtantrag unvollständig", "announced attachments are missing")
		return
	}
	s.EncryptedMetadata, s.EncryptedData, s.State = req.EncryptedMetadata, req.EncryptedData, StateSubmitted
	f.appendOwnEvent(s, fitconnect.EventSubmitSubmission)
	reduced := map[string]any{"destinationId": s.DestinationID, "submissionId": s.ID, "caseId": s.CaseID,
		"attachments": slices.Collect(mapKeys(s.Attachments)), "serviceType": s.Service}
	cb := f.callbackFor(s)
	f.mu.Unlock()
	writeJSON(w, http.StatusAccepted, reduced)
	if cb != nil {
		go cb()
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// callbackFor returns the NewSubmissions callback of s's destination, nil
// without one; f.mu held.
func (f *Fake) callbackFor(s *Submission) func() {
	d := f.destinations[s.DestinationID]
	if d == nil || d.CallbackURL == "" {
		return nil
	}
	body, _ := json.Marshal(fitconnect.CallbackBody{Type: fitconnect.CallbackNewSubmissions,
		Submissions: []fitconnect.SubmissionForPickup{{DestinationID: s.DestinationID, SubmissionID: s.ID, CaseID: s.CaseID}}})
	url, secret := d.CallbackURL, d.CallbackSecret
	return func() { f.sendCallback(url, secret, body) }
}

// SendCallback posts a callback body authenticated with secret at now.
func SendCallback(c *http.Client, url, secret string, body []byte, now time.Time) error {
	ts := strconv.FormatInt(now.Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(fitconnect.HeaderCallbackTimestamp, ts)
	req.Header.Set(fitconnect.HeaderCallbackAuthentication, fitconnect.CallbackMAC([]byte(secret), ts, body))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("callback answered %d", resp.StatusCode)
	}
	return nil
}

func (f *Fake) getSubmission(w http.ResponseWriter, id string) {
	f.mu.Lock()
	s, ok := f.submissions[id]
	if !ok || s.State != StateSubmitted {
		f.mu.Unlock()
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Submission not found, not in state submitted", "")
		return
	}
	out := fitconnect.Submission{DestinationID: s.DestinationID, SubmissionID: s.ID, CaseID: s.CaseID,
		Attachments: slices.Sorted(mapKeys(s.Attachments)), ServiceType: s.Service,
		EncryptedMetadata: s.EncryptedMetadata, EncryptedData: s.EncryptedData}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) getAttachment(w http.ResponseWriter, id, aid string) {
	f.mu.Lock()
	s, ok := f.submissions[id]
	var jwe string
	if ok && s.State == StateSubmitted {
		jwe, ok = s.Attachments[aid]
	} else {
		ok = false
	}
	f.mu.Unlock()
	if !ok {
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Attachment not found", "")
		return
	}
	w.Header().Set("Content-Type", fitconnect.ContentTypeJOSE)
	_, _ = io.WriteString(w, jwe)
}

func (f *Fake) postEvent(w http.ResponseWriter, r *http.Request, caseID string) {
	if !isJOSE(r) {
		problem(w, http.StatusUnsupportedMediaType, fitconnect.APIProblemContentType, "Unsupported Media Type", "events are application/jose")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	f.mu.Lock()
	hold := f.hold
	if hold != nil {
		f.held++
	}
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		f.mu.Lock()
		f.held--
		f.mu.Unlock()
		if r.Context().Err() != nil {
			return // the client went away: nothing recorded
		}
	}
	set := strings.TrimSpace(string(body))
	kid, err := fitconnect.SETKeyID(set)
	if err != nil {
		problem(w, http.StatusBadRequest, fitconnect.APIProblemInvalidEvent, "Bad Request", "not a signed security event token")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var s *Submission
	for _, c := range f.submissions {
		if c.CaseID == caseID {
			s = c
			break
		}
	}
	if s == nil {
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Case not found", "")
		return
	}
	d := f.destinations[s.DestinationID]
	var key *fitconnect.Key
	for i := range d.SigningKeys {
		if d.SigningKeys[i].KID() == kid {
			key = &d.SigningKeys[i]
		}
	}
	if key == nil {
		problem(w, http.StatusUnprocessableEntity, fitconnect.APIProblemInvalidEvent, "Unprocessable Entity", "unknown signing key "+kid)
		return
	}
	ev, err := fitconnect.VerifySET(*key, set)
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, fitconnect.APIProblemInvalidEvent, "Unprocessable Entity", err.Error())
		return
	}
	if ev.CaseID != caseID {
		problem(w, http.StatusUnprocessableEntity, fitconnect.APIProblemInvalidEvent, "Unprocessable Entity", "txn names another case")
		return
	}
	if f.jtis[ev.JTI] {
		w.WriteHeader(http.StatusNoContent) // the same event again: already recorded
		return
	}
	target := f.submissions[ev.SubmissionID]
	if target == nil || target.CaseID != caseID {
		problem(w, http.StatusUnprocessableEntity, fitconnect.APIProblemInvalidEvent, "Unprocessable Entity", "sub names no submission of the case")
		return
	}
	cb, err := f.recordEvent(target, ev, set)
	if err != nil {
		if errors.Is(err, errInvalidTransition) {
			problem(w, http.StatusConflict, fitconnect.APIProblemInvalidTransition, "Conflict: Invalid state transition",
				"the submission is "+target.State)
			return
		}
		problem(w, http.StatusUnprocessableEntity, fitconnect.APIProblemInvalidEvent, "Unprocessable Entity", err.Error())
		return
	}
	if cb != nil {
		go cb()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) getDestination(w http.ResponseWriter, id string) {
	f.mu.Lock()
	d, ok := f.destinations[id]
	var out fitconnect.Destination
	if ok {
		out = fitconnect.Destination{DestinationID: d.ID, EncryptionKid: d.EncryptionKey.KID(), MetadataVersions: []string{"1.0.0"},
			Status: d.Status}
		for _, s := range d.Services {
			out.Services = append(out.Services, fitconnect.DestinationService{Identifier: s, Regions: d.Regions,
				SubmissionSchemas: []fitconnect.SubmissionSchema{{SchemaURI: fitconnect.XMLSchemaURI, MIMEType: "application/xml"}}})
		}
	}
	f.mu.Unlock()
	if !ok {
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Destination not found", "")
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) getKey(w http.ResponseWriter, id, kid string) {
	f.mu.Lock()
	d, ok := f.destinations[id]
	var key *fitconnect.Key
	if ok {
		if d.EncryptionKey.KID() == kid {
			key = &d.EncryptionKey
		}
		for i := range d.SigningKeys {
			if d.SigningKeys[i].KID() == kid {
				key = &d.SigningKeys[i]
			}
		}
	}
	f.mu.Unlock()
	if key == nil {
		problem(w, http.StatusNotFound, fitconnect.APIProblemNotFound, "Key not found", "")
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, *key)
}

func isJOSE(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == fitconnect.ContentTypeJOSE
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, fitconnect.APIProblemContentType, "Unsupported Media Type", "application/json expected")
		return false
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(v); err != nil {
		problem(w, http.StatusBadRequest, fitconnect.APIProblemBadRequest, "Bad Request", "the body is not valid JSON")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, typ, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(fitconnect.APIProblem{Type: typ, Title: title, Status: status, Detail: detail})
}
