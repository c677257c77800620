package notify_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/notify"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

func testConfig() *config.Config {
	return &config.Config{
		Mail:       config.Mail{Host: "smtp.example", From: "amtsbote@musterstadt.example"},
		Procedures: []config.Procedure{{ID: "bau.baugenehmigung", Name: "Bauantrag"}},
		Tenants: []config.Tenant{{
			ID: "musterstadt", Name: "Stadt Musterstadt",
			Contacts: config.Contacts{Office: "bauamt@musterstadt.example", Technical: "it@musterstadt.example"},
			Procedures: []config.Route{{
				Procedure: "bau.baugenehmigung",
				Destinations: []config.Destination{
					{ID: "eakte", Format: config.FormatXDOMEA}, {ID: "bauamt", Format: config.FormatXOEV},
				},
				Notify: config.RouteNotify{Office: true, Link: "https://fv.example/{{.SubmissionID}}"},
			}},
		}},
		Portals: []config.Portal{{ID: "buergerportal", Callback: &config.Callback{URL: "https://p.example/cb"}}},
	}
}

func event(kind outbox.EventKind, topic string) outbox.Event {
	return outbox.Event{SubmissionID: "sub-1", PortalID: "buergerportal", Tenant: "musterstadt",
		Procedure: "bau.baugenehmigung", MessageID: "msg-" + string(kind), Topic: topic, Kind: kind,
		At: time.Date(2026, 3, 2, 13, 5, 0, 0, time.UTC)}
}

func TestReactor(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	r, err := notify.NewReactor(notify.ReactorConfig{Config: testConfig(), Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	const bauamt, eakte = "musterstadt/bau.baugenehmigung/bauamt", "musterstadt/bau.baugenehmigung/eakte"
	tests := []struct {
		name   string
		events []outbox.Event
		topics []string
	}{
		{"accepted: callback", []outbox.Event{event(outbox.EventAccepted, "")}, []string{"~portal/buergerportal/callback"}},
		{"delivered to the Fachverfahren: office mail and callback", []outbox.Event{event(outbox.EventDelivered, bauamt)},
			[]string{"musterstadt/~mail/office", "~portal/buergerportal/callback"}},
		{"delivered to the E-Akte: callback only", []outbox.Event{event(outbox.EventDelivered, eakte)},
			[]string{"~portal/buergerportal/callback"}},
		{"dead and replayed: callbacks", []outbox.Event{event(outbox.EventDead, bauamt), event(outbox.EventReplayed, bauamt)},
			[]string{"~portal/buergerportal/callback", "~portal/buergerportal/callback"}},
		{"attempts and transformed: nothing", []outbox.Event{event(outbox.EventAttempt, bauamt), event(outbox.EventTransformed, bauamt)}, nil},
		{"notification topics: nothing", []outbox.Event{
			event(outbox.EventDelivered, "musterstadt/~mail/office"), event(outbox.EventDead, "~portal/buergerportal/callback"),
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, err := r.React(t.Context(), tt.events)
			if err != nil {
				t.Fatal(err)
			}
			var topics []string
			for _, m := range msgs {
				topics = append(topics, m.Topic)
				if m.SubmissionID != "sub-1" {
					t.Errorf("%s: follow-up without its cause's submission id", m.Topic)
				}
				if _, dup := m.Metadata[outbox.MetaSubmissionID]; dup {
					t.Errorf("%s: the submission id also in the metadata, beside Message.SubmissionID", m.Topic)
				}
			}
			if !slices.Equal(topics, tt.topics) {
				t.Errorf("topics = %v, want %v", topics, tt.topics)
			}
		})
	}

	msgs, err := r.React(t.Context(), []outbox.Event{event(outbox.EventDelivered, bauamt)})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.React(t.Context(), []outbox.Event{event(outbox.EventDelivered, bauamt)})
	if msgs[0].ID != notify.OfficeMailID("sub-1") || again[0].ID != msgs[0].ID {
		t.Errorf("office mail ids %s and %s, want both %s", msgs[0].ID, again[0].ID, notify.OfficeMailID("sub-1"))
	}
	if again[1].ID == msgs[1].ID {
		t.Error("two callback events share an id")
	}
	var mail struct {
		To            []string
		Subject, Text string
	}
	if err := json.Unmarshal(msgs[0].Payload, &mail); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mail.To, []string{"bauamt@musterstadt.example"}) || mail.Subject != "Neuer Eingang: Bauantrag (sub-1)" {
		t.Errorf("mail to %v subject %q", mail.To, mail.Subject)
	}
	for _, want := range []string{"Referenz:    sub-1", "Zugestellt:  02.03.2026, 14:05 Uhr", "Vorgang:     https://fv.example/sub-1", "Stadt Musterstadt"} {
		if !strings.Contains(mail.Text, want) {
			t.Errorf("mail text lacks %q:\n%s", want, mail.Text)
		}
	}
	var ev notify.CallbackEvent
	if err := json.Unmarshal(msgs[1].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	want := notify.CallbackEvent{ID: msgs[1].ID, Type: notify.EventTypeDelivered, Status: "delivered", SubmissionID: "sub-1",
		Portal: "buergerportal", Tenant: "musterstadt", Procedure: "bau.baugenehmigung", Destination: "bauamt",
		MessageID: "msg-delivered", OccurredAt: time.Date(2026, 3, 2, 13, 5, 0, 0, time.UTC)}
	if ev != want {
		t.Errorf("callback event = %+v, want %+v", ev, want)
	}
}

func TestReactorProcedureTemplates(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Procedures[0].Mail = config.ProcedureMail{Subject: "Bauantrag {{.SubmissionID}}\nX", Body: "Nur {{.Destination}}"}
	r, err := notify.NewReactor(notify.ReactorConfig{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.React(t.Context(), []outbox.Event{event(outbox.EventDelivered, "musterstadt/bau.baugenehmigung/bauamt")})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("React: %v, %d messages", err, len(msgs))
	}
	if got := string(msgs[0].Payload); !strings.Contains(got, `"subject":"Bauantrag sub-1 X"`) || !strings.Contains(got, `"text":"Nur bauamt"`) {
		t.Errorf("payload %s", got)
	}
}

func TestReactorAnswerCallback(t *testing.T) {
	t.Parallel()
	r, err := notify.NewReactor(notify.ReactorConfig{Config: testConfig()})
	if err != nil {
		t.Fatal(err)
	}
	e := event(outbox.EventAnswer, "")
	e.MessageID, e.Detail = "answer-1", "case_number"
	msgs, err := r.React(t.Context(), []outbox.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Topic != "~portal/buergerportal/callback" {
		t.Fatalf("follow-ups %+v, want one callback (and no office mail)", msgs)
	}
	var ev notify.CallbackEvent
	if err := json.Unmarshal(msgs[0].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	want := notify.CallbackEvent{ID: msgs[0].ID, Type: notify.EventTypeAnswer, Status: "case_number", SubmissionID: "sub-1",
		Portal: "buergerportal", Tenant: "musterstadt", Procedure: "bau.baugenehmigung", AnswerID: "answer-1",
		OccurredAt: time.Date(2026, 3, 2, 13, 5, 0, 0, time.UTC)}
	if ev != want {
		t.Errorf("callback event = %+v, want %+v", ev, want)
	}
	// Without a status there is nothing to report.
	e.Detail = ""
	if msgs, _ := r.React(t.Context(), []outbox.Event{e}); len(msgs) != 0 {
		t.Errorf("answer event without status: %d follow-ups", len(msgs))
	}
}
