// Package sqlstore implements outbox.Store once, over a SQL dialect's Driver,
// the way river's client sits above riverdriver: event recording, reactor
// follow-ups, paging, replays, retention, blob checks and the reseal loops
// live here; a driver (outbox/sqlite, outbox/postgres) only runs its
// embedded queries and scans their rows, one query (or one pipelined batch)
// per method, and keeps its connection handling: SQLite's single writer,
// PostgreSQL's LISTEN/NOTIFY.
//
// # The audit trail
//
// The routine events of a submission's trail are not stored as event rows:
// they are derived, when read, from the rows they describe, which are
// written anyway and never deleted (retention removes payloads only):
//
//   - EventTransformed from a message row queued in its submission's
//     transaction (actor the submission's portal, detail the message type
//     of its metadata, at its creation);
//   - EventAttempt from an attempt row, and EventDelivered or EventDead
//     after an attempt with that outcome (actor its owner, at its end,
//     detail its error).
//
// Every other event is a stored row, and so is an event of these kinds
// whose row cannot say it: the transformed event of a message queued for a
// submission of an earlier transaction (it has no actor), and the events
// written before the rows derived them (migration 009). A row that derives
// events holds their positions in recording order, taken when the row is
// written from the counter that numbers the stored events, so the two kinds
// interleave as they were recorded and Event.Seq keeps its meaning. The
// reactor still gets every event, in memory, in the transaction that
// records it. Before a message's metadata is replaced (Remap), its derived
// transformed event is stored (KeepTransformed).
//
// It is a package of its own, not part of package outbox, because the
// Driver contract is an implementation detail of the SQL stores: the relay,
// the adapters and the encrypting decorator see only outbox.Store.
package sqlstore
