package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// MaxListedSubmissions is how many affected submission ids an alarm mail lists.
const MaxListedSubmissions = 50

// Alarm kinds, the first part of an alarm key "<kind>:<topic>".
const (
	AlarmDead    = "dead"
	AlarmStalled = "stalled"
)

// MonitorStore is the part of the store the Monitor uses.
type MonitorStore interface {
	InTx(ctx context.Context, fn func(tx outbox.Tx) error) error
	Stats(ctx context.Context) ([]outbox.TopicStats, error)
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
}

// MonitorConfig configures a Monitor.
type MonitorConfig struct {
	// Store is the outbox store. Required.
	Store MonitorStore
	// Config is the validated configuration: tenants (their technical
	// contacts and routes) and alarms. Required.
	Config *config.Config
	// Location is the time zone of times in mails. Default UTC.
	Location *time.Location
	// Logger receives a record per opened and cleared alarm and failed checks. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Monitor mails a tenant's technical contact once when a destination has
// dead messages or has stalled, and once when that has cleared.
type Monitor struct {
	store MonitorStore
	// watched are the tenants it alarms and their topics; Reconfigure
	// replaces them (a reload), each check reads them once.
	watched      atomic.Pointer[watched]
	interval     time.Duration
	stalledAfter time.Duration
	location     *time.Location
	logger       *slog.Logger
	now          func() time.Time
}

// NewMonitor returns a Monitor for the tenants of cfg.Config that have a
// technical contact.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	if cfg.Store == nil || cfg.Config == nil {
		return nil, errors.New("notify: monitor config: Store and Config are required")
	}
	m := &Monitor{
		store:        cfg.Store,
		interval:     cfg.Config.Alarms.EffectiveCheckInterval(),
		stalledAfter: cfg.Config.Alarms.EffectiveStalledAfter(),
		location:     cfg.Location,
		logger:       cfg.Logger,
		now:          cfg.Now,
	}
	if m.location == nil {
		m.location = time.UTC
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.Reconfigure(cfg.Config)
	return m, nil
}

// watched are the tenants with a technical contact and their topics.
type watched struct {
	tenants map[string]*config.Tenant // with a technical contact
	topics  map[string][]string       // configured topics per tenant
}

// Reconfigure replaces the tenants to alarm with those of cfg (a reload);
// the check interval and stall time stay. cfg must not change afterwards.
func (m *Monitor) Reconfigure(cfg *config.Config) {
	w := &watched{tenants: map[string]*config.Tenant{}, topics: map[string][]string{}}
	for ti := range cfg.Tenants {
		t := &cfg.Tenants[ti]
		if t.Contacts.Technical == "" {
			continue
		}
		w.tenants[t.ID] = t
		topics := []string{config.OfficeMailTopic(t.ID)}
		for _, r := range t.Procedures {
			for _, d := range r.Destinations {
				topics = append(topics, config.Topic(t.ID, r.Procedure, d.ID))
			}
		}
		w.topics[t.ID] = topics
	}
	m.watched.Store(w)
}

// Active reports whether any tenant has a technical contact to alarm.
func (m *Monitor) Active() bool { return len(m.watched.Load().tenants) > 0 }

