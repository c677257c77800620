package notify

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"text/template"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

//go:embed templates/*.txt
var templateFS embed.FS

// Metadata keys and values of notification messages.
const (
	// MetaNotification names the kind of notification: NotificationOffice,
	// NotificationAlarm or NotificationCallback.
	MetaNotification     = "notification"
	NotificationOffice   = "office"
	NotificationAlarm    = "alarm"
	NotificationCallback = "callback"
	// MetaAlarm is the alarm key of an alarm or recovery mail.
	MetaAlarm = "alarm"
)

// Media types of notification payloads.
const (
	// MailContentType is smtp.ContentType: a JSON mail.
	MailContentType = "application/vnd.amtsbote.mail+json"
	// CallbackContentType is the media type of a callback event.
	CallbackContentType = "application/json"
)

// mail is the payload of a mail message, the JSON adapters/smtp.Mail reads.
type mail struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
}

// Callback event types and the statuses they report.
const (
	EventTypeAccepted  = "submission.accepted"
	EventTypeDelivered = "submission.delivered"
	EventTypeFailed    = "submission.failed"
	EventTypeReplayed  = "submission.replayed"
	// EventTypeAnswer: an answer from the authority was matched or
	// assigned to the submission; Status is the answer's status (see
	// docs/api.md) and AnswerID names it in the submission's answers.
	EventTypeAnswer = "submission.answer"
)

// CallbackEvent is the JSON body of a status callback. It holds ids, states
// and times only.
type CallbackEvent struct {
	// ID is the event's id, also sent as Amtsbote-Event-Id: deduplicate by it.
	ID string `json:"id"`
	// Type is one of the EventType constants.
	Type string `json:"type"`
	// Status is the new status: accepted, delivered, failed or replayed.
	Status       string `json:"status"`
	SubmissionID string `json:"submission_id"`
	Portal       string `json:"portal"`
	Tenant       string `json:"tenant"`
	Procedure    string `json:"procedure"`
	// Destination and MessageID name the destination and its outbox message;
	// empty for accepted, which concerns the whole submission.
	Destination string `json:"destination,omitempty"`
	MessageID   string `json:"message_id,omitempty"`
	// AnswerID names the answer of a submission.answer event.
	AnswerID   string    `json:"answer_id,omitempty"`
	OccurredAt time.Time `json:"occurred_at"`
}

// callbackTypes maps the audit events that are status changes to their event type and status.
var callbackTypes = map[outbox.EventKind][2]string{
	outbox.EventAccepted:  {EventTypeAccepted, "accepted"},
	outbox.EventDelivered: {EventTypeDelivered, "delivered"},
	outbox.EventDead:      {EventTypeFailed, "failed"},
	outbox.EventReplayed:  {EventTypeReplayed, "replayed"},
}

// officeMailNamespace derives the id of a submission's office mail, so that
// several delivered events of one submission yield one mail (the store
// ignores a second insert of a message id on its topic).
var officeMailNamespace = uuid.MustParse("5d0f4f7e-3c62-4b0e-9a57-6c1b1f0a8e21")

// OfficeMailID is the outbox message id of a submission's office mail.
func OfficeMailID(submissionID string) string {
	return uuid.NewSHA1(officeMailNamespace, []byte(submissionID+"/office-mail")).String()
}

// ReactorConfig configures a Reactor.
type ReactorConfig struct {
	// Config is the validated configuration. Required.
	Config *config.Config
	// Location is the time zone of times in mails. Default UTC.
	Location *time.Location
	// Logger receives errors of templates that fell back to the default. Default: discard.
	Logger *slog.Logger
	// NewID returns callback event ids. Default uuid.NewString.
	NewID func() string
}

// Reactor derives office mails and status callbacks from audit events (outbox.Reactor).
type Reactor struct {
	routes    map[string]*officeRoute // by "tenant/procedure", office mail enabled
	callbacks map[string]bool         // portals with a callback
	location  *time.Location
	logger    *slog.Logger
	newID     func() string
	defaults  mailTemplates
}

