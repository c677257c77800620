package adminapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/outbox"
)

// RouteReload reloads the configuration of the running process.
const RouteReload = "POST /admin/v1/reload"

// Remapper replays a dead message with the current mapping
// (intake.Service.RemapMessage over the store).
type Remapper interface {
	RemapMessage(ctx context.Context, r outbox.ReplayRequest) (intake.Remapped, error)
}

// Reloader reloads the configuration (serve's reload, also run by SIGHUP).
type Reloader interface {
	// Reload loads and applies the configuration; a refused reload returns
	// a *ReloadRefused with every reason, and the old configuration runs on.
	Reload(ctx context.Context, by string) (ReloadResponse, error)
}

// ReloadResponse is the answer of a reload that was applied.
type ReloadResponse struct {
	// Generation numbers the configurations of the process: 1 at start,
	// one more with every applied reload.
	Generation int64 `json:"generation"`
	// Tenants, Portals and Procedures count the entries in force.
	Tenants    int `json:"tenants"`
	Portals    int `json:"portals"`
	Procedures int `json:"procedures"`
	// Added, Removed and Changed are the delivery topics the reload
	// started, stopped and restarted with new settings.
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
}

// ReloadRefused is the error of a reload that was not applied: every
// reason, and the generation that keeps running.
type ReloadRefused struct {
	Generation int64
	Reasons    []string
}

func (e *ReloadRefused) Error() string {
	return "configuration reload refused: " + strings.Join(e.Reasons, "; ")
}

// ReloadRefusedBody is the body of a refused reload: a problem with the reasons.
type ReloadRefusedBody struct {
	Problem
	Generation int64    `json:"generation"`
	Reasons    []string `json:"reasons"`
}

// RemapResponse is the answer of a replay with remap.
type RemapResponse struct {
	Replayed   int    `json:"replayed"`
	OldMapping string `json:"old_mapping"`
	NewMapping string `json:"new_mapping"`
}

// remap answers a replay with "remap": true.
func (h *Handler) remap(w http.ResponseWriter, r *http.Request, body ReplayRequest) error {
	if h.remapper == nil {
		return problem(ProblemNotRemappable, http.StatusConflict, "re-mapping is not available in this process")
	}
	res, err := h.remapper.RemapMessage(r.Context(), outbox.ReplayRequest{ID: r.PathValue("id"), Topic: body.Topic,
		By: by(r), Reason: body.Reason})
	var verr *intake.ValidationError
	switch {
	case errors.Is(err, intake.ErrRequestPurged), errors.Is(err, intake.ErrNotRemappable):
		return problem(ProblemNotRemappable, http.StatusConflict, err.Error())
	case errors.As(err, &verr):
		return problem(ProblemNotRemappable, http.StatusConflict,
			"the stored request does not pass the current procedure's checks: "+verr.Error())
	case err != nil:
		return storeError(err)
	}
	writeJSON(w, http.StatusOK, "application/json", RemapResponse{Replayed: 1, OldMapping: res.OldVersion, NewMapping: res.NewVersion})
	return nil
}

// reload answers POST /admin/v1/reload: 200 with the new generation, or
// 409 with every reason the reload was refused.
func (h *Handler) reload(w http.ResponseWriter, r *http.Request) error {
	if h.reloader == nil {
		return problem(ProblemNotFound, http.StatusNotFound, "this process cannot reload its configuration")
	}
	if op, err := RequireOperator(r); err != nil {
		return err
	} else if !op.Full() {
		// A reload changes every tenant: only the full admin key may.
		return problem(ProblemNotFound, http.StatusNotFound, "no such resource")
	}
	res, err := h.reloader.Reload(r.Context(), by(r))
	var refused *ReloadRefused
	if errors.As(err, &refused) {
		p := problem(ProblemReloadRefused, http.StatusConflict, refused.Error())
		writeJSON(w, http.StatusConflict, ProblemContentType, ReloadRefusedBody{
			Problem:    Problem{Type: p.typ, Title: problemTitles[p.typ], Status: http.StatusConflict, Detail: "configuration reload refused; the running configuration is kept"},
			Generation: refused.Generation, Reasons: refused.Reasons})
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, "application/json", res)
	return nil
}
