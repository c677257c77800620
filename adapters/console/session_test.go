package console

import (
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/adminapi"
	"github.com/amtsbote/amtsbote/config"
)

// TestSessionsOfOneOperatorBounded: an operator logging in over and over
// (a script with a valid key) ends its own oldest sessions, never another
// operator's or the full admin's.
func TestSessionsOfOneOperatorBounded(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, 12*time.Hour, func() time.Time { at = at.Add(time.Millisecond); return at })
	admin := s.create(adminapi.FullAdmin)
	other := s.create(adminapi.ScopedOperator(config.Operator{ID: "it-other", Tenants: []string{"b"}}))
	op := adminapi.ScopedOperator(config.Operator{ID: "it-muster", Tenants: []string{"a"}})
	var last string
	for range maxSessions + 10 {
		last = s.create(op)
	}
	for name, id := range map[string]string{"admin": admin, "other operator": other, "newest of the spraying operator": last} {
		if _, ok := s.get(id); !ok {
			t.Errorf("the %s's session was ended", name)
		}
	}
	n := 0
	for _, x := range s.m {
		if x.op.ID == "it-muster" {
			n++
		}
	}
	if n > maxSessionsPerOperator {
		t.Errorf("%d sessions of one operator kept, at most %d", n, maxSessionsPerOperator)
	}
}
