package outboxtest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/outbox"
)

// RunAudit checks the Auditor part of the Store contract: the audit trail,
// reactors, stats, the portal listing, retention, discard and alarms.
func RunAudit(t *testing.T, open Opener) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s outbox.Store)
	}{
		{"EventsTrailInOrder", testEventsTrail},
		{"EventsOfEveryPath", testEventsOfEveryPath},
		{"EventsKeepTransformedAcrossRemap", testEventsRemap},
		{"EventsNotFound", testEventsNotFound},
		{"RecordAccess", testRecordAccess},
		{"ReactorFollowUpsCommitWithCause", testReactorFollowUps},
		{"ReactorErrorRollsBack", testReactorError},
		{"Stats", testStats},
		{"ListSubmissionsPages", testListSubmissions},
		{"PurgeKeepsDeadAndMetadata", testPurge},
		{"DiscardDead", testDiscard},
		{"AlarmOpensAndClosesOnce", testAlarm},
		{"CompleteBatch", testCompleteBatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

func events(t *testing.T, s outbox.Store, subID string) []outbox.Event {
	t.Helper()
	ev, err := s.Events(ctxT(t), subID)
	if err != nil {
		t.Fatalf("events of %s: %v", subID, err)
	}
	return ev
}

// trail renders events compactly: "kind[/attempt/outcome]".
func trail(ev []outbox.Event) []string {
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = string(e.Kind)
		if e.Kind == outbox.EventAttempt {
			out[i] += fmt.Sprintf("/%d/%s", e.Attempt, e.Outcome)
		}
	}
	return out
}

func testEventsTrail(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub, msgs := accept(t, s, topic)
	m := msgs[0]
	claim(t, s, outbox.ClaimParams{Topic: topic})
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeRetry, Error: "503 Service Unavailable",
		NextAttemptAt: time.Now().Add(-time.Second)})
	claim(t, s, outbox.ClaimParams{Topic: topic})
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeDead, Error: "400 Bad Request"})
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: m.ID, By: "operator-x", Reason: "fixed"}); err != nil {
		t.Fatal(err)
	}
	claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"})
	complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Owner: "owner-b", Outcome: outbox.OutcomeDelivered})

	ev := events(t, s, sub.ID)
	want := []string{"accepted", "transformed", "attempt/1/retry", "attempt/2/dead", "dead", "replayed",
		"attempt/3/delivered", "delivered"}
	if got := trail(ev); !slices.Equal(got, want) {
		t.Fatalf("trail:\n got %v\nwant %v", got, want)
	}
	for i, e := range ev {
		if e.SubmissionID != sub.ID || e.PortalID != sub.PortalID || e.Tenant != sub.TenantID ||
			e.Procedure != sub.ProcedureID || e.At.IsZero() {
			t.Errorf("event %d: %+v", i, e)
		}
		if i > 0 && e.Seq <= ev[i-1].Seq {
			t.Errorf("event %d: seq %d after %d", i, e.Seq, ev[i-1].Seq)
		}
		if i > 0 && (e.MessageID != m.ID || e.Topic != topic) {
			t.Errorf("event %d (%s): message %q topic %q", i, e.Kind, e.MessageID, e.Topic)
		}
	}
	checks := []struct {
		i             int
		actor, detail string
	}{
		{0, "portal:" + sub.PortalID, ""},
		{1, "portal:" + sub.PortalID, ""},
		{2, "relay:owner-a", "503 Service Unavailable"},
		{3, "relay:owner-a", "400 Bad Request"},
		{5, "operator-x", "fixed"},
		{6, "relay:owner-b", ""},
	}
	for _, c := range checks {
		if ev[c.i].Actor != c.actor || ev[c.i].Detail != c.detail {
			t.Errorf("event %d (%s): actor %q detail %q, want %q %q", c.i, ev[c.i].Kind, ev[c.i].Actor, ev[c.i].Detail, c.actor, c.detail)
		}
	}
	if ev[0].MessageID != "" || ev[0].Topic != "" {
		t.Errorf("accepted event names a message: %+v", ev[0])
	}
}

