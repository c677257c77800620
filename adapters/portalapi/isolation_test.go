package portalapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
)

// The portals of the isolation matrix: A may use tenant musterstadt only,
// B beispielhausen only, C both; all three the same procedure.
const (
	portalA, keyA = "demo-portal", demoKey
	portalB, keyB = "portal-b", "key-b"
	portalC, keyC = "other-portal", otherKey
)

// isolationEnv is newEnv with portal B added and C limited to demoProcedure.
func isolationEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(c *envConfig) {
		c.Config.Portals = append(c.Config.Portals, config.Portal{ID: portalB, KeyHash: config.NewSecret(config.HashKey(keyB)),
			Tenants: []string{otherTenant}, Procedures: []string{demoProcedure}})
		c.Config.Portals[1].Procedures = []string{demoProcedure}
	})
}

// perSubmission are the endpoints about one submission. Only its portal
// gets 200; for every other portal, whichever tenants it may use, the
// submission does not exist (404).
//
// Maintainer: add a row here for every new endpoint under
// /v1/submissions/{id}.
var perSubmission = []struct {
	name string
	path func(id string) string
	// owner checks the owner's 200 answer.
	owner func(t *testing.T, body []byte, id string)
}{
	{"GET /v1/submissions/{id}", func(id string) string { return "/v1/submissions/" + id },
		func(t *testing.T, body []byte, id string) {
			var s portalapi.StatusResponse
			decodeStrict(t, body, &s)
			if s.ID != id {
				t.Errorf("status of %s shows %s", id, s.ID)
			}
		}},
	{"GET /v1/submissions/{id}/events", func(id string) string { return "/v1/submissions/" + id + "/events" },
		func(t *testing.T, body []byte, id string) {
			var ev portalapi.EventsResponse
			decodeStrict(t, body, &ev)
			if len(ev.Events) == 0 {
				t.Errorf("no events of %s", id)
			}
		}},
}

// collections are the endpoints that list submissions: each portal sees
// exactly its own.
//
// Maintainer: add a row here for every new listing endpoint; ids decodes
// its answer to the submission ids shown.
var collections = []struct {
	name string
	path string
	ids  func(t *testing.T, body []byte) []string
}{
	{"GET /v1/submissions?since=", "/v1/submissions?since=2000-01-01T00:00:00Z&limit=1000",
		func(t *testing.T, body []byte) []string {
			var l portalapi.ListResponse
			decodeStrict(t, body, &l)
			var ids []string
			for _, s := range l.Submissions {
				ids = append(ids, s.ID)
			}
			return ids
		}},
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := isolationEnv(t)
	keys := map[string]string{portalA: keyA, portalB: keyB, portalC: keyC}
	body := func(tenant string) []byte {
		return demoBody(t, func(m map[string]any) { m["tenant"] = tenant })
	}

	// Submissions, all under the same Idempotency-Key: keys are scoped to
	// the portal, so none is a replay of another portal's submission.
	owner := map[string]string{} // submission id -> portal
	for _, s := range []struct{ portal, tenant string }{
		{portalA, demoTenant}, {portalB, otherTenant}, {portalC, demoTenant}, {portalC, otherTenant},
	} {
		r := e.submit(t, keys[s.portal], body(s.tenant), "Idempotency-Key", "same-key-"+s.tenant)
		if r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("%s for %s: answered as a replay", s.portal, s.tenant)
		}
		owner[accepted(t, r)] = s.portal
	}
	if len(owner) != 4 {
		t.Fatalf("%d distinct submissions, want 4", len(owner))
	}

	t.Run("POST /v1/submissions", func(t *testing.T) {
		for _, s := range []struct{ portal, tenant string }{{portalA, otherTenant}, {portalB, demoTenant}} {
			r := e.submit(t, keys[s.portal], body(s.tenant))
			problemOf(t, r, http.StatusForbidden, portalapi.ProblemForbidden)
		}
		// An unknown tenant looks the same as a forbidden one to A and B.
		problemOf(t, e.submit(t, keyA, body("nirgendwo")), http.StatusForbidden, portalapi.ProblemForbidden)
	})

	ids := slices.Sorted(maps.Keys(owner))
	for _, ep := range perSubmission {
		for _, id := range ids {
			for _, viewer := range []string{portalA, portalB, portalC} {
				t.Run(fmt.Sprintf("%s/%s of %s", ep.name, viewer, owner[id]), func(t *testing.T) {
					r := e.do(t, http.MethodGet, ep.path(id), keys[viewer], nil)
					if viewer == owner[id] {
						if r.status != http.StatusOK {
							t.Fatalf("owner: status %d, want 200; body %s", r.status, r.body)
						}
						ep.owner(t, r.body, id)
						return
					}
					p := problemOf(t, r, http.StatusNotFound, portalapi.ProblemNotFound)
					if p.Errors != nil || strings.Contains(string(r.body), "received_at") {
						t.Errorf("404 carries data: %s", r.body)
					}
				})
			}
			t.Run(ep.name+"/without a key", func(t *testing.T) {
				problemOf(t, e.do(t, http.MethodGet, ep.path(id), "", nil), http.StatusUnauthorized, portalapi.ProblemUnauthorized)
			})
		}
	}
	for _, ep := range collections {
		for _, viewer := range []string{portalA, portalB, portalC} {
			t.Run(ep.name+"/"+viewer, func(t *testing.T) {
				r := e.do(t, http.MethodGet, ep.path, keys[viewer], nil)
				if r.status != http.StatusOK {
					t.Fatalf("status %d, want 200; body %s", r.status, r.body)
				}
				var want []string
				for _, id := range ids {
					if owner[id] == viewer {
						want = append(want, id)
					}
				}
				if got := slices.Sorted(slices.Values(ep.ids(t, r.body))); !slices.Equal(got, want) {
					t.Errorf("%s sees %v, want its own %v", viewer, got, want)
				}
			})
		}
		t.Run(ep.name+"/without a key", func(t *testing.T) {
			problemOf(t, e.do(t, http.MethodGet, ep.path, "", nil), http.StatusUnauthorized, portalapi.ProblemUnauthorized)
		})
	}
}
