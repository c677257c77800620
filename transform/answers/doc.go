// Package answers parses the answers an authority's Fachverfahren or DMS
// sends back about a submission: XBau 2.6 Eingangsbestätigung (1120),
// Aktenzeichen (1121), formelle Prüfung (0201) and Bescheid (0205), xdomea
// 3.0.0 receipt (0629) and import confirmation (0630), and Amtsbote's own
// small JSON answer. It only parses: matching and storing are the answer
// service's (intake), which wraps an *Error in an intake.AnswerError.
//
// # What refers to what
//
// Amtsbote writes into its baugenehmigung.antrag.0200 the nachrichtenUUID
// = the outbox message id (transform.Input.MessageID) and the
// referenzAntragsservice = the submission id; into its
// FVDaten.SGOAblegen.0605 the Kopf/ProzessID = the outbox message id. The
// answers refer back to them:
//
//	answer           Answer.Reference (message id)          Answer.SubmissionReference
//	1120, 0201, 0205 bezug/bezugNachricht/bn-g2g:nachrichtenUUID  bezug/referenz
//	1121             (XBau: "keine Referenzierung auf eine Nachricht")  bezug/referenz
//	0629, 0630       Kopf/ProzessID                          -
//	JSON             "reference"                             "submission_id"
//
// XBau says of the 1120 that referenz carries the referenzAntragsservice of
// the Antrag, and the 1121 carries no bezugNachricht at all, so an XBau
// answer may refer by either; Parse requires at least one and both, where
// present, to be UUIDs (returned in lower case). Nothing else (names,
// Aktenzeichen, free text) is a reference. The Aktenzeichen is read from
// bezug/vorgang, and is required in a 1121.
//
// The answer's own id (Answer.MessageID, the idempotency key) is the
// nachrichtenUUID of its nachrichtenkopf.g2g, the JSON "id", and for the
// xdomea confirmations, which have none of their own, a name-based UUID of
// their type and ProzessID.
//
// # Formats
//
// The content type chooses the format (application/xml, text/xml, +xml;
// application/json, +json; application/zip); without one (or with
// application/octet-stream) the first bytes do. A declared type the body
// does not match is refused. An XBau answer with documents (a Bescheid
// with its PDF) comes as a ZIP container: the message is the first entry
// named *.xml, and each anhang's file is the entry named by its dateiname,
// or "<uuid>_<dateiname>" for dokumentid urn:uuid:<uuid> (the naming of
// Amtsbote's own containers); a file stated by filesize must have that
// size. Sent as plain XML, an answer's documents are named but have no
// Data. A JSON answer carries its documents inline in base64; its schema
// is SchemaJSON (answer.schema.json), documented in docs/answers.md.
//
// # Parsing as hostile
//
// Answers come from inside the network but are parsed as hostile input:
//
//   - the body may have at most Limits.MaxBytes (default 20 MiB), a ZIP
//     container may unpack to no more in total (counted while reading, not
//     taken from its directory) and hold at most Limits.MaxEntries entries;
//     entry names must be clean relative paths;
//   - XML is read token by token with encoding/xml in strict mode before
//     any element is looked at: any directive (DOCTYPE, ENTITY) is refused,
//     so no DTD, external entity or entity expansion is ever processed;
//     only the five predefined entities exist; elements may nest at most
//     Limits.MaxDepth deep (default 64); the encoding must be UTF-8;
//   - JSON is decoded token by token with the same depth limit, refusing
//     duplicate member names and anything after the value, then validated
//     against the schema;
//   - the root element must be one of the six answers in its namespace
//     (XBau body http://www.xleitstelle.de/xbau/2/6, XBau-Kernmodul
//     http://www.xleitstelle.de/xbau/kernmodul/1/3/0, xdomea
//     urn:xoev-de:xdomea:schema:3.0.0) and its nachrichtentyp code must
//     match it;
//   - required elements are checked with an error naming their path.
//
// XSD validation is not done at run time (there is no pure-Go validator);
// the tests validate every golden answer in testdata/answers with xmllint
// against the official schemas. An Error's Reason never quotes the body.
package answers
