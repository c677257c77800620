// Package sealed encrypts the outbox at rest: a Store decorator that seals
// submission payloads (the request JSON with its attachments), message
// payloads (the generated XML or xdomea ZIP), personal metadata values and
// the chunks of blobs (attachments, each chunk bound to its blob id and
// sequence number) with AES-256-GCM before they reach the database, and
// opens them when read. A blob's header (size, SHA-256, chunk count) stays
// in clear.
//
// A Keyring holds keys by id and the current one. Each sealed value is an
// envelope carrying the key id beside a random nonce and the ciphertext, so
// old keys keep opening old rows while new rows use the current key;
// Store.Reseal rewrites old rows under the current key (key rotation) through
// the optional Rewriter capability of the stores. The key id and the record
// the value belongs to (submission id, or message topic, id and field) are
// authenticated with it: a ciphertext copied into another row does not open.
//
// Values in clear (no envelope prefix) are passed through as they are: rows
// written before encryption was enabled and messages a Reactor returns
// without id or topic.
package sealed
