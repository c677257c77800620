// Package postgres is the production outbox store on PostgreSQL (pgx/v5). Several
// gateway processes share one database: claims take row locks with
// FOR UPDATE SKIP LOCKED and lease messages for a while, so no message is handed to
// two processes at once and a process that dies loses its leases when they expire.
// Inserts send NOTIFY on commit and every store LISTENs, so relays wake at once.
package postgres
