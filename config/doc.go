// Package config is the typed configuration of Amtsbote.
//
// A configuration file is YAML. Load reads it, expands ${VAR} references
// from the environment, decodes it strictly (an unknown or misspelled key is
// an error), resolves secrets, applies defaults and validates the result.
// Every problem found is reported at once as a *ValidationError, each with
// the path of the offending value, so an operator can fix a file in one pass:
//
//	tenants[0].ags: must be exactly 8 digits (Amtlicher Gemeindeschlüssel)
//	portals[1].tenants[0]: unknown tenant "musterstad"
//
// Parse is the testable core of Load: the environment and the file system are
// injected, and nothing else in this package reads either.
//
// The configuration describes:
//
//   - Server: the HTTP listener of the portal API and its limits.
//   - Database: PostgreSQL (URL) or the embedded SQLite store (Path).
//   - Relay: lease, poll interval and concurrency of outbox delivery.
//   - Procedures: the Verwaltungsleistungen Amtsbote can accept, by id
//     ("meldewesen.wohnungsgeberbestaetigung").
//   - Tenants: the municipalities (Gemeinden), each with its Amtlicher
//     Gemeindeschlüssel, and per procedure a Route to one or more
//     Destinations (the Fachverfahren or back office that receives the XÖV
//     message). Each destination is one outbox topic, see Topic.
//   - Portals: the clients allowed to submit, identified by the SHA-256 hash
//     of their API key (HashKey), and the tenants and procedures each may use.
//
// The rules of an HTTP destination (HTTP.Problems: URL, credentials, headers,
// SOAP, TLS files) are defined here once: Validate reports them with their
// paths, and adapters/httppost refuses settings that break them.
//
// Secrets (Secret) may be written inline, or taken from an environment
// variable ({env: NAME}) or a file ({file: /run/secrets/name}); their values
// never appear in fmt, slog or marshalled output.
//
// Demo returns the built-in configuration that `amtsbote serve` uses when it
// is started without --config.
package config
