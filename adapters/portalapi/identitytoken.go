package portalapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/transform"
)

// HeaderIdentityToken carries the applicant's identity token (a JWT of the
// identity provider, JWS compact serialization) to a portal with
// config.Portal.IdentityToken. It is a header, not a member of the body,
// so that the token is never stored with the request and a retry with a
// fresh token of the same account hashes like the original.
const HeaderIdentityToken = "Amtsbote-Identity-Token"

// Codes of ProblemError for an identity member that contradicts the
// verified token (idtoken.Conflict).
const (
	CodeIdentityMismatch  = idtoken.CodeIdentityMismatch  // method or provider differ from the token's
	CodeTrustLevelTooHigh = idtoken.CodeTrustLevelTooHigh // trust_level above the token's
	CodeIdentityNoneToken = idtoken.CodeIdentityNoneToken // method none, although a token identifies the applicant
)

// identityChallenge is the WWW-Authenticate of ProblemIdentityToken.
const identityChallenge = HeaderIdentityToken + ` realm="amtsbote"`

// identityTokenTexts are the details of ProblemIdentityToken by reason.
var identityTokenTexts = map[string]localized{
	idtoken.ReasonMissing: {"this portal must send the applicant's identity token in the " + HeaderIdentityToken + " header",
		"dieses Portal muss den Identitätsnachweis der antragstellenden Person im Header " + HeaderIdentityToken + " senden"},
	idtoken.ReasonMalformed: {"the identity token is not a signed JWT in compact serialization, or a claim has the wrong type",
		"der Identitätsnachweis ist kein signiertes JWT in kompakter Serialisierung, oder ein Claim hat den falschen Typ"},
	idtoken.ReasonAlgorithm: {"the identity token's signature algorithm is not accepted (none and HMAC never are)",
		"der Signaturalgorithmus des Identitätsnachweises wird nicht akzeptiert (none und HMAC nie)"},
	idtoken.ReasonIssuer: {"the identity token's issuer (iss) is not an identity provider of this portal",
		"der Aussteller (iss) des Identitätsnachweises ist kein Identitätsanbieter dieses Portals"},
	idtoken.ReasonUnknownKey: {"the identity token names a key (kid) the identity provider does not publish",
		"der Identitätsnachweis nennt einen Schlüssel (kid), den der Identitätsanbieter nicht veröffentlicht"},
	idtoken.ReasonSignature: {"the identity token's signature is not valid",
		"die Signatur des Identitätsnachweises ist ungültig"},
	idtoken.ReasonExpired: {"the identity token has expired or has no expiry (exp)",
		"der Identitätsnachweis ist abgelaufen oder hat kein Ablaufdatum (exp)"},
	idtoken.ReasonNotYetValid: {"the identity token is not valid yet (nbf or iat in the future)",
		"der Identitätsnachweis ist noch nicht gültig (nbf oder iat in der Zukunft)"},
	idtoken.ReasonTooOld: {"the identity token was issued too long ago (iat)",
		"der Identitätsnachweis wurde vor zu langer Zeit ausgestellt (iat)"},
	idtoken.ReasonAudience: {"the identity token was not issued for this portal (aud)",
		"der Identitätsnachweis wurde nicht für dieses Portal ausgestellt (aud)"},
	idtoken.ReasonSubject: {"the identity token has no subject (sub)",
		"der Identitätsnachweis hat kein Subjekt (sub)"},
	idtoken.ReasonTrustLevel: {"the identity token's acr is absent or maps to no trust level",
		"der acr des Identitätsnachweises fehlt oder entspricht keinem Vertrauensniveau"},
}

// errIdentityToken is the 401 answering a missing or refused token.
func errIdentityToken(reason string) *problemError {
	return &problemError{typ: ProblemIdentityToken, status: http.StatusUnauthorized, detail: identityTokenTexts[reason],
		reason: reason, header: http.Header{"Www-Authenticate": {identityChallenge}}}
}