func testEventsNotFound(t *testing.T, s outbox.Store) {
	if _, err := s.Events(ctxT(t), uuid.NewString()); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("events of unknown submission: %v, want ErrNotFound", err)
	}
	// Messages without a submission leave no trail and reach no reactor.
	Publish(t, s, NewMessage(topicName(), ""))
}

func testRecordAccess(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub, msgs := accept(t, s, topic)
	e := outbox.Event{SubmissionID: sub.ID, MessageID: msgs[0].ID, Topic: topic, Kind: outbox.EventPayloadViewed,
		Actor: "console:op-a (192.0.2.1:5000)", Detail: "Rückfrage der Bürgerin"}
	if err := s.RecordAccess(ctxT(t), e); err != nil {
		t.Fatal(err)
	}
	ev := events(t, s, sub.ID)
	if got, want := trail(ev), []string{"accepted", "transformed", "payload_viewed"}; !slices.Equal(got, want) {
		t.Fatalf("trail %v, want %v", got, want)
	}
	last := ev[len(ev)-1]
	if last.Actor != e.Actor || last.Detail != e.Detail || last.MessageID != e.MessageID || last.Topic != topic ||
		last.Tenant != sub.TenantID || last.At.IsZero() {
		t.Fatalf("recorded %+v", last)
	}
	e.SubmissionID = uuid.NewString()
	if err := s.RecordAccess(ctxT(t), e); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("access to an unknown submission: %v, want ErrNotFound", err)
	}
	e.Actor = ""
	if err := s.RecordAccess(ctxT(t), e); err == nil {
		t.Fatal("access without actor recorded")
	}
}

// followUpTopic receives the messages of the test reactors.
func followUpTopic() string { return "t/~notify/" + uuid.NewString()[:8] }

func testReactorFollowUps(t *testing.T, s outbox.Store) {
	notify := followUpTopic()
	var seen []outbox.Event
	s.SetReactor(outbox.ReactorFunc(func(_ context.Context, evs []outbox.Event) ([]outbox.Message, error) {
		var out []outbox.Message
		for _, e := range evs {
			if e.Topic == notify {
				continue // no reaction to reactions
			}
			seen = append(seen, e)
			if e.Kind != outbox.EventAccepted && e.Kind != outbox.EventDelivered {
				continue
			}
			// The same id twice: inserted once.
			id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(e.SubmissionID+"/"+string(e.Kind))).String()
			m := outbox.Message{ID: id, Topic: notify, SubmissionID: e.SubmissionID, Payload: []byte(e.Kind),
				Metadata: map[string]string{"cause": string(e.Kind)}}
			out = append(out, m, m)
		}
		return out, nil
	}))
	defer s.SetReactor(nil)
	watch, stop := s.Watch(notify)
	defer stop()

	topic := topicName()
	sub, msgs := accept(t, s, topic)
	select {
	case <-watch:
	case <-time.After(10 * time.Second):
		t.Fatal("follow-up of the accept woke no watcher")
	}
	claim(t, s, outbox.ClaimParams{Topic: topic})
	complete(t, s, outbox.Completion{Topic: topic, ID: msgs[0].ID, Outcome: outbox.OutcomeDelivered})

	follow := claim(t, s, outbox.ClaimParams{Topic: notify, Limit: 10})
	var causes []string
	for _, m := range follow {
		if m.SubmissionID != sub.ID {
			t.Errorf("follow-up %s: submission %q", m.ID, m.SubmissionID)
		}
		causes = append(causes, string(m.Payload))
	}
	slices.Sort(causes)
	if want := []string{"accepted", "delivered"}; !slices.Equal(causes, want) {
		t.Fatalf("follow-ups: %v, want %v", causes, want)
	}
	if want := []string{"accepted", "transformed", "attempt/1/delivered", "delivered"}; !slices.Equal(trail(seen), want) {
		t.Fatalf("reactor saw %v, want %v", trail(seen), want)
	}
	for _, e := range seen {
		if e.PortalID != sub.PortalID || e.Tenant != sub.TenantID || e.Procedure != sub.ProcedureID {
			t.Errorf("%s event without submission info: %+v", e.Kind, e)
		}
		if e.Kind != outbox.EventAccepted && e.Metadata["k"] != "v" {
			t.Errorf("%s event without the message's metadata: %v", e.Kind, e.Metadata)
		}
	}
}

