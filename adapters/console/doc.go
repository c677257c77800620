// Package console is Amtsbote's operators' web console, served on the admin
// listener under /console/ beside the admin API.
//
// It is server-rendered with html/template and works without JavaScript:
// there is no script at all, and the Content-Security-Policy allows none.
// Pages: an overview per tenant (pending, retrying, dead, oldest waiting
// message, open alarms, circuit state per destination, configuration
// generation), dead letters filtered by tenant, procedure, destination and
// time, a message's detail (attempts, replays, audit trail) with replay and
// discard (a required reason, confirmed on a second step, audited), the
// payload shown only after an audited "show personal data" action, search
// by submission or message id, the readiness checks, and unmatched answers
// (where an UnmatchedAnswers source is wired).
//
// Access: an operator logs in with the full admin key or an operator key of
// config.Admin.Operators and gets a session cookie (HttpOnly,
// SameSite=Strict, Secure under TLS or admin.console.secure_cookie) that
// ends after admin.console.idle_timeout without a request, or on logout.
// Failed logins count in the admin API's adminapi.Throttle. Every POST
// carries the session's CSRF token (the login form a double-submit token),
// and a cross-origin Origin header is refused. An operator sees only its
// tenants: lookups go through adminapi's scoped helpers, so another
// tenant's message is "not found".
//
// Texts are German, or English where the browser's Accept-Language prefers it.
package console
