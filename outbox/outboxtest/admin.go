package outboxtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// RunAdmin checks the dead-letter management part of the Store contract: List,
// Message, Replay, ReplayAll, Replays and Remap.
func RunAdmin(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s outbox.Store)
	}{
		{"ListFiltersByTopicParts", testListFilters},
		{"ListPages", testListPages},
		{"MessageNotFoundAndAmbiguous", testMessageLookup},
		{"ReplayDeadMakesClaimable", testReplayDead},
		{"ReplayWakesWatchers", testReplayWakes},
		{"ReplayOnlyDead", testReplayOnlyDead},
		{"ReplayAmbiguousNeedsTopic", testReplayAmbiguous},
		{"ReplayAllCounts", testReplayAll},
		{"RemapReplacesPayloadAndReplays", testRemap},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// tenantName returns a tenant id no other test uses, so that tests sharing a
// database can list by tenant.
func tenantName() string { return "tn-" + uuid.NewString()[:8] }

// Kill makes the pending message m dead after one failed attempt, as the
// relay does after a permanent delivery error; other messages it claims on
// the way are released.
func Kill(t *testing.T, s outbox.Store, m outbox.Message) {
	t.Helper()
	got := claim(t, s, outbox.ClaimParams{Topic: m.Topic, Owner: "killer", Limit: 100})
	for _, c := range got {
		if c.ID == m.ID {
			complete(t, s, outbox.Completion{Topic: m.Topic, ID: m.ID, Owner: "killer", Outcome: outbox.OutcomeDead, Error: "400 Bad Request"})
		} else if err := s.Release(ctxT(t), "killer", c.Topic, []string{c.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if got := stateOf(t, s, m); got != outbox.StateDead {
		t.Fatalf("kill %s: state %s", m.ID, got)
	}
}

// stateOf returns the state of m, found by its topic "tenant/procedure/destination".
func stateOf(t *testing.T, s outbox.Store, m outbox.Message) outbox.State {
	t.Helper()
	parts := strings.SplitN(m.Topic, "/", 3)
	if len(parts) != 3 {
		t.Fatalf("topic %q has not three parts", m.Topic)
	}
	f := outbox.ListFilter{Tenant: parts[0], Procedure: parts[1], Destination: parts[2], Limit: outbox.MaxListLimit}
	for {
		msgs, next := list(t, s, f)
		for _, got := range msgs {
			if got.ID == m.ID {
				return got.State
			}
		}
		if next == "" {
			t.Fatalf("message %s not listed on %s", m.ID, m.Topic)
		}
		f.After = next
	}
}

func list(t *testing.T, s outbox.Store, f outbox.ListFilter) ([]outbox.Message, string) {
	t.Helper()
	msgs, next, err := s.List(ctxT(t), f)
	if err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	return msgs, next
}

func testListFilters(t *testing.T, s outbox.Store) {
	tenant := tenantName()
	pa1 := NewMessage(tenant+"/p.a/d1", "")
	pa2 := NewMessage(tenant+"/p.a/d2", "")
	pb1 := NewMessage(tenant+"/p.b/d1", "")
	pa1b := NewMessage(tenant+"/p.a/d1", "")
	// LIKE wildcards in a filter match only themselves.
	wild := NewMessage("x"+tenant[1:]+"/p.a/d1", "")
	Publish(t, s, pa1, pa2)
	Publish(t, s, pb1, wild)
	Publish(t, s, pa1b)
	Kill(t, s, pa2)
	Kill(t, s, pb1)

	for _, c := range []struct {
		name string
		f    outbox.ListFilter
		want []outbox.Message
	}{
		{"tenant", outbox.ListFilter{Tenant: tenant}, []outbox.Message{pa1, pa2, pb1, pa1b}},
		{"procedure", outbox.ListFilter{Tenant: tenant, Procedure: "p.a"}, []outbox.Message{pa1, pa2, pa1b}},
		{"destination", outbox.ListFilter{Tenant: tenant, Destination: "d1"}, []outbox.Message{pa1, pb1, pa1b}},
		{"topic", outbox.ListFilter{Tenant: tenant, Procedure: "p.a", Destination: "d1"}, []outbox.Message{pa1, pa1b}},
		{"dead", outbox.ListFilter{Tenant: tenant, State: outbox.StateDead}, []outbox.Message{pa2, pb1}},
		{"pending", outbox.ListFilter{Tenant: tenant, State: outbox.StatePending}, []outbox.Message{pa1, pa1b}},
		{"delivered", outbox.ListFilter{Tenant: tenant, State: outbox.StateDelivered}, nil},
		{"wildcard", outbox.ListFilter{Tenant: "_" + tenant[1:]}, nil},
		{"unknown tenant", outbox.ListFilter{Tenant: tenantName()}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, next := list(t, s, c.f)
			sameIDs(t, "list", got, c.want...)
			if next != "" {
				t.Errorf("next = %q on the only page", next)
			}
		})
	}
	got, _ := list(t, s, outbox.ListFilter{Tenant: tenant, Procedure: "p.a", Destination: "d2"})
	if len(got) != 1 || got[0].State != outbox.StateDead || got[0].Attempts != 1 || got[0].LastError != "400 Bad Request" ||
		string(got[0].Payload) != "<x/>" || got[0].Metadata["k"] != "v" || got[0].Topic != pa2.Topic {
		t.Fatalf("listed message: %+v", got)
	}
}

func testListPages(t *testing.T, s outbox.Store) {
	tenant := tenantName()
	var all []outbox.Message
	for i := range 7 {
		m := NewMessage(fmt.Sprintf("%s/p.q/d%d", tenant, i%2), "")
		Publish(t, s, m)
		all = append(all, m)
	}
	var got []outbox.Message
	f := outbox.ListFilter{Tenant: tenant, Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 3 for 7 messages")
		}
		page, next := list(t, s, f)
		if len(page) > 3 {
			t.Fatalf("page of %d with limit 3", len(page))
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		f.After = next
	}
	sameIDs(t, "pages", got, all...)
	// A full last page says there is no next one.
	page, next := list(t, s, outbox.ListFilter{Tenant: tenant, Limit: 7})
	if len(page) != 7 || next != "" {
		t.Fatalf("limit 7 of 7: %d messages, next %q", len(page), next)
	}
	if _, _, err := s.List(ctxT(t), outbox.ListFilter{After: "not-a-cursor"}); err == nil {
		t.Fatal("invalid cursor accepted")
	}
}

func testMessageLookup(t *testing.T, s outbox.Store) {
	m := NewMessage(topicName(), "")
	Publish(t, s, m)
	got, err := s.Message(ctxT(t), m.ID)
	if err != nil || got.ID != m.ID || got.Topic != m.Topic || got.State != outbox.StatePending || string(got.Payload) != "<x/>" {
		t.Fatalf("Message = %+v, %v", got, err)
	}
	if _, err := s.Message(ctxT(t), uuid.NewString()); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("unknown id: err = %v, want ErrNotFound", err)
	}
	copied := m
	copied.Topic = topicName()
	Publish(t, s, copied)
	if _, err := s.Message(ctxT(t), m.ID); !errors.Is(err, outbox.ErrAmbiguous) {
		t.Fatalf("id on two topics: err = %v, want ErrAmbiguous", err)
	}
}

func testReplayDead(t *testing.T, s outbox.Store) {
	topic := topicName()
	m := NewMessage(topic, "")
	Publish(t, s, m)
	Kill(t, s, m)
	before := time.Now()
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: m.ID, By: "erika", Reason: "receiver fixed"}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	got, err := s.Message(ctxT(t), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != outbox.StatePending || got.Attempts != 1 || got.NextAttemptAt.After(time.Now()) ||
		!got.DeliveredAt.IsZero() || got.ID != m.ID {
		t.Fatalf("after replay: %+v", got)
	}
	// A fresh retry budget: it counts from the replay, not from the acceptance.
	if got.RetryFrom.Before(before.Add(-time.Second)) || got.RetryFrom.After(time.Now().Add(time.Second)) {
		t.Fatalf("RetryFrom after replay = %v, want about %v", got.RetryFrom, before)
	}
	if due, ok, err := s.NextDue(ctxT(t), topic); err != nil || !ok || due.After(time.Now()) {
		t.Fatalf("NextDue after replay: %v %v %v", due, ok, err)
	}
	claimed := claim(t, s, outbox.ClaimParams{Topic: topic})
	sameIDs(t, "claim after replay", claimed, m)
	if claimed[0].Attempts != 1 {
		t.Fatalf("claimed attempts = %d, want 1 (kept)", claimed[0].Attempts)
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeDelivered})
	atts, err := s.Attempts(ctxT(t), m.ID)
	if err != nil || len(atts) != 2 || atts[0].Outcome != outbox.OutcomeDead || atts[1].Outcome != outbox.OutcomeDelivered || atts[1].Number != 2 {
		t.Fatalf("attempts after replay and delivery = %+v, %v", atts, err)
	}
	reps, err := s.Replays(ctxT(t), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 {
		t.Fatalf("replays = %+v", reps)
	}
	r := reps[0]
	if r.MessageID != m.ID || r.Topic != topic || r.By != "erika" || r.Reason != "receiver fixed" || r.Attempts != 1 ||
		r.At.Before(before.Add(-time.Second)) || r.At.After(time.Now().Add(time.Second)) {
		t.Fatalf("replay record = %+v", r)
	}
	if reps, err := s.Replays(ctxT(t), uuid.NewString()); err != nil || len(reps) != 0 {
		t.Fatalf("replays of an unknown message = %+v, %v", reps, err)
	}
}

func testReplayWakes(t *testing.T, s outbox.Store) {
	topic := topicName()
	m := NewMessage(topic, "")
	Publish(t, s, m)
	Kill(t, s, m)
	ch, stop := s.Watch(topic)
	defer stop()
	drain := time.After(300 * time.Millisecond) // a notification of the insert may still arrive
	for loop := true; loop; {
		select {
		case <-ch:
		case <-drain:
			loop = false
		}
	}
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: m.ID, By: "erika"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("watch not signalled after replay")
	}
}

func testReplayOnlyDead(t *testing.T, s outbox.Store) {
	topic := topicName()
	pending, delivered, retrying := NewMessage(topic, ""), NewMessage(topic, ""), NewMessage(topic, "")
	Publish(t, s, delivered, retrying)
	claim(t, s, outbox.ClaimParams{Topic: topic})
	complete(t, s, outbox.Completion{Topic: topic, ID: delivered.ID, Outcome: outbox.OutcomeDelivered})
	complete(t, s, outbox.Completion{Topic: topic, ID: retrying.ID, Outcome: outbox.OutcomeRetry, NextAttemptAt: time.Now().Add(time.Hour), Error: "503"})
	Publish(t, s, pending)
	for _, m := range []outbox.Message{pending, delivered, retrying} {
		err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: m.ID, By: "erika"})
		if !errors.Is(err, outbox.ErrNotReplayable) {
			t.Errorf("replay of a non-dead message: err = %v, want ErrNotReplayable", err)
		}
		if reps, err := s.Replays(ctxT(t), m.ID); err != nil || len(reps) != 0 {
			t.Errorf("replays recorded for a refused replay: %+v, %v", reps, err)
		}
	}
	if got, _ := s.Message(ctxT(t), delivered.ID); got.State != outbox.StateDelivered {
		t.Errorf("delivered message changed to %s", got.State)
	}
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: uuid.NewString(), By: "erika"}); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("replay of an unknown message: err = %v, want ErrNotFound", err)
	}
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: pending.ID}); err == nil {
		t.Error("replay without By accepted")
	}
}

