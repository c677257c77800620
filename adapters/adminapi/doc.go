// Package adminapi is Amtsbote's admin HTTP API for dead-letter management:
// operators list outbox messages, inspect one with its attempts and replays,
// and replay dead messages, one or all of a tenant or destination.
//
//	GET  /admin/v1/messages?status=dead&tenant=&procedure=&destination=&limit=&after=
//	GET  /admin/v1/messages/{id}
//	POST /admin/v1/messages/{id}/replay   {"reason": "...", "topic": "..."}
//	POST /admin/v1/replay                 {"tenant": "...", "procedure": "...", "destination": "...", "reason": "..."}
//
// It listens apart from the portal API (config.Admin) and accepts only the
// admin key (Authorization: Bearer <key>), compared in constant time with
// config.Admin.KeyHash. Payloads are never returned: messages carry personal
// data. Errors are RFC 9457 problem details. Replays are recorded as by
// "admin-api (<remote address>)".
package adminapi