// identityVerifier returns the verifier of the portal, nil when the portal
// has no identity_token configuration. It is derived from config.Portal
// on every call (the registry caches it), so that a reloaded
// configuration takes effect.
func (h *Handler) identityVerifier(p *config.Portal) *idtoken.Verifier {
	if p.IdentityToken == nil {
		return nil
	}
	return h.idtokens.Verifier(p.IdentityToken)
}

// verifyIdentityToken verifies the request's HeaderIdentityToken for the
// portal, before the body is read. It returns the verified identity, or
// nil when there is no token and the portal need not send one. A portal
// without identity_token configuration that sends a token gets 400: it
// would otherwise believe the identity verified.
func (h *Handler) verifyIdentityToken(ctx context.Context, r *http.Request, p *config.Portal) (*transform.Identity, error) {
	values := r.Header.Values(HeaderIdentityToken)
	v := h.identityVerifier(p)
	if v == nil {
		if len(values) > 0 {
			return nil, errMalformed(text("this portal is not configured for identity tokens; send the submission without the %s header",
				"dieses Portal ist nicht für Identitätsnachweise eingerichtet; bitte den Antrag ohne den Header %s senden", HeaderIdentityToken))
		}
		return nil, nil
	}
	if len(values) > 1 {
		return nil, h.identityRefused(ctx, p, idtoken.ReasonMalformed)
	}
	raw := ""
	if len(values) == 1 {
		raw = strings.TrimSpace(values[0])
	}
	if raw == "" {
		if v.Required() {
			return nil, h.identityRefused(ctx, p, idtoken.ReasonMissing)
		}
		return nil, nil
	}
	id, err := v.Verify(ctx, raw)
	if e, ok := errors.AsType[*idtoken.Error](err); ok {
		return nil, h.identityRefused(ctx, p, e.Reason)
	}
	if err != nil {
		return nil, errUnavailable(text("the identity provider's keys are unavailable; retry later",
			"die Schlüssel des Identitätsanbieters sind nicht verfügbar; bitte später erneut versuchen"), err)
	}
	return id, nil
}

// identityRefused logs a refused token, with the portal and the reason,
// never the token, and returns its problem. A refused token does not count
// as a failed authentication of the portal.
func (h *Handler) identityRefused(ctx context.Context, p *config.Portal, reason string) *problemError {
	infoOf(ctx).identityRefused = reason
	h.log.LogAttrs(ctx, slog.LevelInfo, "identity token refused",
		slog.String("portal_id", p.ID), slog.String("reason", reason))
	return errIdentityToken(reason)
}

// identityConflictTexts are the details of the idtoken.Conflict codes.
var identityConflictTexts = map[string]localized{
	CodeIdentityNoneToken: {"method must not be none: the identity token identifies the applicant",
		"method darf nicht none sein: der Identitätsnachweis identifiziert die antragstellende Person"},
	CodeIdentityMismatch: {"differs from the identity token", "weicht vom Identitätsnachweis ab"},
	CodeTrustLevelTooHigh: {"trust_level is above the identity token's",
		"trust_level ist höher als das Vertrauensniveau des Identitätsnachweises"},
}

// mergeIdentity checks the identity member of the body (claimed, nil when
// absent) against the verified identity (idtoken.Merge) and returns what
// the submission carries; a conflict is a 422 at its pointer.
func mergeIdentity(claimed, verified *transform.Identity) (*transform.Identity, error) {
	id, conflicts := idtoken.Merge(claimed, verified)
	if conflicts == nil {
		return id, nil
	}
	errs := make([]transform.FieldError, len(conflicts))
	for i, c := range conflicts {
		errs[i] = identityError(c.Member, c.Code, identityConflictTexts[c.Code])
	}
	return nil, errValidation(errs...)
}

// identityHash binds the request hash to the verified identity, so that an
// Idempotency-Key reused for another account (or trust level) is a
// conflict, while a retry with a fresh token of the same account replays.
func identityHash(hash [sha256.Size]byte, id *transform.Identity) [sha256.Size]byte {
	h := sha256.New()
	h.Write(hash[:])
	for _, s := range []string{"verified-identity", id.Method, id.Provider, id.TrustLevel, id.Issuer, id.SubjectRef, id.PostboxReference} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
