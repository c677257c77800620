package notify_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/notify"
	"github.com/amtsbote/amtsbote/outbox"
	"github.com/amtsbote/amtsbote/outbox/postgres"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
	"github.com/amtsbote/amtsbote/outbox/sqlite"
)

func TestMonitorSQLite(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amtsbote.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testMonitor(t, st)
}

func TestMonitorPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	st, err := postgres.Open(context.Background(), postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testMonitor(t, st)
}

// testMonitor: a dead letter opens one alarm however often the monitor
// checks, also with two monitors (processes); its replay and delivery
// close it with one recovery mail; a stalled destination alarms too.
func testMonitor(t *testing.T, st outbox.Store) {
	ctx := t.Context()
	const topic = "musterstadt/bau.baugenehmigung/bauamt"
	clock := time.Now()
	newMonitor := func() *notify.Monitor {
		m, err := notify.NewMonitor(notify.MonitorConfig{Store: st, Config: testConfig(), Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := newMonitor(), newMonitor()
	check := func(times int) {
		t.Helper()
		for range times {
			for _, m := range []*notify.Monitor{a, b} {
				if err := m.Check(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	alarmMails := func() []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, state := range []outbox.State{outbox.StatePending} {
			msgs, _, err := st.List(ctx, outbox.ListFilter{State: state, Tenant: "musterstadt", Procedure: "~mail", Destination: "alarm"})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				var mail map[string]any
				if err := json.Unmarshal(m.Payload, &mail); err != nil {
					t.Fatal(err)
				}
				mail["alarm"] = m.Metadata[notify.MetaAlarm]
				out = append(out, mail)
			}
		}
		return out
	}

	check(3)
	if n := len(alarmMails()); n != 0 {
		t.Fatalf("%d alarm mails without an incident", n)
	}

	// A dead letter of a submission.
	sub := uuid.NewString()
	msg := outbox.Message{ID: uuid.NewString(), Topic: topic, SubmissionID: sub, Payload: []byte("<x/>"),
		Metadata: map[string]string{outbox.MetaSubmissionID: sub}}
	err := st.InTx(ctx, func(tx outbox.Tx) error {
		if _, _, err := tx.CreateSubmission(ctx, outbox.Submission{ID: sub, PortalID: "buergerportal", TenantID: "musterstadt",
			ProcedureID: "bau.baugenehmigung", RequestHash: []byte{1}, Payload: []byte("{}"), CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.InsertMessages(ctx, []outbox.Message{msg})
	})
	if err != nil {
		t.Fatal(err)
	}
	complete := func(outcome outbox.Outcome) {
		t.Helper()
		if _, err := st.Claim(ctx, outbox.ClaimParams{Topic: topic, Owner: "test", Limit: 1, Lease: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if err := st.Complete(ctx, outbox.Completion{Topic: topic, ID: msg.ID, Owner: "test", Outcome: outcome,
			StartedAt: time.Now(), FinishedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	complete(outbox.OutcomeDead)
	check(3)
	mails := alarmMails()
	if len(mails) != 1 {
		t.Fatalf("%d alarm mails for one dead letter, want 1: %v", len(mails), mails)
	}
	if text := mails[0]["text"].(string); !strings.Contains(text, sub) || mails[0]["alarm"] != "dead:"+topic {
		t.Errorf("alarm mail %v does not list submission %s", mails[0], sub)
	}
	if to := mails[0]["to"].([]any); len(to) != 1 || to[0] != "it@musterstadt.example" {
		t.Errorf("alarm mail to %v", to)
	}

	// Replayed: still pending, not dead; delivered: recovered.
	if err := st.Replay(ctx, outbox.ReplayRequest{ID: msg.ID, Topic: topic, By: "test", Reason: "fixed"}); err != nil {
		t.Fatal(err)
	}
	complete(outbox.OutcomeDelivered)
	check(3)
	mails = alarmMails()
	if len(mails) != 2 || !strings.Contains(mails[1]["subject"].(string), "Entwarnung") || mails[1]["alarm"] != "dead:"+topic {
		t.Fatalf("after recovery: %v, want the alarm and one recovery mail", mails)
	}

	// Stalled: a message waits longer than stalled_after (default 30m) without a delivery.
	stalled := outbox.Message{ID: uuid.NewString(), Topic: topic, Payload: []byte("<x/>")}
	if err := st.InTx(ctx, func(tx outbox.Tx) error { return tx.InsertMessages(ctx, []outbox.Message{stalled}) }); err != nil {
		t.Fatal(err)
	}
	check(2)
	if n := len(alarmMails()); n != 2 {
		t.Fatalf("%d mails after a fresh pending message, want still 2", n)
	}
	clock = clock.Add(31 * time.Minute)
	check(3)
	mails = alarmMails()
	if len(mails) != 3 || mails[2]["alarm"] != "stalled:"+topic {
		t.Fatalf("stalled: %v, want a third mail for the stalled alarm", mails)
	}
}
