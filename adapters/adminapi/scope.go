package adminapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// Operator is who an admin request (or a console session) acts as: the
// holder of the full admin key, or a scoped operator from
// config.Admin.Operators.
type Operator struct {
	// ID is the operator's id; empty for the full admin key.
	ID string
	// Name is the operator's display name.
	Name string
	// tenants are the tenants in scope, in configuration order; nil for
	// the full admin key (every tenant).
	tenants []string
}

// FullAdmin is the holder of the full admin key.
var FullAdmin = Operator{}

// ScopedOperator returns the operator of o.
func ScopedOperator(o config.Operator) Operator {
	name := o.Name
	if name == "" {
		name = o.ID
	}
	// Never nil: a nil scope is the full admin key's, and an operator
	// without tenants must see nothing, not everything.
	return Operator{ID: o.ID, Name: name, tenants: append([]string{}, o.Tenants...)}
}

// Authenticate returns the operator holding key, or ok=false.
func Authenticate(a config.Admin, key string) (Operator, bool) {
	op, full, ok := a.Authenticate(key)
	switch {
	case !ok:
		return Operator{}, false
	case full:
		return FullAdmin, true
	}
	return ScopedOperator(*op), true
}

// Full reports whether o holds the full admin key.
func (o Operator) Full() bool { return o.tenants == nil }

// Tenants lists the tenants in scope; nil for the full admin key.
func (o Operator) Tenants() []string { return slices.Clone(o.tenants) }

// Allows reports whether tenant is in o's scope.
func (o Operator) Allows(tenant string) bool {
	return o.Full() || (tenant != "" && slices.Contains(o.tenants, tenant))
}

// AllowsTopic reports whether a message of topic ("<tenant>/...") is in o's
// scope. Topics without a tenant part (none exist for submissions) are
// only in the full admin key's.
func (o Operator) AllowsTopic(topic string) bool {
	if o.Full() {
		return true
	}
	tenant, _, ok := strings.Cut(topic, "/")
	return ok && o.Allows(tenant)
}

// By names o as the author of a replay or discard in the audit trail,
// with the client's address: "admin-api (addr)" for the full admin key,
// "admin-api:<operator id> (addr)" for an operator. prefix replaces
// "admin-api" for other front ends, e.g. the console.
func (o Operator) By(prefix, remoteAddr string) string {
	if o.ID != "" {
		prefix += ":" + o.ID
	}
	return prefix + " (" + remoteAddr + ")"
}

type operatorKey struct{}

// WithOperator returns ctx carrying o.
func WithOperator(ctx context.Context, o Operator) context.Context {
	return context.WithValue(ctx, operatorKey{}, o)
}

// OperatorFrom returns the operator of an authenticated request. Every
// handler behind Handler.ServeHTTP has one; ok is false elsewhere, and a
// caller must then refuse (no operator is not the full admin).
func OperatorFrom(ctx context.Context) (o Operator, ok bool) {
	o, ok = ctx.Value(operatorKey{}).(Operator)
	return o, ok
}

// errOutOfScope is what every scoped lookup answers for another tenant's
// message or submission: the same 404 as for one that does not exist.
var errOutOfScope = outbox.ErrNotFound

// ScopedMessage reads the message id (of topic, when the id exists on
// several) and returns outbox.ErrNotFound when it is outside o's scope, so
// that another tenant's message looks like no message at all.
func ScopedMessage(ctx context.Context, st interface {
	Message(ctx context.Context, id string) (outbox.Message, error)
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
}, o Operator, id, topic string) (outbox.Message, error) {
	m, err := st.Message(ctx, id)
	if errors.Is(err, outbox.ErrAmbiguous) && topic != "" {
		return messageOnTopic(ctx, st, o, id, topic)
	}
	if err != nil {
		return outbox.Message{}, err
	}
	if topic != "" && m.Topic != topic || !o.AllowsTopic(m.Topic) {
		return outbox.Message{}, errOutOfScope
	}
	return m, nil
}

