// Package answerinbox is the file-inbox channel of answers from the
// authority: it polls a directory into which a Fachverfahren or DMS writes
// its answers (XBau 1120, 1121, 0201, 0205, xdomea 0629, 0630, the JSON
// answer, or a ZIP container of an answer and its documents), hands each
// complete file to the answer service (intake.AnswerReceiver) and moves it
// away once the service has decided.
//
// # Which files
//
// Every regular file directly in Dir, except dot files (".name") and
// names ending in ".tmp", ".part" or "~", which writers use while they
// write. A file is taken once it is complete: when it was seen with the
// same size and modification time at the previous poll, or when it was last
// modified at least one poll interval ago (so a backlog is taken at the
// first poll). Writers should write to a dot file or *.tmp and rename it
// into place; a file written in place is taken once it has stopped
// changing for one poll. Files are taken oldest first (by modification
// time, then name), so that an Aktenzeichen written after its
// Eingangsbestätigung is received after it. A symbolic link or other
// non-regular file is refused into failed/.
//
// The content type is taken from the extension (.xml, .json, .zip); other
// names are detected from the content.
//
// # Where files go
//
//   - The answer is stored (or was stored before: a duplicate): the file
//     moves to Dir/done/.
//   - The file is not an acceptable answer (*intake.AnswerError: not
//     well-formed, a DTD, too deep, a wrong namespace or an unknown message
//     type, a required element or the reference missing), its message id
//     was used before with another body (intake.ErrAnswerConflict), or it
//     is larger than MaxBytes: it moves to Dir/failed/, with
//     Dir/failed/<name>.reason.txt beside it saying why (the reason only,
//     never the content).
//   - The answer service is unavailable (intake.ErrUnavailable), or any
//     other error: the file stays and is tried again at the next poll.
//
// Moves are renames within Dir's file system, so atomic; a name already
// taken in done/ or failed/ gets a suffix (".1", ".2", ...) rather than
// replacing the earlier file. A file stays in Dir until the service has
// committed it or refused it: after a crash in between, the next poll
// hands it over again, and the service recognises the duplicate. The
// reason file is written (atomically) before the file moves to failed/.
//
// File names are logged (they are the operator's handle on a file); the
// content never is.
package answerinbox
