// Command amtsbote-bench measures Amtsbote end to end and against baselines
// taken in the same run; BENCHMARKS.md records its results.
//
// It runs `amtsbote serve` (built from ./cmd/amtsbote, or -binary) with a
// generated configuration: one tenant, the procedure
// meldewesen.wohnungsgeberbestaetigung and one http destination pointing at the
// harness's own receiver. Clients post submissions (as fast as possible: -n at
// concurrency -c; or at a fixed rate: -rate for -duration), and the receiver
// records when each message arrives. It prints accepted/s, delivered/s, intake
// latency, accepted->delivered latency (p50, p99) and the gateway's peak RSS,
// then the baselines: a plain pgx insert loop (and the same with a NOTIFY) and a
// bare watermill-sql publish->ack pipeline on PostgreSQL, or a database/sql
// insert loop on SQLite with the store's settings; and the ratios. In a
// fixed-rate run the HTTP and insert baselines are paced at the same rate (their
// machine CPU per operation is then the floor at that rate; their ratios say
// nothing), watermill-sql runs as fast as it can, -watermill-runs times (3),
// and the ratio takes the median of its rates. -runs repeats everything and
// prints the median of each figure. On PostgreSQL a "pgx outcome record"
// baseline records one delivery per transaction as the completer does, and a
// "pgx insert, one round trip" baseline sends the insert as intake does; a
// fixed-rate run reports "floor: 2 HTTP + insert + outcome", what a
// submission cannot cost less than at that rate, and a closed-loop run the
// same with outcomes recorded -delivery-concurrency per transaction (the
// most the completer can gather).
// The warm-up (4 submissions per client, at least 200, at the run's
// concurrency) grows the gateway's pools first.
//
// With -counts (the default) those runs also report costs per delivered
// submission over the load phase, which do not depend on the machine's load:
// statements and round trips (the gateway runs with database.count_statements
// and the harness reads amtsbote_db_statements_total and
// amtsbote_db_round_trips_total from its metrics listener), commits and rows
// fetched (pg_stat_database of the run's database), WAL records, bytes and
// syncs (pg_stat_wal, of the whole server), and the CPU of the machine, the
// gateway, the postgres processes and the harness (/proc), which do depend on
// it. Each run records the 1-minute load at its start; a run starting at 1 or
// more is marked as measured under load.
//
// With -crashloop it instead kills the gateway with SIGKILL at random intervals
// while the clients retry with their Idempotency-Key, and reports lost
// submissions, effects after deduplication by message id, duplicate deliveries
// and the drain time.
//
// With -upload SIZE it instead measures large attachments: -n submissions
// (default 5), one at a time, each carrying one generated incompressible PDF
// of SIZE bytes, streamed as a multipart/form-data part (-upload-format
// multipart, the harness never holds the body) or base64 in a JSON body
// (-upload-format json, built in memory before the clock starts). The gateway
// delivers to an XÖV file drop and, with -upload-destinations 2, an xdomea
// file drop; the harness waits for each submission's delivery through the
// status API and checks every delivered file's size and SHA-256 before it
// sends the next. It reports the upload throughput (attachment bytes over the
// time from the body's first byte to the 202), accepted->delivered (p50, max),
// the gateway's peak RSS and the CPU used (gateway and machine) while
// uploading and delivering, then the baseline: the same generator writing
// SIZE bytes to a file in the run directory with fsync, and the ratio.
//
// FIT-Connect mode (-fitconnect) measures, on one gateway, -n submissions
// through the portal API (accepted/s, -c clients) next to -n FIT-Connect
// pickups from a local fake Zustelldienst (adapters/fitconnect/fitconnecttest):
// the submissions wait encrypted at the fake, one NewSubmissions callback
// wakes the subscriber, and pickups/s is -n over the time until the last
// accept-submission event is in the event log (fetch, decrypt, check hashes,
// map, commit with the deliveries, post the signed event).
//
//	go run ./cmd/amtsbote-bench -store postgres -pg "$AMTSBOTE_TEST_POSTGRES" -n 3000 -c 64 -runs 3
//	go run ./cmd/amtsbote-bench -crashloop -store sqlite,postgres -n 10000 -c 50
//	go run ./cmd/amtsbote-bench -upload 64MiB -store sqlite,postgres -runs 3
//	go run ./cmd/amtsbote-bench -fitconnect -store sqlite,postgres -n 500 -c 16 -runs 3
package main
