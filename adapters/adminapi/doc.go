// Package adminapi is Amtsbote's admin HTTP API for dead-letter management:
// operators list outbox messages, inspect one with its attempts and replays,
// and replay dead messages, one or all of a tenant or destination.
//
//	GET  /admin/v1/messages?status=dead&tenant=&procedure=&destination=&limit=&after=
//	GET  /admin/v1/messages/{id}
//	POST /admin/v1/messages/{id}/replay   {"reason": "...", "topic": "..."}
//	POST /admin/v1/messages/{id}/discard  {"reason": "...", "topic": "..."}
//	POST /admin/v1/replay                 {"tenant": "...", "procedure": "...", "destination": "...", "reason": "..."}
//	GET  /admin/v1/submissions/{id}/events
//
// It listens apart from the portal API (config.Admin). Every request needs
// a key (Authorization: Bearer <key>): the full admin key, which sees every
// tenant, or an operator key of config.Admin.Operators, scoped to tenants.
// Keys are compared in constant time with every configured hash. A client
// address (an IPv6 /64) that sends FailedKeyLimit wrong keys within
// FailedKeyWindow gets 429 with Retry-After until the window ends (Throttle,
// shared with the console). Unauthenticated requests are logged by the route
// they would match, never by their path, and their problems carry no
// instance; no problem detail echoes an unknown parameter or member name.
//
// # Scope
//
// ServeHTTP puts the authenticated Operator into the request's context
// (OperatorFrom, RequireOperator). Every endpoint keeps to its scope: another
// tenant's message or submission answers 404 exactly like one that does not
// exist, a tenant filter outside the scope answers 404 "no such tenant", and
// a list or replay-all without a tenant covers only the operator's tenants.
// Replays and discards are recorded as by "admin-api (<address>)" for the
// full key and "admin-api:<operator id> (<address>)" for an operator.
//
// An endpoint added to this package must do the same. Read the operator with
// RequireOperator and use the scoped helpers instead of the store directly:
//
//	op, err := RequireOperator(r)            // 401 if missing
//	m, err := ScopedMessage(ctx, st, op, id, topic) // outbox.ErrNotFound outside the scope
//	msgs, next, err := ScopedList(ctx, st, op, filter)
//	n, err := ScopedReplayAll(ctx, st, op, filter, by(r), reason)
//	evs, err := ScopedEvents(ctx, st, op, submissionID)
//	if !op.Allows(tenant) { ... 404 ... } // anything else carrying a tenant
//	if !op.AllowsTopic(topic) { ... 404 ... }
//
// and record the author with by(r) (Operator.By). The isolation matrix in
// scope_test.go (TestOperatorIsolation) lists every endpoint; add a row for a
// new one.
//
// Payloads are never returned: messages carry personal data. Errors are
// RFC 9457 problem details.
package adminapi