// Run checks every check interval, while any tenant has a technical
// contact, until ctx ends; failed checks are logged
// and retried at the next interval. It returns nil when ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		// Without a tenant to alarm (yet: a reload may add one) nothing is read.
		if m.Active() {
			if err := m.Check(ctx); err != nil && ctx.Err() == nil {
				m.logger.WarnContext(ctx, "alarm check failed", slog.Any("error", err))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// condition is the state of one alarm key found by a check.
type condition struct {
	key, kind, tenant, topic string
	open                     bool
	stats                    outbox.TopicStats
	submissions              []string // affected, at most MaxListedSubmissions
	since                    time.Time
}

// Check looks at the outbox once, opens and closes alarms and queues the
// alarm and recovery mails of those that changed, in one transaction.
func (m *Monitor) Check(ctx context.Context) error {
	stats, err := m.store.Stats(ctx)
	if err != nil {
		return fmt.Errorf("alarm check: stats: %w", err)
	}
	w := m.watched.Load()
	byTopic := make(map[string]outbox.TopicStats, len(stats))
	topics := map[string][]string{}
	for tenant, ts := range w.topics {
		topics[tenant] = slices.Clone(ts)
	}
	for _, s := range stats {
		byTopic[s.Topic] = s
		tenant, _, _ := strings.Cut(s.Topic, "/")
		if w.tenants[tenant] != nil && s.Topic != config.AlarmMailTopic(tenant) && !slices.Contains(topics[tenant], s.Topic) {
			topics[tenant] = append(topics[tenant], s.Topic) // e.g. a destination no longer configured
		}
	}
	now := m.now()
	var conds []condition
	for _, tenant := range slices.Sorted(maps.Keys(topics)) {
		for _, topic := range topics[tenant] {
			s := byTopic[topic]
			dead := condition{key: AlarmDead + ":" + topic, kind: AlarmDead, tenant: tenant, topic: topic,
				open: s.Dead > 0, stats: s}
			last := s.LastDelivered
			if s.OldestPending.After(last) {
				last = s.OldestPending
			}
			stalled := condition{key: AlarmStalled + ":" + topic, kind: AlarmStalled, tenant: tenant, topic: topic,
				open: s.Pending > 0 && !last.IsZero() && now.Sub(last) > m.stalledAfter, stats: s, since: last}
			if dead.open {
				if dead.submissions, err = m.submissions(ctx, topic, outbox.StateDead); err != nil {
					return err
				}
			}
			if stalled.open {
				for _, st := range []outbox.State{outbox.StatePending, outbox.StateRetrying} {
					ids, err := m.submissions(ctx, topic, st)
					if err != nil {
						return err
					}
					stalled.submissions = append(stalled.submissions, ids...)
				}
				stalled.submissions = stalled.submissions[:min(len(stalled.submissions), MaxListedSubmissions)]
			}
			conds = append(conds, dead, stalled)
		}
	}

	var changed []condition
	err = m.store.InTx(ctx, func(tx outbox.Tx) error {
		changed = changed[:0]
		var msgs []outbox.Message
		for _, c := range conds {
			ok, err := tx.SetAlarm(ctx, c.key, c.open)
			if err != nil {
				return fmt.Errorf("set alarm %s: %w", c.key, err)
			}
			if !ok {
				continue
			}
			msg, err := m.mail(w, c, now)
			if err != nil {
				return err
			}
			msgs = append(msgs, msg)
			changed = append(changed, c)
		}
		if len(msgs) == 0 {
			return nil
		}
		return tx.InsertMessages(ctx, msgs)
	})
	if err != nil {
		return fmt.Errorf("alarm check: %w", err)
	}
	for _, c := range changed {
		msg := "alarm cleared"
		if c.open {
			msg = "alarm opened"
		}
		m.logger.InfoContext(ctx, msg, slog.String("alarm", c.key), slog.String("tenant", c.tenant),
			slog.String("topic", c.topic), slog.Int("dead", c.stats.Dead), slog.Int("pending", c.stats.Pending))
	}
	return nil
}

// submissions lists the submission ids of topic's messages in state st.
func (m *Monitor) submissions(ctx context.Context, topic string, st outbox.State) ([]string, error) {
	parts := strings.SplitN(topic, "/", 3)
	if len(parts) != 3 {
		return nil, nil
	}
	msgs, _, err := m.store.List(ctx, outbox.ListFilter{State: st, Tenant: parts[0], Procedure: parts[1],
		Destination: parts[2], Limit: MaxListedSubmissions})
	if err != nil {
		return nil, fmt.Errorf("alarm check: list %s messages of %s: %w", st, topic, err)
	}
	var ids []string
	for _, msg := range msgs {
		if msg.Topic == topic && msg.SubmissionID != "" && !slices.Contains(ids, msg.SubmissionID) {
			ids = append(ids, msg.SubmissionID)
		}
	}
	return ids, nil
}

// mail builds the alarm (c.open) or recovery mail of c.
func (m *Monitor) mail(w *watched, c condition, now time.Time) (outbox.Message, error) {
	t := w.tenants[c.tenant]
	var subject string
	var b strings.Builder
	at := now.In(m.location).Format("02.01.2006, 15:04")
	what := map[string]string{
		AlarmDead:    "Nachrichten konnten endgültig nicht zugestellt werden (Dead Letters)",
		AlarmStalled: fmt.Sprintf("seit mehr als %s wurde nichts zugestellt, obwohl Nachrichten warten", m.stalledAfter),
	}[c.kind]
	if c.open {
		subject = fmt.Sprintf("[Amtsbote] Störung: %s", c.topic)
		fmt.Fprintf(&b, "Guten Tag,\n\nAmtsbote meldet eine Störung der Zustellung.\n\n")
		fmt.Fprintf(&b, "Ziel:        %s\nStörung:     %s\nFestgestellt: %s Uhr\n", c.topic, what, at)
		switch c.kind {
		case AlarmDead:
			fmt.Fprintf(&b, "Betroffen:   %d Nachricht(en)\n", c.stats.Dead)
		case AlarmStalled:
			fmt.Fprintf(&b, "Wartend:     %d Nachricht(en), davon %d mit Fehlversuchen\n", c.stats.Pending, c.stats.Retrying)
		}
		if len(c.submissions) > 0 {
			fmt.Fprintf(&b, "\nBetroffene Einreichungen (IDs")
			if len(c.submissions) == MaxListedSubmissions {
				fmt.Fprintf(&b, ", die ersten %d", MaxListedSubmissions)
			}
			fmt.Fprintf(&b, "):\n")
			for _, id := range c.submissions {
				fmt.Fprintf(&b, "  %s\n", id)
			}
		}
		if c.kind == AlarmDead {
			fmt.Fprintf(&b, "\nBitte prüfen Sie das Zielsystem und stellen Sie die Nachrichten danach erneut zu\n"+
				"(amtsbote outbox replay) oder verwerfen Sie sie (amtsbote outbox discard).\n")
		} else {
			fmt.Fprintf(&b, "\nBitte prüfen Sie die Erreichbarkeit des Zielsystems.\n")
		}
		fmt.Fprintf(&b, "Sie erhalten eine Entwarnung, sobald die Störung behoben ist; bis dahin keine weitere Nachricht dazu.\n")
	} else {
		subject = fmt.Sprintf("[Amtsbote] Entwarnung: %s", c.topic)
		fmt.Fprintf(&b, "Guten Tag,\n\ndie gemeldete Störung ist behoben.\n\n")
		fmt.Fprintf(&b, "Ziel:        %s\nStörung:     %s\nBehoben:     %s Uhr\n", c.topic, what, at)
	}
	fmt.Fprintf(&b, "\nDiese Nachricht wurde automatisch erstellt.\n--\nAmtsbote\n")
	payload, err := json.Marshal(mail{To: []string{t.Contacts.Technical}, Subject: subject, Text: b.String()})
	if err != nil {
		return outbox.Message{}, err
	}
	state := "open"
	if !c.open {
		state = "cleared"
	}
	return outbox.Message{
		ID:      uuid.NewString(),
		Topic:   config.AlarmMailTopic(c.tenant),
		Payload: payload,
		Metadata: map[string]string{
			outbox.MetaContentType: MailContentType,
			MetaNotification:       NotificationAlarm,
			MetaAlarm:              c.key,
			"alarm_state":          state,
			outbox.MetaTenant:      c.tenant,
		},
	}, nil
}