func testReactorError(t *testing.T, s outbox.Store) {
	s.SetReactor(outbox.ReactorFunc(func(context.Context, []outbox.Event) ([]outbox.Message, error) {
		return nil, errors.New("template broken")
	}))
	defer s.SetReactor(nil)
	sub := NewSubmission("")
	err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		_, _, err := tx.CreateSubmission(ctxT(t), sub)
		return err
	})
	if err == nil {
		t.Fatal("a failing reactor did not fail the transaction")
	}
	if _, _, err := s.Submission(ctxT(t), sub.ID); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("submission stored although its reactor failed: %v", err)
	}
}

func statsOf(t *testing.T, s outbox.Store, topic string) outbox.TopicStats {
	t.Helper()
	all, err := s.Stats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		if st.Topic == topic {
			return st
		}
	}
	return outbox.TopicStats{Topic: topic}
}

func testStats(t *testing.T, s outbox.Store) {
	topic := topicName()
	before := time.Now().Add(-time.Second)
	_, msgs := accept(t, s, topic, topic, topic, topic)
	if st := statsOf(t, s, topic); st.Pending != 4 || st.Retrying != 0 || st.Dead != 0 ||
		st.OldestPending.Before(before) || !st.LastDelivered.IsZero() {
		t.Fatalf("four pending: %+v", st)
	}
	got := claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 3})
	delivered := time.Now().Truncate(time.Millisecond)
	complete(t, s, outbox.Completion{Topic: topic, ID: got[0].ID, Outcome: outbox.OutcomeDelivered,
		StartedAt: delivered, FinishedAt: delivered})
	complete(t, s, outbox.Completion{Topic: topic, ID: got[1].ID, Outcome: outbox.OutcomeRetry, Error: "x",
		NextAttemptAt: time.Now().Add(time.Hour)})
	complete(t, s, outbox.Completion{Topic: topic, ID: got[2].ID, Outcome: outbox.OutcomeDead, Error: "x"})
	st := statsOf(t, s, topic)
	if st.Pending != 2 || st.Retrying != 1 || st.Dead != 1 || !st.LastDelivered.Equal(delivered) {
		t.Fatalf("after deliver, retry and dead: %+v (delivered at %v)", st, delivered)
	}
	if err := s.Discard(ctxT(t), outbox.ReplayRequest{ID: got[2].ID, By: "op"}); err != nil {
		t.Fatal(err)
	}
	if st := statsOf(t, s, topic); st.Dead != 0 {
		t.Fatalf("a discarded message counts as dead: %+v", st)
	}
	_ = msgs
}

