// Package e2e holds the end-to-end scenarios of Amtsbote: tests that build
// the amtsbote command once per test run (go build into a temporary
// directory, in TestMain) and run it as operators do, as a process that is
// configured by file and environment, signalled, killed and restarted, and
// talked to over HTTP. The package has no code of its own; the unit tests of
// the command's functions stay in cmd/amtsbote.
//
// The scenarios: the README's quick start, retries across an outage and a
// SIGKILL, shutdown answering 503, check-config, every example procedure
// delivered valid, the conformance test (every delivered document, also
// inside ZIPs, of the examples, 200 random payloads per procedure and the
// extremes, validated with xmllint), an HTTP destination, large and slow uploads, TLS with
// client certificates, the admin API and operators scoped to tenants, the
// operators' console in headless Chromium, the audit trail, portal and encryption
// key rotation, notifications (a real SMTP server), metrics, processes
// sharing one PostgreSQL, a crash loop, a database outage, and the canary
// that searches logs, metrics, mails and the database for personal data.
//
// Run them with
//
//	go test ./e2e/                          # all, a few minutes
//	go test ./e2e/ -run '^TestQuickstart$'  # one scenario
//	go test -short ./e2e/                   # without the 256 MiB upload
//
// They read these environment variables:
//
//   - AMTSBOTE_TEST_POSTGRES: URL of a PostgreSQL server for the scenarios
//     on PostgreSQL (crash loop, outage, canary, large upload, shared
//     database); each gets its own database. Unset, those scenarios skip,
//     unless CI=true.
//   - AMTSBOTE_TEST_PG_RESTART: a shell command that restarts that server;
//     with it, TestDatabaseOutage also restarts PostgreSQL under load. Run
//     that test alone (.ci/run does), since a restart disturbs every other
//     test using the server.
//   - AMTSBOTE_XOEV_SCHEMAS: the directory of the official XÖV schemas
//     (default ../shared/xoev beside the module), against which delivered
//     messages are validated with xmllint (see transform/xoev/xoevtest).
//   - AMTSBOTE_SCREENSHOTS: a directory for the console test's screenshots
//     (default: the test's temporary directory). The console test needs
//     Debian's chromium (or Chrome) on PATH and skips without it.
//   - CI=true: what is missing (PostgreSQL, the schemas, xmllint, chromium)
//     fails the tests instead of skipping them.
//
// The scenarios start their own SMTP and HTTP receivers; AMQP is not needed.
package e2e
