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
// insert loop on SQLite with the store's settings; and the ratios. -runs repeats
// everything and prints the median of each figure.
//
// With -crashloop it instead kills the gateway with SIGKILL at random intervals
// while the clients retry with their Idempotency-Key, and reports lost
// submissions, effects after deduplication by message id, duplicate deliveries
// and the drain time.
//
//	go run ./cmd/amtsbote-bench -store postgres -pg "$AMTSBOTE_TEST_POSTGRES" -n 3000 -c 64 -runs 3
//	go run ./cmd/amtsbote-bench -crashloop -store sqlite,postgres -n 10000 -c 50
package main
