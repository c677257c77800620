// Package sqlstore implements outbox.Store once, over a SQL dialect's Driver,
// the way river's client sits above riverdriver: event recording, reactor
// follow-ups, paging, replays, retention, blob checks and the reseal loops
// live here; a driver (outbox/sqlite, outbox/postgres) only runs its
// embedded queries and scans their rows, one query (or one pipelined batch)
// per method, and keeps its connection handling: SQLite's single writer,
// PostgreSQL's LISTEN/NOTIFY.
//
// It is a package of its own, not part of package outbox, because the
// Driver contract is an implementation detail of the SQL stores: the relay,
// the adapters and the encrypting decorator see only outbox.Store.
package sqlstore