type officeRoute struct {
	tenant        *config.Tenant
	procedureName string
	after         map[string]bool
	to            []string
	link          *template.Template // nil without a link
	templates     mailTemplates
}

type mailTemplates struct{ subject, body *template.Template }

var _ outbox.Reactor = (*Reactor)(nil)

// NewReactor parses the templates of cfg.Config and returns a Reactor.
func NewReactor(cfg ReactorConfig) (*Reactor, error) {
	if cfg.Config == nil {
		return nil, errors.New("notify: reactor config: Config is nil")
	}
	defaults, err := defaultTemplates()
	if err != nil {
		return nil, err
	}
	r := &Reactor{
		routes:    map[string]*officeRoute{},
		callbacks: map[string]bool{},
		location:  cfg.Location,
		logger:    cfg.Logger,
		newID:     cfg.NewID,
		defaults:  defaults,
	}
	if r.location == nil {
		r.location = time.UTC
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.newID == nil {
		r.newID = uuid.NewString
	}
	c := cfg.Config
	for ti := range c.Tenants {
		t := &c.Tenants[ti]
		for ri := range t.Procedures {
			route := &t.Procedures[ri]
			if !route.Notify.Office {
				continue
			}
			or := &officeRoute{tenant: t, procedureName: route.Procedure, after: map[string]bool{},
				to: route.OfficeRecipients(t), templates: defaults}
			for _, id := range route.AfterDestinations() {
				or.after[id] = true
			}
			if p, ok := c.Procedure(route.Procedure); ok {
				if p.Name != "" {
					or.procedureName = p.Name
				}
				if or.templates, err = parseTemplates(p.ID, p.Mail, defaults); err != nil {
					return nil, err
				}
			}
			if route.Notify.Link != "" {
				if or.link, err = config.ParseMailTemplate("link", route.Notify.Link); err != nil {
					return nil, fmt.Errorf("notify: tenant %s, procedure %s: link: %w", t.ID, route.Procedure, err)
				}
			}
			r.routes[t.ID+"/"+route.Procedure] = or
		}
	}
	for _, p := range c.Portals {
		if p.Callback != nil {
			r.callbacks[p.ID] = true
		}
	}
	return r, nil
}

// Active reports whether the Reactor has anything to do.
func (r *Reactor) Active() bool { return len(r.routes) > 0 || len(r.callbacks) > 0 }

func defaultTemplates() (mailTemplates, error) {
	var t mailTemplates
	for _, f := range []struct {
		name string
		dst  **template.Template
	}{{"office_subject.txt", &t.subject}, {"office_body.txt", &t.body}} {
		text, err := templateFS.ReadFile("templates/" + f.name)
		if err != nil {
			return t, err
		}
		if *f.dst, err = config.ParseMailTemplate(f.name, string(text)); err != nil {
			return t, fmt.Errorf("notify: default template %s: %w", f.name, err)
		}
	}
	return t, nil
}

func parseTemplates(procedure string, m config.ProcedureMail, defaults mailTemplates) (mailTemplates, error) {
	t := defaults
	var err error
	if m.Subject != "" {
		if t.subject, err = config.ParseMailTemplate("subject", m.Subject); err != nil {
			return t, fmt.Errorf("notify: procedure %s: mail.subject: %w", procedure, err)
		}
	}
	if m.Body != "" {
		if t.body, err = config.ParseMailTemplate("body", m.Body); err != nil {
			return t, fmt.Errorf("notify: procedure %s: mail.body: %w", procedure, err)
		}
	}
	return t, nil
}

// React returns the office mails and callbacks of events. Events of
// notification topics cause nothing (no callback about a callback).
func (r *Reactor) React(ctx context.Context, events []outbox.Event) ([]outbox.Message, error) {
	var msgs []outbox.Message
	for _, e := range events {
		if e.SubmissionID == "" || config.IsNotificationTopic(e.Topic) {
			continue
		}
		if e.Kind == outbox.EventAccepted && e.Topic != "" {
			continue
		}
		if m, ok, err := r.officeMail(ctx, e); err != nil {
			return nil, err
		} else if ok {
			msgs = append(msgs, m)
		}
		if m, ok, err := r.callback(e); err != nil {
			return nil, err
		} else if ok {
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

// destination returns the destination id of a submission topic.
func destination(topic string) string {
	parts := strings.Split(topic, "/")
	if len(parts) != 3 {
		return ""
	}
	return parts[2]
}

func (r *Reactor) officeMail(ctx context.Context, e outbox.Event) (outbox.Message, bool, error) {
	if e.Kind != outbox.EventDelivered {
		return outbox.Message{}, false, nil
	}
	or, ok := r.routes[e.Tenant+"/"+e.Procedure]
	dest := destination(e.Topic)
	if !ok || !or.after[dest] {
		return outbox.Message{}, false, nil
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	data := config.MailTemplateData{
		SubmissionID: e.SubmissionID, Tenant: e.Tenant, TenantName: or.tenant.Name,
		Procedure: e.Procedure, ProcedureName: or.procedureName, Destination: dest,
		DeliveredAt: at.In(r.location),
	}
	if or.link != nil {
		link, err := render(or.link, data)
		if err != nil {
			r.logger.ErrorContext(ctx, "office mail link template failed; mail without link",
				slog.String("submission_id", e.SubmissionID), slog.Any("error", err))
		}
		data.Link = oneLine(link)
	}
	subject, err := render(or.templates.subject, data)
	if err != nil {
		r.logger.ErrorContext(ctx, "office mail subject template failed; default used",
			slog.String("submission_id", e.SubmissionID), slog.Any("error", err))
		subject, _ = render(r.defaults.subject, data)
	}
	body, err := render(or.templates.body, data)
	if err != nil {
		r.logger.ErrorContext(ctx, "office mail body template failed; default used",
			slog.String("submission_id", e.SubmissionID), slog.Any("error", err))
		body, _ = render(r.defaults.body, data)
	}
	payload, err := json.Marshal(mail{To: or.to, Subject: oneLine(subject), Text: body})
	if err != nil {
		return outbox.Message{}, false, err
	}
	return outbox.Message{
		ID:           OfficeMailID(e.SubmissionID),
		Topic:        config.OfficeMailTopic(e.Tenant),
		SubmissionID: e.SubmissionID,
		Payload:      payload,
		Metadata: map[string]string{
			outbox.MetaContentType: MailContentType,
			MetaNotification:       NotificationOffice,
			outbox.MetaTenant:      e.Tenant,
			outbox.MetaProcedure:   e.Procedure,
		},
	}, true, nil
}

func (r *Reactor) callback(e outbox.Event) (outbox.Message, bool, error) {
	kind, ok := callbackTypes[e.Kind]
	if e.Kind == outbox.EventAnswer {
		kind, ok = [2]string{EventTypeAnswer, e.Detail}, e.Detail != ""
	}
	if !ok || !r.callbacks[e.PortalID] {
		return outbox.Message{}, false, nil
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	ev := CallbackEvent{
		ID: r.newID(), Type: kind[0], Status: kind[1], SubmissionID: e.SubmissionID,
		Portal: e.PortalID, Tenant: e.Tenant, Procedure: e.Procedure, OccurredAt: at.UTC(),
	}
	switch {
	case e.Kind == outbox.EventAnswer:
		ev.AnswerID = e.MessageID
	case e.Topic != "":
		ev.Destination, ev.MessageID = destination(e.Topic), e.MessageID
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return outbox.Message{}, false, err
	}
	return outbox.Message{
		ID:           ev.ID,
		Topic:        config.CallbackTopic(e.PortalID),
		SubmissionID: e.SubmissionID,
		Payload:      payload,
		Metadata: map[string]string{
			outbox.MetaContentType: CallbackContentType,
			MetaNotification:       NotificationCallback,
			outbox.MetaTenant:      e.Tenant,
			outbox.MetaProcedure:   e.Procedure,
		},
	}, true, nil
}

func render(t *template.Template, data config.MailTemplateData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// oneLine replaces line breaks by spaces and trims.
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
}
