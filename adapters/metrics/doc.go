// Package metrics exposes Amtsbote's Prometheus metrics and health checks on
// a listener of their own: /metrics, /healthz (the process is alive) and
// /readyz (database reachable, migrations applied, relay running).
//
// Metrics are fed by two observers, the portal API's requests (ObserveRequest)
// and the relay's delivery attempts (ObserveAttempt), and read at scrape time
// from the outbox store (cached for a few seconds) and the relay's circuit
// breakers. Every label value comes from the configuration: the tenant,
// procedure and destination ids of the topics the relay is configured with,
// and the tenant and procedure of configured routes. Observations of anything
// else are dropped, so the number of series stays bounded and nothing a
// request carries ever becomes a label.
package metrics
