// Package filedrop delivers outbox messages as files into a directory that a
// Fachverfahren watches or polls: the classic hand-over for specialist
// procedures that import XML from a share.
//
// Each message becomes <Dir>/<Tenant>/<Procedure>/<message-id>.xml. The file
// is written atomically: into a temporary file in the same directory whose
// name starts with "." (so that importers looking for *.xml, and file
// watchers ignoring dot files, never see a partial file), synced, renamed
// into place, and the directory is synced. Delivering a message again, as
// at-least-once delivery may, replaces the file with an identical one.
//
// A message id that could not be a UUID is refused as a permanent failure,
// so no id can reach outside the directory; an empty payload is refused in
// the same way. Every filesystem error (an obstructed or unwritable
// directory, a full disk) is an ordinary error that the outbox retries.
package filedrop
