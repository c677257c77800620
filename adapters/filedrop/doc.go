// Package filedrop delivers outbox messages as files into a directory that a
// Fachverfahren watches or polls: the classic hand-over for specialist
// procedures that import XML from a share.
//
// Each message becomes <Dir>/<Tenant>/<Procedure>/<message-id>.xml, or
// <message-id>.zip for a ZIP container (content type application/zip: an
// xdomea message, or an XÖV message with attachments). A message whose
// payload is a bundle (outbox.Bundle) has its container assembled straight
// into the file: the attachments are streamed from the blob store one chunk
// at a time, so memory stays bounded whatever their size. The file
// is written atomically: into a temporary file in the same directory whose
// name starts with "." (so that importers looking for *.xml, and file
// watchers ignoring dot files, never see a partial file), synced, renamed
// into place, and the directory is synced. Delivering a message again, as
// at-least-once delivery may, replaces the file with an identical one.
//
// A message id that could not be a UUID is refused as a permanent failure,
// so no id can reach outside the directory; an empty payload, an
// undecodable bundle and a blob that is missing or does not match its
// checksum are refused in the same way (a missing blob before anything is
// written; a corrupt one, noticed at its end, leaves no temporary file).
// Every filesystem error (an obstructed or unwritable directory, a full
// disk) and every other error of the blob store is an ordinary error that
// the outbox retries.
package filedrop
