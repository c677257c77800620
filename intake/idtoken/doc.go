// Package idtoken verifies the signed identity assertions that portals send
// with submissions (config.IdentityToken): an OpenID Connect ID token or
// another JWT of the applicant's identity provider (BundID,
// Servicekonto.NRW, ...), in JWS compact serialization, verified with
// go-jose v4 against the provider's JSON Web Key Set.
//
// A Verifier checks, in this order: the token is a JWS compact JWT of at
// most MaxTokenBytes; its issuer (iss) is one of the portal's providers;
// its algorithm is one the provider accepts (asymmetric only: none and HS*
// never are, so a public key can never serve as an HMAC secret); the key
// named by its kid is in the provider's key set; the signature; exp
// (required), nbf and iat with the configured clock skew, and the age by
// iat when max_age is set; aud contains one of the portal's audiences; sub
// is present; acr maps to a trust level in the provider's table. The
// result is a transform.Identity with Verified set: method and provider
// from the provider's configuration, the trust level from acr, the issuer,
// and the subject only as a pseudonymous reference (SubjectRef, HMAC-SHA256
// of issuer and subject under the portal's pseudonym key). Every refusal is
// an *Error with a Reason; it never carries the token or its claims.
//
// Key sets (KeySet) come from a file or a URL. They are cached: fetched
// again when older than jwks_refresh, and when a token names a key the set
// does not hold (a provider's key rotation), at most once per
// jwks_min_interval. When the URL fails, the keys fetched last are used
// for at most jwks_max_stale; beyond, and before any fetch succeeded,
// Verify returns ErrKeysUnavailable (the portal API answers 503).
//
// A Registry holds the key sets of a process, keyed by their source and
// settings, so that a Verifier derived again from a reloaded configuration
// keeps the cache.
package idtoken
