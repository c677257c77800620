package xoev

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/transform"
)

// CheckInput returns a problem for each value of in that every message's
// Nachrichtenkopf needs and that is missing, in this order: MessageID and
// Submission.ID must be UUIDs (IsUUID), CreatedAt and Submission.ReceivedAt
// must be set. nil means none is missing. A mapper joins the problems with
// its own (errors.Join).
func CheckInput(in transform.Input) []error {
	return checkInput(in, false)
}

// CheckVorgangInput is CheckInput for messages that also name the Vorgang:
// Submission.Tenant and Submission.Procedure must not be empty. The problems
// are ordered message id, submission id, tenant, procedure, creation time,
// receipt time.
func CheckVorgangInput(in transform.Input) []error {
	return checkInput(in, true)
}

func checkInput(in transform.Input, vorgang bool) []error {
	var errs []error
	if !IsUUID(in.MessageID) {
		errs = append(errs, errors.New("message id is not a UUID"))
	}
	if !IsUUID(in.Submission.ID) {
		errs = append(errs, errors.New("submission id is not a UUID"))
	}
	if vorgang {
		if in.Submission.Tenant == "" {
			errs = append(errs, errors.New("tenant is empty"))
		}
		if in.Submission.Procedure == "" {
			errs = append(errs, errors.New("procedure is empty"))
		}
	}
	if in.CreatedAt.IsZero() {
		errs = append(errs, errors.New("creation time is zero"))
	}
	if in.Submission.ReceivedAt.IsZero() {
		errs = append(errs, errors.New("receipt time is zero"))
	}
	return errs
}

// CheckBehoerdenkennungen returns a problem for the Author and then the
// Reader of in whose Kennung is set but not of the form "praefix:kennung"
// with both parts non-empty. An empty Kennung passes: whether a party is
// required is the mapper's decision.
func CheckBehoerdenkennungen(in transform.Input) []error {
	var errs []error
	for _, p := range []struct {
		role    string
		kennung string
	}{{"author", in.Author.Kennung}, {"reader", in.Reader.Kennung}} {
		if p.kennung == "" {
			continue
		}
		if praefix, kennung, ok := strings.Cut(p.kennung, ":"); !ok || praefix == "" || kennung == "" {
			errs = append(errs, fmt.Errorf("%s kennung is not of the form praefix:kennung", p.role))
		}
	}
	return errs
}

// IsUUID reports whether s has the 8-4-4-4-12 hex form of a UUID, in upper
// or lower case, as nachrichtenUUID and the ids derived from it require.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Timestamp returns t as the xs:dateTime of erstellungszeitpunkt and the
// other points in time of a message: UTC, whole seconds, RFC 3339
// ("2026-11-28T10:00:00Z").
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
