// Package postgres is the production outbox store on PostgreSQL (pgx/v5). Several
// gateway processes share one database: claims take row locks with
// FOR UPDATE SKIP LOCKED and lease messages for a while, so no message is handed to
// two processes at once and a process that dies loses its leases when they expire.
// After a commit the store wakes its own relays and sends NOTIFY from one
// goroutine, coalesced; every store LISTENs, so other processes' relays wake at once.
//
// The package is a driver of outbox/sqlstore, which holds the store's logic:
// here are the embedded queries and migrations, the scanning of their rows,
// the advisory locks of blob staging, and LISTEN/NOTIFY.
package postgres