// messageOnTopic finds message id on topic by listing the topic.
func messageOnTopic(ctx context.Context, st interface {
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
}, o Operator, id, topic string) (outbox.Message, error) {
	parts := strings.SplitN(topic, "/", 3)
	if len(parts) != 3 || !o.AllowsTopic(topic) {
		return outbox.Message{}, errOutOfScope
	}
	f := outbox.ListFilter{Tenant: parts[0], Procedure: parts[1], Destination: parts[2], Limit: outbox.MaxListLimit}
	for {
		msgs, next, err := st.List(ctx, f)
		if err != nil {
			return outbox.Message{}, err
		}
		for _, m := range msgs {
			if m.ID == id && m.Topic == topic {
				return m, nil
			}
		}
		if next == "" {
			return outbox.Message{}, errOutOfScope
		}
		f.After = next
	}
}

// ScopedList is Store.List within o's scope. A filter naming a tenant
// outside the scope answers outbox.ErrNotFound. For an operator of several
// tenants without a tenant filter it lists tenant after tenant (in the
// order of the operator's configuration), each oldest first; its cursor is
// then "<tenant index>.<cursor>".
func ScopedList(ctx context.Context, st interface {
	List(ctx context.Context, f outbox.ListFilter) ([]outbox.Message, string, error)
}, o Operator, f outbox.ListFilter) ([]outbox.Message, string, error) {
	switch {
	case o.Full():
		return st.List(ctx, f)
	case f.Tenant != "":
		if !o.Allows(f.Tenant) {
			return nil, "", errOutOfScope
		}
		return st.List(ctx, f)
	}
	i, after, err := parseScopedCursor(f.After, len(o.tenants))
	if err != nil {
		return nil, "", err
	}
	limit := f.PageLimit()
	var out []outbox.Message
	for ; i < len(o.tenants); i, after = i+1, "" {
		g := f
		g.Tenant, g.After, g.Limit = o.tenants[i], after, limit-len(out)
		msgs, next, err := st.List(ctx, g)
		if err != nil {
			return nil, "", err
		}
		out = append(out, msgs...)
		if next != "" {
			return out, strconv.Itoa(i) + "." + next, nil
		}
		if len(out) == limit {
			if i+1 < len(o.tenants) {
				return out, strconv.Itoa(i+1) + ".", nil
			}
			return out, "", nil
		}
	}
	return out, "", nil
}

// errBadCursor is a cursor ScopedList did not hand out.
var errBadCursor = errors.New("invalid cursor")

func parseScopedCursor(s string, n int) (int, string, error) {
	if s == "" {
		return 0, "", nil
	}
	is, after, ok := strings.Cut(s, ".")
	i, err := strconv.Atoi(is)
	if !ok || err != nil || i < 0 || i >= n {
		return 0, "", errBadCursor
	}
	if after != "" {
		if v, err := strconv.ParseInt(after, 10, 64); err != nil || v < 0 {
			return 0, "", errBadCursor
		}
	}
	return i, after, nil
}

// ScopedReplayAll is Store.ReplayAll within o's scope: a tenant outside it
// answers outbox.ErrNotFound; without a tenant, an operator replays the
// dead messages of each of its tenants.
func ScopedReplayAll(ctx context.Context, st interface {
	ReplayAll(ctx context.Context, f outbox.ListFilter, by, reason string) (int, error)
}, o Operator, f outbox.ListFilter, by, reason string) (int, error) {
	switch {
	case o.Full():
		return st.ReplayAll(ctx, f, by, reason)
	case f.Tenant != "":
		if !o.Allows(f.Tenant) {
			return 0, errOutOfScope
		}
		return st.ReplayAll(ctx, f, by, reason)
	}
	total := 0
	for _, t := range o.tenants {
		g := f
		g.Tenant = t
		n, err := st.ReplayAll(ctx, g, by, reason)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// ScopedEvents is Store.Events within o's scope: another tenant's
// submission answers outbox.ErrNotFound.
func ScopedEvents(ctx context.Context, st interface {
	Events(ctx context.Context, submissionID string) ([]outbox.Event, error)
}, o Operator, submissionID string) ([]outbox.Event, error) {
	evs, err := st.Events(ctx, submissionID)
	if err != nil {
		return nil, err
	}
	if !o.Full() {
		for _, e := range evs {
			if !o.Allows(e.Tenant) {
				return nil, errOutOfScope
			}
		}
	}
	return evs, nil
}

// RequireOperator is a helper for handlers added to the admin API: it
// returns the request's operator, or a 401 problem when there is none.
func RequireOperator(r *http.Request) (Operator, error) {
	o, ok := OperatorFrom(r.Context())
	if !ok {
		return Operator{}, problem(ProblemUnauthorized, http.StatusUnauthorized, "not authenticated")
	}
	return o, nil
}
