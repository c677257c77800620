// Package xdomea builds the E-Akte filing message: an xdomea 3.0.0 message
// that hands a new application, with its generated XÖV document as primary
// document, to a municipality's document management system (DMS, E-Akte).
// Any tenant and procedure can add a destination that receives it; Wrap is
// called with the document the procedure's Mapper generated.
//
// # Which message
//
// The message is FVDaten.SGOAblegen.0605 (module "Fachverfahrensdaten
// austauschen"): "die Übergabe von neuen Schriftgutobjekten an das DMS zur
// Ablage". Amtsbote stands in the role xdomea gives the Fachverfahren: it
// hands over a new document to be filed, identified by its own
// FachverfahrenObjektID (the submission id), optionally into an existing
// container (IDContainer, an Akte or Vorgang of the DMS), and asks for the
// import confirmation (Importbestaetigung is fixed to 1), which the DMS
// answers with FVDaten.ImportBestaetigen.0630 carrying the id it assigned.
// The alternatives fit less well:
//
//   - Abgabe.Abgabe.0401 is the complete export of records when
//     responsibility moves between authorities or systems, not the intake of
//     a new application;
//   - Geschaeftsgang.Geschaeftsgang.0201 routes a document through the
//     stations of an external business process (ExternerGeschaeftsgang with
//     Beteiligungsschritte) and needs a Laufweg that Amtsbote does not know;
//   - Information.Information.0101 sends records for information; it asks
//     the receiver neither to file them nor to confirm the import.
//
// # What is filed where
//
// Each submission becomes one Vorgang, holding the primary document (the
// Dokument, typed "Antrag") with the submission's attachments as its
// Anlagen. The Vorgang goes into the Akte the destination configures
// (Metadata.Akte): its Betreff (Aktentitel, default "<procedure name>
// {jahr}"), Aktenzeichen, Aktenplaneinheit and Typ, where PlaceholderJahr
// ({jahr}) stands for the year of receipt and makes the Akte a yearly one
// whose Laufzeit is that year: only its Beginn while the year runs (an Ende
// may read as the Akte's closing), its Ende too in a message created after
// the year. Two ways to name the Akte:
//
//   - Metadata.Container set: the DMS id of an existing Akte, written as
//     IDContainer (with {jahr} resolved per submission); the message
//     carries the Vorgang alone, with the Akte's title as Aktenbetreff.
//   - Container empty: the message carries the Akte with the Vorgang in
//     its Akteninhalt. The Akte's Identifikation/ID is a name-based UUID of
//     tenant, procedure and the resolved Akte, so all Vorgänge of one Akte
//     name the same id, which xdomea has both systems keep as its external
//     id; the DMS files them together.
//
// The Vorgang's and the Dokument's Betreff say what was applied for
// (Betreff): "Bauantrag: <Vorhaben>, Flurstück <Gemarkung, Flur,
// Zähler/Nenner>", "Gewerbeanmeldung: <Tätigkeit>",
// "Wohnungsgeberbestätigung: Einzug am <date>[, Zuordnungsmerkmal <value>]"
// (the Meldebehörde's matching key of § 19 Abs. 4 BMG); for other procedures
// "<procedure name>, Eingang <date>". None names a person: the Betreff is
// shown in lists and search results under wider access than the documents,
// and the names are in the primary document. An Anlage's Betreff is the
// bezeichnung its payload declares for it (data.anlagen[] with its
// dokumentId), else its file name; the file name as uploaded is its
// Primaerdokument/DateinameOriginal.
//
// The Ablageort is written when the destination has one (Metadata.Ablageort):
// xdomea requires it for every Datenaustauschart but database and XML
// stream, as the name of the shared directory (or the WebDAV/http(s) URL)
// where the DMS finds the files. The intake sets a file drop's directory.
//
// # Where the primary document goes
//
// xdomea 3.0.0 does not embed file content in the message: FormatType holds
// the Dateiformat code, the format version and a Primaerdokument that only
// names its file (Dateiname, which must begin with a UUID). The files travel
// alongside the message XML in one ZIP container. So Wrap returns the
// message XML, in which the primary document is referenced as
// <message-id>.xml (Dateiformat code 030 "xml", code list version 1.0,
// format version 1.0), and Build also returns the file itself (File, with
// MIME type application/xml, which xdomea 3.0.0 has no element for) and
// Files lists the container's content: the message as
// <message-id>_FVDaten.SGOAblegen.0605.xml (Message.Name plus ".xml", the
// xdomea naming <ProzessID>_<Nachricht>), the primary document as
// <message-id>.xml and each attachment as <attachment id>_<file name>.
// The container is named like the message, Message.Name plus ".zip": the
// intake passes the name on (outbox.MetaFileName) and the file drop and the
// HTTP Content-Disposition use it.
//
// # What goes where
//
//	Input.MessageID                 Kopf/ProzessID; the file names
//	Input.CreatedAt                 Kopf/Erstellungszeitpunkt, Primaerdokument/DatumUhrzeit
//	Input.Author, Input.Reader      Kopf/Absender, Kopf/Empfaenger: Behoerdenkennung
//	                                (Party.Kennung "praefix:kennung") and Institution/Name
//	Input.Product                   Kopf/SendendesSystem (Produktname, Version)
//	Metadata.Creator                Kopf/Erstellerkennung
//	Metadata.Container              SchriftgutobjektZumAblegen/IDContainer
//	Metadata.Akte                   Akte/AllgemeineMetadaten (Betreff, Kennzeichen,
//	                                Aktenplaneinheit/Kennzeichen), Akte/Typ, Akte/Laufzeit;
//	                                Vorgang/Aktenbetreff
//	Metadata.Ablageort              SchriftgutobjektZumAblegen/Ablageort
//	Metadata.ProcedureName          Vorgang/Typ
//	Submission.ID                   FachverfahrenObjektID, Vorgang/Identifikation/ID
//	                                (name-based) and Dokument/FremdesGeschaeftszeichen
//	Submission payload              Vorgang and Dokument AllgemeineMetadaten/Betreff
//	                                (Betreff), Anlage/AllgemeineMetadaten/Betreff
//	Submission.ReceivedAt           Dokument/Posteingangsdatum, Vorgang/Laufzeit/Beginn
//	                                (its date in Europe/Berlin), {jahr}
//	procedure, tenant, names,       Dokument/AnwendungsspezifischeErweiterung
//	reference, time, message type   (Kennung urn:amtsbote:xdomea:einreichung:1, one Feld each)
//
// The Dokument's Identifikation/ID is a name-based UUID (version 5) derived
// from the message id, so that the same Input gives the same bytes; for
// 0605 the DMS assigns its own id anyway. Like every mapper, Wrap is pure
// and deterministic: text in NFC, times in UTC to the second, indented with
// two spaces.
package xdomea
