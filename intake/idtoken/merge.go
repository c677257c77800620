package idtoken

import "github.com/amtsbote/amtsbote/transform"

// Codes of a Conflict.
const (
	CodeIdentityMismatch  = "identity_mismatch"         // method or provider differ from the token's
	CodeTrustLevelTooHigh = "trust_level_exceeds_token" // trust_level above the token's
	CodeIdentityNoneToken = "identity_none_with_token"  // method none, although a token identifies the applicant
)

// Conflict is a member of a stated identity (method, provider or
// trust_level) that contradicts the verified identity.
type Conflict struct {
	Member string // "method", "provider" or "trust_level"
	Code   string // one of the Code constants
}

// TrustRank orders the trust levels basic < substantial < high; an unknown
// level ranks above them all.
func TrustRank(level string) int {
	switch level {
	case transform.TrustBasic:
		return 1
	case transform.TrustSubstantial:
		return 2
	case transform.TrustHigh:
		return 3
	}
	return 4
}

// Merge checks the identity the sender stated (claimed, nil when it
// stated none) against the verified one and returns what the submission
// carries: the verified identity, with the stated postbox reference unless
// the token has one. The sender may state nothing, or the same method and
// provider with the same or a lower trust level; anything else is a
// Conflict, and the result is nil.
func Merge(claimed, verified *transform.Identity) (*transform.Identity, []Conflict) {
	if claimed == nil {
		return verified, nil
	}
	var conflicts []Conflict
	switch {
	case claimed.Method == transform.IdentityNone:
		conflicts = append(conflicts, Conflict{"method", CodeIdentityNoneToken})
	case claimed.Method != verified.Method:
		conflicts = append(conflicts, Conflict{"method", CodeIdentityMismatch})
	}
	if claimed.Provider != "" && claimed.Provider != verified.Provider {
		conflicts = append(conflicts, Conflict{"provider", CodeIdentityMismatch})
	}
	if claimed.TrustLevel != "" && TrustRank(claimed.TrustLevel) > TrustRank(verified.TrustLevel) {
		conflicts = append(conflicts, Conflict{"trust_level", CodeTrustLevelTooHigh})
	}
	if conflicts != nil {
		return nil, conflicts
	}
	id := *verified
	if id.PostboxReference == "" {
		id.PostboxReference = claimed.PostboxReference
	}
	return &id, nil
}