func testListSubmissions(t *testing.T, s outbox.Store) {
	portal := "portal-" + uuid.NewString()[:8]
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	topic := topicName()
	var ids []string
	for i := range 5 {
		sub := NewSubmission("")
		sub.PortalID, sub.CreatedAt = portal, base.Add(time.Duration(i)*time.Minute)
		if i == 4 {
			sub.CreatedAt = base.Add(3 * time.Minute) // same time as the fourth: the id breaks the tie
		}
		m := NewMessage(topic, sub.ID)
		if err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
			if _, _, err := tx.CreateSubmission(ctxT(t), sub); err != nil {
				return err
			}
			return tx.InsertMessages(ctxT(t), []outbox.Message{m})
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	if ids[4] < ids[3] {
		ids[3], ids[4] = ids[4], ids[3]
	}
	other := NewSubmission("") // another portal's
	other.CreatedAt = base
	if err := s.InTx(ctxT(t), func(tx outbox.Tx) error { _, _, err := tx.CreateSubmission(ctxT(t), other); return err }); err != nil {
		t.Fatal(err)
	}

	var got []string
	f := outbox.SubmissionFilter{PortalID: portal, Limit: 2}
	pages := 0
	for {
		page, next, err := s.ListSubmissions(ctxT(t), f)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, st := range page {
			got = append(got, st.Submission.ID)
			if st.Submission.PortalID != portal || len(st.Submission.Payload) != 0 {
				t.Errorf("listed %+v", st.Submission)
			}
			if len(st.Messages) != 1 || st.Messages[0].Topic != topic || len(st.Messages[0].Payload) != 0 ||
				st.Messages[0].State != outbox.StatePending {
				t.Errorf("messages of %s: %+v", st.Submission.ID, st.Messages)
			}
		}
		if next == "" {
			break
		}
		f.After = next
	}
	if !slices.Equal(got, ids) || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, ids)
	}
	page, _, err := s.ListSubmissions(ctxT(t), outbox.SubmissionFilter{PortalID: portal, Since: base.Add(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 {
		t.Fatalf("since the third: %d submissions, want 3", len(page))
	}
	if _, _, err := s.ListSubmissions(ctxT(t), outbox.SubmissionFilter{PortalID: portal, After: "garbage"}); !errors.Is(err, outbox.ErrInvalidCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func testPurge(t *testing.T, s outbox.Store) {
	// Long ago, so that no other test's data is old enough to be purged.
	long := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	topic := topicName()
	create := func() (outbox.Submission, []outbox.Message) {
		sub := NewSubmission("")
		sub.CreatedAt = long
		msgs := []outbox.Message{NewMessage(topic, sub.ID), NewMessage(topic, sub.ID)}
		if err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
			if _, _, err := tx.CreateSubmission(ctxT(t), sub); err != nil {
				return err
			}
			return tx.InsertMessages(ctxT(t), msgs)
		}); err != nil {
			t.Fatal(err)
		}
		return sub, msgs
	}
	done, doneMsgs := create() // both delivered: all purged
	half, halfMsgs := create() // one delivered, one dead: the dead keeps its payload and the request stays
	got := claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 10})
	if len(got) != 4 {
		t.Fatalf("claimed %d", len(got))
	}
	for _, m := range []outbox.Message{doneMsgs[0], doneMsgs[1], halfMsgs[0]} {
		complete(t, s, outbox.Completion{Topic: topic, ID: m.ID, Outcome: outbox.OutcomeDelivered, StartedAt: long, FinishedAt: long})
	}
	complete(t, s, outbox.Completion{Topic: topic, ID: halfMsgs[1].ID, Outcome: outbox.OutcomeDead, Error: "x", StartedAt: long, FinishedAt: long})

	total := outbox.PurgeResult{}
	for {
		res, err := s.Purge(ctxT(t), long.Add(time.Hour), 2)
		if err != nil {
			t.Fatal(err)
		}
		total.Messages += res.Messages
		total.Submissions += res.Submissions
		if res.Messages == 0 && res.Submissions == 0 {
			break
		}
	}
	if total.Messages != 3 || total.Submissions != 1 {
		t.Fatalf("purged %+v, want 3 messages and 1 submission", total)
	}
	sub, msgs, err := s.Submission(ctxT(t), done.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Payload) != 0 || sub.TenantID != done.TenantID || len(msgs) != 2 {
		t.Fatalf("purged submission: %+v, %d messages", sub, len(msgs))
	}
	for _, m := range msgs {
		if len(m.Payload) != 0 || m.State != outbox.StateDelivered || m.Metadata["k"] != "v" {
			t.Errorf("purged message: %+v", m)
		}
	}
	sub, msgs, err = s.Submission(ctxT(t), half.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(sub.Payload) != string(half.Payload) {
		t.Errorf("request of a submission with a dead message was purged")
	}
	for _, m := range msgs {
		if m.State == outbox.StateDead && string(m.Payload) != "<x/>" {
			t.Errorf("dead message lost its payload")
		}
	}
	tr := trail(events(t, s, done.ID))
	if want := []string{"accepted", "transformed", "transformed", "attempt/1/delivered", "delivered",
		"attempt/1/delivered", "delivered", "purged", "purged", "purged"}; !slices.Equal(tr, want) {
		t.Fatalf("trail of purged submission:\n got %v\nwant %v", tr, want)
	}
}

func testDiscard(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub, msgs := accept(t, s, topic)
	m := msgs[0]
	if err := s.Discard(ctxT(t), outbox.ReplayRequest{ID: m.ID, By: "op"}); !errors.Is(err, outbox.ErrNotReplayable) {
		t.Fatalf("discard of a pending message: %v", err)
	}
	if err := s.Discard(ctxT(t), outbox.ReplayRequest{ID: uuid.NewString(), By: "op"}); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("discard of an unknown message: %v", err)
	}
	Kill(t, s, m)
	if err := s.Discard(ctxT(t), outbox.ReplayRequest{ID: m.ID, By: "op-y", Reason: "duplicate application"}); err != nil {
		t.Fatal(err)
	}
	got := messageOf(t, s, sub.ID, m.ID)
	if got.State != outbox.StateDiscarded || len(got.Payload) != 0 || !got.State.Final() {
		t.Fatalf("discarded: %+v", got)
	}
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: m.ID, By: "op"}); !errors.Is(err, outbox.ErrNotReplayable) {
		t.Fatalf("replay of a discarded message: %v", err)
	}
	ev := events(t, s, sub.ID)
	last := ev[len(ev)-1]
	if last.Kind != outbox.EventDiscarded || last.Actor != "op-y" || last.Detail != "duplicate application" {
		t.Fatalf("last event: %+v", last)
	}
	dead, _ := list(t, s, outbox.ListFilter{State: outbox.StateDiscarded, Tenant: "t", Procedure: "p.q",
		Destination: topic[len("t/p.q/"):]})
	sameIDs(t, "listed as discarded", dead, m)
}

