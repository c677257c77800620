package intake

import (
	"errors"
	"fmt"

	"github.com/amtsbote/amtsbote/transform"
)

// Codes of transform.FieldError that Accept reports in addition to those of
// the mappers.
const (
	CodeUnknownTenant    = "unknown_tenant"    // no such tenant
	CodeUnknownProcedure = "unknown_procedure" // the tenant does not accept the procedure, or it has no mapper
	CodeDuplicateID      = "duplicate_id"      // an attachment id used by an earlier attachment of the request
	CodeInvalidFileName  = "invalid_filename"  // an attachment file name with a path, a leading dot, a colon, or not in NFC
	CodeContentMismatch  = "content_mismatch"  // attachment content that is not what its mime_type declares
)

// Errors of Accept, recognisable with errors.Is.
var (
	// ErrUnknownTenant: the request names no configured tenant. A
	// *ValidationError wraps it.
	ErrUnknownTenant = errors.New("unknown tenant")
	// ErrUnknownProcedure: the tenant does not route the procedure, or no
	// mapper is registered for it. A *ValidationError wraps it.
	ErrUnknownProcedure = errors.New("unknown procedure")
	// ErrIdempotencyConflict: the idempotency key was used before with a
	// different request.
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	// ErrUnavailable: the store failed; nothing was stored, and the sender
	// may retry with the same idempotency key.
	ErrUnavailable = errors.New("the submission could not be stored")
)

// ValidationError is a submission with problems, each located by an RFC 6901
// JSON pointer into the request; nothing was stored.
type ValidationError struct {
	Errors []transform.FieldError
	// Err is ErrUnknownTenant or ErrUnknownProcedure when the request names
	// what is not configured, else nil.
	Err error
}

// Error says how many problems the submission has; Errors names them.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("the submission has %d problem(s)", len(e.Errors))
}

// Unwrap returns Err.
func (e *ValidationError) Unwrap() error { return e.Err }