func testReplayAmbiguous(t *testing.T, s outbox.Store) {
	a := NewMessage(topicName(), "")
	b := a
	b.Topic = topicName()
	Publish(t, s, a, b)
	Kill(t, s, a)
	Kill(t, s, b)
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: a.ID, By: "erika"}); !errors.Is(err, outbox.ErrAmbiguous) {
		t.Fatalf("replay of an id on two topics: err = %v, want ErrAmbiguous", err)
	}
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: b.ID, Topic: b.Topic, By: "erika"}); err != nil {
		t.Fatalf("replay with topic: %v", err)
	}
	got, _ := list(t, s, outbox.ListFilter{Tenant: "t", Procedure: "p.q", Destination: b.Topic[len("t/p.q/"):]})
	if len(got) != 1 || got[0].State != outbox.StatePending {
		t.Fatalf("b after replay: %+v", got)
	}
	got, _ = list(t, s, outbox.ListFilter{Tenant: "t", Procedure: "p.q", Destination: a.Topic[len("t/p.q/"):]})
	if len(got) != 1 || got[0].State != outbox.StateDead {
		t.Fatalf("a after replay of b: %+v", got)
	}
}

func testReplayAll(t *testing.T, s outbox.Store) {
	tenant, other := tenantName(), tenantName()
	d1a, d1b := NewMessage(tenant+"/p.q/d1", ""), NewMessage(tenant+"/p.q/d1", "")
	d2 := NewMessage(tenant+"/p.r/d2", "")
	alive := NewMessage(tenant+"/p.q/d1", "")
	foreign := NewMessage(other+"/p.q/d1", "")
	Publish(t, s, d1a, d1b, d2, foreign)
	for _, m := range []outbox.Message{d1a, d1b, d2, foreign} {
		Kill(t, s, m)
	}
	Publish(t, s, alive)

	n, err := s.ReplayAll(ctxT(t), outbox.ListFilter{Tenant: tenant, Destination: "d2"}, "erika", "d2 back")
	if err != nil || n != 1 {
		t.Fatalf("ReplayAll d2 = %d, %v; want 1", n, err)
	}
	n, err = s.ReplayAll(ctxT(t), outbox.ListFilter{Tenant: tenant}, "erika", "all back")
	if err != nil || n != 2 {
		t.Fatalf("ReplayAll tenant = %d, %v; want 2", n, err)
	}
	n, err = s.ReplayAll(ctxT(t), outbox.ListFilter{Tenant: tenant}, "erika", "again")
	if err != nil || n != 0 {
		t.Fatalf("ReplayAll again = %d, %v; want 0", n, err)
	}
	dead, _ := list(t, s, outbox.ListFilter{State: outbox.StateDead, Tenant: other})
	sameIDs(t, "other tenant's dead letters", dead, foreign)
	pending, _ := list(t, s, outbox.ListFilter{State: outbox.StatePending, Tenant: tenant})
	sameIDs(t, "replayed", pending, d1a, d1b, d2, alive)
	for _, m := range []outbox.Message{d1a, d1b, d2} {
		reps, err := s.Replays(ctxT(t), m.ID)
		if err != nil || len(reps) != 1 || reps[0].By != "erika" {
			t.Errorf("replays of %s = %+v, %v", m.ID, reps, err)
		}
	}
	if reps, _ := s.Replays(ctxT(t), d2.ID); len(reps) == 1 && reps[0].Reason != "d2 back" {
		t.Errorf("reason of d2's replay = %q", reps[0].Reason)
	}
	if _, err := s.ReplayAll(ctxT(t), outbox.ListFilter{Tenant: tenant}, "", ""); err == nil {
		t.Error("ReplayAll without by accepted")
	}
}