func testAlarm(t *testing.T, s outbox.Store) {
	key := "stalled:" + uuid.NewString()
	set := func(open bool) bool {
		t.Helper()
		var changed bool
		if err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
			var err error
			changed, err = tx.SetAlarm(ctxT(t), key, open)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return changed
	}
	if set(false) {
		t.Fatal("closing an alarm never opened changed it")
	}
	// Opening in a transaction that rolls back leaves the alarm closed.
	_ = s.InTx(ctxT(t), func(tx outbox.Tx) error {
		if _, err := tx.SetAlarm(ctxT(t), key, true); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	steps := []struct {
		open, changed bool
	}{{true, true}, {true, false}, {false, true}, {false, false}, {true, true}}
	for i, st := range steps {
		if got := set(st.open); got != st.changed {
			t.Fatalf("step %d: set(open=%v) changed=%v, want %v", i, st.open, got, st.changed)
		}
	}
}

// testCompleteBatch: outcomes recorded together, a lost lease reported for
// its completion alone.
func testCompleteBatch(t *testing.T, s outbox.Store) {
	bc, ok := s.(outbox.BatchCompleter)
	if !ok {
		t.Skip("the store does not batch completions")
	}
	topic := topicName()
	sub, msgs := accept(t, s, topic, topic, topic)
	claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 3})
	now := time.Now()
	errs, err := bc.CompleteBatch(ctxT(t), []outbox.Completion{
		{Topic: topic, ID: msgs[0].ID, Owner: "owner-a", Outcome: outbox.OutcomeDelivered, StartedAt: now, FinishedAt: now},
		{Topic: topic, ID: msgs[1].ID, Owner: "someone-else", Outcome: outbox.OutcomeDelivered, StartedAt: now, FinishedAt: now},
		{Topic: topic, ID: msgs[2].ID, Owner: "owner-a", Outcome: outbox.OutcomeRetry, Error: "503",
			NextAttemptAt: now.Add(time.Hour), StartedAt: now, FinishedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], outbox.ErrLeaseLost) || errs[2] != nil {
		t.Fatalf("errors %v, want nil, ErrLeaseLost, nil", errs)
	}
	want := []outbox.State{outbox.StateDelivered, outbox.StatePending, outbox.StateRetrying}
	for i, m := range msgs {
		if got := messageOf(t, s, sub.ID, m.ID); got.State != want[i] {
			t.Errorf("message %d: %s, want %s", i, got.State, want[i])
		}
	}
	// accepted, 3 transformed, then the two recorded attempts and one delivery
	if tr := trail(events(t, s, sub.ID)); len(tr) != 7 {
		t.Fatalf("trail %v", tr)
	}
}

// wantEvent is an expected event of testEventsOfEveryPath: kind, attempt
// and outcome as trail renders them, the message, actor and detail.
type wantEvent struct {
	trail  string
	msg    string
	actor  string
	detail string
	at     time.Time // zero: not checked; else At must equal it
}

// testEventsOfEveryPath: the trail of every path that records events, with
// their fields and in recording order: outcomes recorded in one batch (a
// dead one before a delivered one), an operator's access between attempts,
// an attempt of unknown outcome, a replay, a reactor's follow-up (no
// transformed event; its attempts are recorded) and a message queued for
// the submission in a later transaction (as FIT-Connect's case record: no
// actor).
func testEventsOfEveryPath(t *testing.T, s outbox.Store) {
	topic, later, notify := topicName(), topicName(), followUpTopic()
	sub := NewSubmission("")
	msgs := []outbox.Message{NewMessage(topic, sub.ID), NewMessage(topic, sub.ID), NewMessage(topic, sub.ID)}
	msgs[0].Metadata[outbox.MetaMessageType] = "xmeld.1221"
	m0, m1, m2 := msgs[0], msgs[1], msgs[2]
	followID := uuid.NewSHA1(uuid.NameSpaceOID, []byte(m1.ID)).String()
	s.SetReactor(outbox.ReactorFunc(func(_ context.Context, evs []outbox.Event) ([]outbox.Message, error) {
		var out []outbox.Message
		for _, e := range evs {
			if e.Kind == outbox.EventDelivered && e.MessageID == m1.ID {
				out = append(out, outbox.Message{ID: followID, Topic: notify, SubmissionID: e.SubmissionID,
					Payload: []byte("mail"), Metadata: map[string]string{outbox.MetaMessageType: "mail"}})
			}
		}
		return out, nil
	}))
	defer s.SetReactor(nil)
	if err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctxT(t), sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctxT(t), msgs)
	}); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 3}); len(got) != 3 {
		t.Fatalf("claimed %d, want 3", len(got))
	}
	first := time.Now().Truncate(time.Microsecond)
	batch := []outbox.Completion{
		{Topic: topic, ID: m0.ID, Owner: "owner-a", Outcome: outbox.OutcomeDead, Error: "400 Bad Request", StartedAt: first, FinishedAt: first},
		{Topic: topic, ID: m1.ID, Owner: "owner-a", Outcome: outbox.OutcomeDelivered, StartedAt: first, FinishedAt: first},
	}
	if bc, ok := s.(outbox.BatchCompleter); ok {
		errs, err := bc.CompleteBatch(ctxT(t), batch)
		if err != nil || errs[0] != nil || errs[1] != nil {
			t.Fatalf("complete batch: %v %v", errs, err)
		}
	} else {
		complete(t, s, batch[0])
		complete(t, s, batch[1])
	}
	if err := s.RecordAccess(ctxT(t), outbox.Event{SubmissionID: sub.ID, MessageID: m0.ID, Topic: topic,
		Kind: outbox.EventPayloadViewed, Actor: "console:op", Detail: "Rückfrage"}); err != nil {
		t.Fatal(err)
	}
	lost := time.Now().Truncate(time.Microsecond)
	complete(t, s, outbox.Completion{Topic: topic, ID: m2.ID, Owner: "owner-a", Outcome: outbox.OutcomeUnknown,
		Error: "outcome unknown, process lost", Class: outbox.ClassOutcomeUnknown, NextAttemptAt: time.Now().Add(time.Hour),
		StartedAt: lost, FinishedAt: lost})
	if err := s.Replay(ctxT(t), outbox.ReplayRequest{ID: m0.ID, By: "op", Reason: "fixed"}); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "reclaim", claim(t, s, outbox.ClaimParams{Topic: topic, Owner: "owner-b"}), m0)
	second := time.Now().Truncate(time.Microsecond)
	complete(t, s, outbox.Completion{Topic: topic, ID: m0.ID, Owner: "owner-b", Outcome: outbox.OutcomeDelivered,
		StartedAt: second, FinishedAt: second})
	record := NewMessage(later, sub.ID)
	record.Metadata[outbox.MetaMessageType] = "fit.case"
	Publish(t, s, record)
	if got := claim(t, s, outbox.ClaimParams{Topic: notify, Owner: "owner-c"}); len(got) != 1 || got[0].ID != followID {
		t.Fatalf("follow-up claimed: %v", ids(got))
	}
	mailed := time.Now().Truncate(time.Microsecond)
	complete(t, s, outbox.Completion{Topic: notify, ID: followID, Owner: "owner-c", Outcome: outbox.OutcomeDelivered,
		StartedAt: mailed, FinishedAt: mailed})

	portal := "portal:" + sub.PortalID
	want := []wantEvent{
		{"accepted", "", portal, "", sub.CreatedAt},
		{"transformed", m0.ID, portal, "xmeld.1221", time.Time{}},
		{"transformed", m1.ID, portal, "", time.Time{}},
		{"transformed", m2.ID, portal, "", time.Time{}},
		{"attempt/1/dead", m0.ID, "relay:owner-a", "400 Bad Request", first},
		{"dead", m0.ID, "relay:owner-a", "400 Bad Request", first},
		{"attempt/1/delivered", m1.ID, "relay:owner-a", "", first},
		{"delivered", m1.ID, "relay:owner-a", "", first},
		{"payload_viewed", m0.ID, "console:op", "Rückfrage", time.Time{}},
		{"attempt/1/unknown", m2.ID, "relay:owner-a", "outcome unknown, process lost", lost},
		{"replayed", m0.ID, "op", "fixed", time.Time{}},
		{"attempt/2/delivered", m0.ID, "relay:owner-b", "", second},
		{"delivered", m0.ID, "relay:owner-b", "", second},
		{"transformed", record.ID, "", "fit.case", time.Time{}},
		{"attempt/1/delivered", followID, "relay:owner-c", "", mailed},
		{"delivered", followID, "relay:owner-c", "", mailed},
	}
	ev := events(t, s, sub.ID)
	got := trail(ev)
	wantTrail := make([]string, len(want))
	for i, w := range want {
		wantTrail[i] = w.trail
	}
	if !slices.Equal(got, wantTrail) {
		t.Fatalf("trail:\n got %v\nwant %v", got, wantTrail)
	}
	_, stored, err := s.Submission(ctxT(t), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]time.Time{}
	topics := map[string]string{}
	for _, m := range stored {
		created[m.ID], topics[m.ID] = m.CreatedAt, m.Topic
	}
	for i, e := range ev {
		w := want[i]
		if e.SubmissionID != sub.ID || e.PortalID != sub.PortalID || e.Tenant != sub.TenantID || e.Procedure != sub.ProcedureID {
			t.Errorf("event %d (%s): submission info %+v", i, e.Kind, e)
		}
		if e.MessageID != w.msg || e.Topic != topics[w.msg] || e.Actor != w.actor || e.Detail != w.detail {
			t.Errorf("event %d (%s): message %q topic %q actor %q detail %q, want %q %q %q %q", i, e.Kind,
				e.MessageID, e.Topic, e.Actor, e.Detail, w.msg, topics[w.msg], w.actor, w.detail)
		}
		at := w.at
		if e.Kind == outbox.EventTransformed {
			at = created[e.MessageID] // queued with the message
		}
		if e.At.IsZero() || (!at.IsZero() && !e.At.Equal(at)) {
			t.Errorf("event %d (%s): at %v, want %v", i, e.Kind, e.At, at)
		}
		if i > 0 && e.Seq <= ev[i-1].Seq {
			t.Errorf("event %d (%s): seq %d after %d", i, e.Kind, e.Seq, ev[i-1].Seq)
		}
	}
}

