package portalapi_test

import (
	"net/http"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
)

// Reconfigure (a reload) changes the portals for the next request: a new
// portal's key is accepted, a removed portal's key refused.
func TestReconfigurePortals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	accepted(t, e.submit(t, demoKey, readDemo(t)))

	next := testConfig(t)
	next.Portals[0].ID = "neues-portal"
	next.Portals[0].KeyHash = config.NewSecret(config.HashKey("neuer-schluessel"))
	if err := e.handler.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	problemOf(t, e.submit(t, demoKey, readDemo(t)), http.StatusUnauthorized, portalapi.ProblemUnauthorized)
	accepted(t, e.submit(t, "neuer-schluessel", readDemo(t)))
	if err := e.handler.Reconfigure(nil); err == nil {
		t.Error("Reconfigure(nil) accepted")
	}
}
