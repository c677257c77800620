// Package sqlite is the embedded default outbox store on SQLite (modernc.org/sqlite,
// pure Go). The database runs in WAL mode with synchronous=FULL, so a committed
// submission survives a power loss; all writes go through one connection in
// immediate transactions, so concurrent intake never sees SQLITE_BUSY. It serves
// one process: several gateway instances need the PostgreSQL store.
package sqlite