// testEventsRemap: a remap that changes the message type leaves the
// transformed event as it was recorded.
func testEventsRemap(t *testing.T, s outbox.Store) {
	topic := topicName()
	sub := NewSubmission("")
	m := NewMessage(topic, sub.ID)
	m.Metadata[outbox.MetaMessageType] = "xbau.0200"
	if err := s.InTx(ctxT(t), func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctxT(t), sub); err != nil {
			return err
		}
		return tx.InsertMessages(ctxT(t), []outbox.Message{m})
	}); err != nil {
		t.Fatal(err)
	}
	Kill(t, s, m)
	before := events(t, s, sub.ID)
	if err := s.Remap(ctxT(t), outbox.RemapRequest{ReplayRequest: outbox.ReplayRequest{ID: m.ID, By: "erika", Reason: "fixed"},
		Payload: []byte("<y/>"), Metadata: map[string]string{outbox.MetaMessageType: "xbau.0201"}}); err != nil {
		t.Fatal(err)
	}
	after := events(t, s, sub.ID)
	if want := []string{"accepted", "transformed", "attempt/1/dead", "dead", "replayed"}; !slices.Equal(trail(after), want) {
		t.Fatalf("trail after remap %v, want %v", trail(after), want)
	}
	for i, e := range before {
		e.Metadata, after[i].Metadata = nil, nil
		if !reflect.DeepEqual(e, after[i]) {
			t.Errorf("event %d changed by the remap:\n was %+v\n now %+v", i, e, after[i])
		}
	}
	if after[1].Detail != "xbau.0200" {
		t.Errorf("transformed detail %q after remap, want the recorded xbau.0200", after[1].Detail)
	}
}

