// Package transform holds the canonical form of a portal submission and the
// contract that turns it into a message for a municipality's Fachverfahren.
//
// The intake decodes a portal's JSON request into a Submission and looks up
// the procedure's Mapper in a Registry. Mapper.Validate reports every problem
// of the submission at once, each located by an RFC 6901 JSON pointer into the
// request body, so that the portal can show it next to the form field; only a
// submission without problems is accepted. Mapper.Map later builds the XÖV
// message (a Document) from an Input: the submission plus the values of the
// Nachrichtenkopf (message id, Autor, Leser, product, creation time). Mapping
// is pure and deterministic: the same Input always yields the same bytes, so a
// message can be rebuilt and compared at any time.
//
// Free text is checked with CheckText (no control characters, no characters
// outside the permitted Latin repertoire) and written in Unicode NFC
// (NormalizeText). Both are shared by every mapper so that the character
// repertoire is decided in one place.
//
// Mappers live in one package per standard and message below transform
// (transform/envelope is the generic one for procedures without their own XÖV
// mapper); registration is explicit in cmd, not done by init functions.
package transform
