// Package sqlite is the embedded default outbox store on SQLite (modernc.org/sqlite,
// pure Go). The database runs in WAL mode with synchronous=FULL, so a committed
// submission survives a power loss; all writes go through one connection in
// immediate transactions, so concurrent intake never sees SQLITE_BUSY. It serves
// one process: several gateway instances need the PostgreSQL store.
//
// The package is a driver of outbox/sqlstore, which holds the store's logic:
// here are the embedded queries and migrations, the scanning of their rows
// (timestamps are Unix microseconds, metadata JSON text) and the connections.
package sqlite
