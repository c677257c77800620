package fitconnect

import (
	"context"
	"errors"
	"strings"

	"github.com/amtsbote/amtsbote/intake/idtoken"
	"github.com/amtsbote/amtsbote/transform"
)

// verifyIdentity verifies the identity token in the metadata's
// authenticationInformation (the content of the one entry of type
// AuthIdentificationReport) with v and checks the Fachdaten's identity
// (claimed, nil when absent) against it (idtoken.Merge). It returns the
// identity the submission carries: the verified one; claimed when there
// is no token and v does not require one. A missing (where required) or
// refused token, several reports, and a claimed identity that contradicts
// the token are a *reject (invalid-submission, instance "metadata" or
// "data"), naming the reason, never the token. ErrKeysUnavailable is
// returned as it is: the submission is fetched again later.
func verifyIdentity(ctx context.Context, v *idtoken.Verifier, infos []AuthenticationInformation, claimed *transform.Identity) (*transform.Identity, error) {
	var reports []string
	for _, a := range infos {
		if a.Type == AuthIdentificationReport {
			reports = append(reports, a.Content)
		}
	}
	const title = "Identifikationsnachweis ungültig"
	switch {
	case len(reports) > 1:
		return nil, rejectWith(ProblemInvalidSubmit, title, "identity: the metadata carry more than one identificationReport", "metadata")
	case len(reports) == 0 || strings.TrimSpace(reports[0]) == "":
		if v.Required() {
			return nil, rejectWith(ProblemInvalidSubmit, title,
				"identity: an identificationReport (the identity provider's token) is required in authenticationInformation", "metadata")
		}
		return claimed, nil
	}
	verified, err := v.Verify(ctx, strings.TrimSpace(reports[0]))
	if e, ok := errors.AsType[*idtoken.Error](err); ok {
		return nil, rejectWith(ProblemInvalidSubmit, title, "identity: the identificationReport was refused: "+e.Reason+": "+e.Detail, "metadata")
	}
	if err != nil {
		return nil, err
	}
	id, conflicts := idtoken.Merge(claimed, verified)
	if conflicts != nil {
		parts := make([]string, len(conflicts))
		for i, c := range conflicts {
			parts[i] = "/identity/" + c.Member + " (" + c.Code + ")"
		}
		return nil, rejectWith(ProblemInvalidSubmit, title,
			"identity: the Fachdaten's identity contradicts the identificationReport at "+strings.Join(parts, ", "), "data")
	}
	return id, nil
}
