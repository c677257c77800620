package fitconnect

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Headers of a callback of the Zustelldienst.
const (
	HeaderCallbackAuthentication = "Callback-Authentication"
	HeaderCallbackTimestamp      = "Callback-Timestamp"
)

// Callback types.
const (
	CallbackNewSubmissions = "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions"
	CallbackNewEvents      = "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events"
)

// CallbackMaxAge is how old a callback's timestamp may be.
const CallbackMaxAge = 5 * time.Minute

// Errors of VerifyCallback.
var (
	ErrCallbackHMAC  = errors.New("callback authentication does not match")
	ErrCallbackStale = errors.New("callback timestamp missing, malformed or older than 5 minutes")
)

// CallbackMAC is the hex HMAC-SHA512, keyed with the callback secret, over
// the timestamp, a dot and the body.
func CallbackMAC(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyCallback checks a callback's timestamp (at most CallbackMaxAge old,
// and not more than that in the future) and its HMAC, compared in constant
// time.
func VerifyCallback(secret []byte, timestamp, mac string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrCallbackStale
	}
	at := time.Unix(ts, 0)
	if now.Sub(at) > CallbackMaxAge || at.Sub(now) > CallbackMaxAge {
		return ErrCallbackStale
	}
	want := CallbackMAC(secret, timestamp, body)
	if !hmac.Equal([]byte(want), []byte(mac)) {
		return ErrCallbackHMAC
	}
	return nil
}

// Callback names in metrics.
const (
	callbackNameNewSubmissions = "new_submissions"
	callbackNameNewEvents      = "new_events"
)

// callbackReceiver verifies the callbacks of one endpoint: a subscriber's
// NewSubmissions or a destination's NewEvents.
type callbackReceiver struct {
	secret []byte
	typ    string // CallbackNewSubmissions or CallbackNewEvents
	id     string // the subscriber or destination, for metrics
	obs    Observer
	now    func() time.Time
}

func newCallbackReceiver(secret []byte, typ, id string, obs Observer, now func() time.Time) callbackReceiver {
	if obs == nil {
		obs = nopObserver{}
	}
	if now == nil {
		now = time.Now
	}
	return callbackReceiver{secret: secret, typ: typ, id: id, obs: obs, now: now}
}

func (c callbackReceiver) name() string {
	if c.typ == CallbackNewEvents {
		return callbackNameNewEvents
	}
	return callbackNameNewSubmissions
}

// receive reads a callback and verifies its timestamp and HMAC. It answers
// a refused callback itself (405; 401 for a bad HMAC or timestamp, counted
// as a callback error; 400 for a body that is not a callback of its type)
// and then reports false.
func (c callbackReceiver) receive(w http.ResponseWriter, r *http.Request) (CallbackBody, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return CallbackBody{}, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return CallbackBody{}, false
	}
	if err := VerifyCallback(c.secret, r.Header.Get(HeaderCallbackTimestamp), r.Header.Get(HeaderCallbackAuthentication), body, c.now()); err != nil {
		c.obs.Error(c.id, ErrorCallback)
		c.obs.Callback(c.id, c.name(), false)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return CallbackBody{}, false
	}
	var cb CallbackBody
	if err := json.Unmarshal(body, &cb); err != nil || (cb.Type != "" && cb.Type != c.typ) {
		c.obs.Callback(c.id, c.name(), false)
		http.Error(w, "body is not a "+c.name()+" callback", http.StatusBadRequest)
		return CallbackBody{}, false
	}
	c.obs.Callback(c.id, c.name(), true)
	return cb, true
}