// DeliveredSubmission accepts a submission with two messages on s and
// delivers them, one at its first attempt and one at its second (the two
// completions in one batch where s batches them), checks the trail and
// returns the submission's id: a store's own test counts the rows it wrote
// for it.
func DeliveredSubmission(t *testing.T, s outbox.Store) string {
	t.Helper()
	topic := topicName()
	sub, msgs := accept(t, s, topic, topic)
	claim(t, s, outbox.ClaimParams{Topic: topic, Limit: 2})
	complete(t, s, outbox.Completion{Topic: topic, ID: msgs[1].ID, Outcome: outbox.OutcomeRetry, Error: "503",
		NextAttemptAt: time.Now().Add(-time.Second)})
	sameIDs(t, "reclaim", claim(t, s, outbox.ClaimParams{Topic: topic}), msgs[1])
	now := time.Now()
	batch := []outbox.Completion{
		{Topic: topic, ID: msgs[0].ID, Owner: "owner-a", Outcome: outbox.OutcomeDelivered, StartedAt: now, FinishedAt: now},
		{Topic: topic, ID: msgs[1].ID, Owner: "owner-a", Outcome: outbox.OutcomeDelivered, StartedAt: now, FinishedAt: now},
	}
	if bc, ok := s.(outbox.BatchCompleter); ok {
		if errs, err := bc.CompleteBatch(ctxT(t), batch); err != nil || errs[0] != nil || errs[1] != nil {
			t.Fatalf("complete batch: %v %v", errs, err)
		}
	} else {
		complete(t, s, batch[0])
		complete(t, s, batch[1])
	}
	want := []string{"accepted", "transformed", "transformed", "attempt/1/retry",
		"attempt/1/delivered", "delivered", "attempt/2/delivered", "delivered"}
	if got := trail(events(t, s, sub.ID)); !slices.Equal(got, want) {
		t.Fatalf("trail:\n got %v\nwant %v", got, want)
	}
	return sub.ID
}
