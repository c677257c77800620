package fitconnect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/amtsbote/amtsbote/outbox"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientConfig configures a Client of the Submission API.
type ClientConfig struct {
	// SubmissionAPI is the base URL of the Submission API, without /v1.
	SubmissionAPI string
	// TokenURL, ClientID and ClientSecret are the OAuth2 client credentials.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scopes requested with the token; empty: the client's defaults.
	Scopes []string
	// Timeout bounds each request. Default 30s.
	Timeout time.Duration
	// RefreshBefore is how long before its expiry a token is replaced.
	// Default 60s.
	RefreshBefore time.Duration
	// HTTPClient sends the requests (and the token requests); default a
	// client with Timeout.
	HTTPClient *http.Client
}

// Client calls the Submission API with an OAuth2 token of the client
// credentials flow, refreshed before it expires and once more when the
// API refuses it (401). It is safe for concurrent use.
type Client struct {
	base   string
	http   *http.Client
	creds  clientcredentials.Config
	early  time.Duration
	mu     sync.Mutex
	tokens oauth2.TokenSource
}

// NewClient returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if _, err := url.ParseRequestURI(cfg.SubmissionAPI); err != nil {
		return nil, fmt.Errorf("fitconnect: submission api url: %w", err)
	}
	if _, err := url.ParseRequestURI(cfg.TokenURL); err != nil {
		return nil, fmt.Errorf("fitconnect: token url: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = time.Minute
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	c := &Client{
		base:  strings.TrimSuffix(cfg.SubmissionAPI, "/"),
		http:  hc,
		early: cfg.RefreshBefore,
		creds: clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			TokenURL: cfg.TokenURL, Scopes: cfg.Scopes},
	}
	c.resetTokens()
	return c, nil
}

// resetTokens drops the cached token: the next request fetches a new one.
func (c *Client) resetTokens() {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, c.http)
	fetch := tokenFunc(func() (*oauth2.Token, error) { return c.creds.Token(ctx) })
	c.mu.Lock()
	c.tokens = oauth2.ReuseTokenSourceWithExpiry(nil, fetch, c.early)
	c.mu.Unlock()
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

func (c *Client) token() (*oauth2.Token, error) {
	c.mu.Lock()
	ts := c.tokens
	c.mu.Unlock()
	return ts.Token()
}

// APIError is an answer of the Zustelldienst other than success.
type APIError struct {
	Method     string
	Path       string
	Status     int
	Problem    APIProblem
	retryAfter time.Duration
}

// Error names the request, the status and the problem type and detail.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: %d", e.Method, e.Path, e.Status)
	if e.Problem.Type != "" {
		s += " " + e.Problem.Type
	}
	if e.Problem.Detail != "" {
		s += ": " + e.Problem.Detail
	}
	return s
}

// Temporary reports whether a retry may succeed: 5xx, 429 and 408.
func (e *APIError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// ErrorClass is what portals see of the answer, as of an HTTP receiver's:
// a timeout (408), an unavailable Zustelldienst (5xx, 429) or a refusal
// (other 4xx). 401 and 403 are Amtsbote's credentials, retried until they
// are fixed: the generic delivery_failed.
func (e *APIError) ErrorClass() outbox.ErrorClass {
	switch {
	case e.Status == http.StatusRequestTimeout:
		return outbox.ClassTimeout
	case e.Temporary():
		return outbox.ClassReceiverUnavailable
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return outbox.ClassDeliveryFailed
	}
	return outbox.ClassReceiverRejected
}

// RetryAfter is the delay the Zustelldienst asked for (Retry-After), or 0.
func (e *APIError) RetryAfter() time.Duration { return e.retryAfter }

// ErrToken is a failure to get an access token.
var ErrToken = errors.New("fitconnect: no access token")

// IsTemporary reports whether err may go away on a retry: network
// failures, timeouts, 5xx answers and token endpoint failures.
func IsTemporary(err error) bool {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Temporary()
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// do sends one request with the token, refreshing the token once on 401.
// body is re-read for the retry. out, when not nil, receives the JSON
// answer; raw, when not nil, the body as it is.
func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, want int, out any, raw *[]byte) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrToken, err)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		tok.SetAuthHeader(req)
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: read answer: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.resetTokens() // expired or revoked before its time: one fresh token
			continue
		}
		if resp.StatusCode != want {
			ae := &APIError{Method: method, Path: path, Status: resp.StatusCode}
			_ = json.Unmarshal(data, &ae.Problem)
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				ae.retryAfter = time.Duration(s) * time.Second
			}
			return ae
		}
		if raw != nil {
			*raw = data
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
		}
		return nil
	}
}

func (c *Client) doJSON(ctx context.Context, method, path string, in any, want int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	ct := ""
	if in != nil {
		ct = "application/json"
	}
	return c.do(ctx, method, path, ct, body, want, out, nil)
}

