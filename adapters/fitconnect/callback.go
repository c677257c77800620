package fitconnect

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
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