// SubmissionsForPickup lists the submissions of destinationID ready for
// pickup, every page.
func (c *Client) SubmissionsForPickup(ctx context.Context, destinationID string) ([]SubmissionForPickup, error) {
	var all []SubmissionForPickup
	for offset := 0; ; {
		var page SubmissionsForPickup
		q := url.Values{"destinationId": {destinationID}, "limit": {"500"}, "offset": {strconv.Itoa(offset)}}
		if err := c.doJSON(ctx, http.MethodGet, "/v1/submissions?"+q.Encode(), nil, http.StatusOK, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Submissions...)
		offset += len(page.Submissions)
		if len(page.Submissions) == 0 || offset >= page.TotalCount {
			return all, nil
		}
	}
}

// Submission fetches a submission with its encrypted metadata and data.
func (c *Client) Submission(ctx context.Context, id string) (Submission, error) {
	var s Submission
	err := c.doJSON(ctx, http.MethodGet, "/v1/submissions/"+url.PathEscape(id), nil, http.StatusOK, &s)
	return s, err
}

// Attachment fetches an encrypted attachment (a compact JWE).
func (c *Client) Attachment(ctx context.Context, submissionID, attachmentID string) (string, error) {
	var raw []byte
	err := c.do(ctx, http.MethodGet, "/v1/submissions/"+url.PathEscape(submissionID)+"/attachments/"+url.PathEscape(attachmentID),
		"", nil, http.StatusOK, nil, &raw)
	return strings.TrimSpace(string(raw)), err
}

// PostEvent posts a signed SET to the case's event log.
func (c *Client) PostEvent(ctx context.Context, caseID, set string) error {
	return c.do(ctx, http.MethodPost, "/v1/cases/"+url.PathEscape(caseID)+"/events", ContentTypeJOSE, []byte(set),
		http.StatusNoContent, nil, nil)
}

// Events reads the case's event log.
func (c *Client) Events(ctx context.Context, caseID string) ([]string, error) {
	var log EventLog
	err := c.doJSON(ctx, http.MethodGet, "/v1/cases/"+url.PathEscape(caseID)+"/events", nil, http.StatusOK, &log)
	return log.EventLog, err
}

// Destination reads a destination.
func (c *Client) Destination(ctx context.Context, id string) (Destination, error) {
	var d Destination
	err := c.doJSON(ctx, http.MethodGet, "/v1/destinations/"+url.PathEscape(id), nil, http.StatusOK, &d)
	return d, err
}

// DestinationKey reads a public key of a destination, as JSON.
func (c *Client) DestinationKey(ctx context.Context, destinationID, kid string) ([]byte, error) {
	var raw []byte
	err := c.do(ctx, http.MethodGet, "/v1/destinations/"+url.PathEscape(destinationID)+"/keys/"+url.PathEscape(kid),
		"", nil, http.StatusOK, nil, &raw)
	return raw, err
}

// CreateSubmission announces a submission and its attachments.
func (c *Client) CreateSubmission(ctx context.Context, s CreateSubmission) (SubmissionCreated, error) {
	var out SubmissionCreated
	err := c.doJSON(ctx, http.MethodPost, "/v1/submissions", s, http.StatusCreated, &out)
	return out, err
}

// UploadAttachment uploads an announced attachment, encrypted.
func (c *Client) UploadAttachment(ctx context.Context, submissionID, attachmentID, jwe string) error {
	return c.do(ctx, http.MethodPut, "/v1/submissions/"+url.PathEscape(submissionID)+"/attachments/"+url.PathEscape(attachmentID),
		ContentTypeJOSE, []byte(jwe), http.StatusNoContent, nil, nil)
}

// Submit sends the submission with its encrypted metadata and data.
func (c *Client) Submit(ctx context.Context, submissionID string, s SubmitSubmission) error {
	return c.doJSON(ctx, http.MethodPut, "/v1/submissions/"+url.PathEscape(submissionID), s, http.StatusAccepted, nil)
}

// FindDestination asks the Routing API at routingAPI for the destination of
// a service (LeiKa URN) in a region (ARS). The Routing API needs no token.
func FindDestination(ctx context.Context, hc *http.Client, routingAPI, leika, ars string) (string, error) {
	q := url.Values{"leikaKey": {leika}, "ars": {ars}}
	u := strings.TrimSuffix(routingAPI, "/") + "/v1/routes?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("routing api: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &APIError{Method: http.MethodGet, Path: "/v1/routes", Status: resp.StatusCode}
	}
	var rs Routes
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rs); err != nil {
		return "", fmt.Errorf("routing api: decode: %w", err)
	}
	if len(rs.Routes) == 0 {
		return "", fmt.Errorf("routing api: no destination for %s in %s", leika, ars)
	}
	return rs.Routes[0].DestinationID, nil
}
