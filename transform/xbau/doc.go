// Package xbau maps building permit applications (procedure
// "bau.baugenehmigung") to XBau 2.6 messages baugenehmigung.antrag.0200
// (Beantragung einer Baugenehmigung, § 68 MBO), valid against the official
// schema xbau-nachrichten-baugenehmigung.xsd.
//
// # Payload
//
// PayloadSchema (baugenehmigung.schema.json, JSON Schema draft 2020-12)
// describes the request members a portal sends: applicant (the
// Antragsteller), data and identity. Every object is closed
// (additionalProperties false). An Akteur (applicant, data.bauherr,
// data.gebuehrenpflichtiger, data.entwurfsverfasser) is either a natural
// person (familienname, vorname, anrede, titel) or an organisation (name,
// kurzbezeichnung, ansprechpartner), each with an anschrift (postleitzahl and
// ort required; German five-digit postcodes only, as the message carries no
// Staat yet) and optional telefon and email. data.bauvorhaben holds the
// Bezeichnung, the anzahlGebaeude, the codes of artDerMassnahme, and
// optionally the gebaeude (one bezeichnung per building), the
// artDerBaulichenAnlage (a wohngebaeudeArt or a nichtwohngebaeudeArt), the
// nutzungsaenderung (bisherigeNutzung and beabsichtigteNutzung, required
// for artDerMassnahme 13 or 14 unless anzahlGebaeude is 0), the klassifikation (gebaeudeklasse, hoeheNachMBO,
// istFreistehend, sonderbau, mittelOderGrossGarage, garage) and the
// nutzungseinheiten (flaeche: Brutto-Grundfläche without Kellergeschosse
// in m², beschreibung); data.prozessmerkmale the
// verfahrensart; data.bauvorlageberechtigung the Entwurfsverfasser's
// grundlage, kammer with mitgliedsnummer or personennummer, and
// berufsbezeichnung; data.baugrundstueck the optional address and 1 to 100
// flurstuecke (bundesland, gemarkung by nummer or bezeichnung, flur,
// zaehler, nenner); data.anlagen 1 to 200 documents (bezeichnung, anlageart,
// mimeType, dateiname, dokumentId, optional datum, versionsnummer,
// wirdNachgereicht), each either sent as an attachment
// (transform.Submission.Attachments, id = dokumentId) or marked
// wirdNachgereicht.
//
// Validate reports, by RFC 6901 pointer into the request body, every
// violation of the schema, every text that fails transform.CheckText (DIN
// SPEC 91379 datatype C, the type of nearly all XBau text), every Bezeichnung
// of an Anlage outside datatype D (no tab, line break or no-break space), and
// every dokumentId or dateiname (compared case-insensitively) that repeats an
// earlier Anlage's, since XBau requires both to be unique in a message; every
// attachment without its Anlage or unlike it, every Anlage neither attached
// nor marked wirdNachgereicht; every code outside its code list (the
// message names the list and version); a garage type that contradicts
// mittelOderGrossGarage; and a gebaeudeklasse below the lowest class that
// the stated height, istFreistehend and (for an Errichtung) Nutzungseinheiten
// permit by § 2 Abs. 3 MBO (for one building; see checkGebaeudeklasse).
//
// # Code lists
//
// The values of the lists Validate checks are data files in codelists/, one
// per list and version, each with a header naming list URI, version and
// source, loaded once into maps: gebaeudeklasse 3.0, mbogaragentyp 2.0,
// wohngebaeudeart 2.0, nichtwohngebaeudeart 3.0 and kammer 2.0 (fixed by
// XBau 2.6; values from the enumerations of xbau-codes.xsd, compared by
// TestCodeListsMatchXSD), anlagen 3.0 and bauvorlageberechtigungsachverhalt
// 1.0 (lists XBau offers for its open code types; values from their
// genericode in XRepository). The Verfahrensart and the Sonderbauten have no
// list fixed or published for all Länder: the payload names the list
// (listURI, listVersionID) with the code, and both are passed through.
//
// # The message
//
// The Nachrichtenkopf (nachrichtenkopf.g2g) and every Kernmodul and xoev-code
// child are unprefixed; only the XBau body elements are in the namespace
// http://www.xleitstelle.de/xbau/2/6 (prefix xbau). The root carries
// produkt, produkthersteller and produktversion from Input.Product and the
// fixed standard="XBau-Hochbau" and version="2.6". Text is written in NFC,
// times in RFC 3339 UTC to the second, indented with two spaces; the same
// Input always gives the same bytes.
//
//   - identifikation.nachricht: nachrichtenUUID is Input.MessageID,
//     nachrichtentyp the code 0200, erstellungszeitpunkt Input.CreatedAt.
//   - leser and autor: Input.Reader and Input.Author as DVDV entries
//     (verzeichnisdienst DVDV, kennung Party.Kennung, name Party.Name).
//   - referenzAntragsservice: Submission.ID, the intake's id of the
//     application, to which the authority's replies refer.
//   - antragsteller: the applicant.
//   - bauvorhaben/beteiligte: the bauherr (data.bauherr, or else the
//     applicant) with artDesBauherrn if given, the entwurfsverfasser if
//     given (as personendaten), and the gebuehrenpflichtiger
//     (data.gebuehrenpflichtiger, or else the bauherr).
//   - prozessmerkmale: the verfahrensart, if given.
//   - bauvorhaben/beteiligte/entwurfsverfasser/berechtigung: the
//     bauvorlageberechtigung, if given.
//   - bauvorhaben/gegenstand: anzahlDerGebaeudeImBauvorhaben with one
//     identifikationGebaeude per gebaeude (uuidGebaeude: a name-based UUID
//     of "gebaeude/<n>" in the namespace of Submission.ID; for one building
//     named by no gebaeude, one with the Bezeichnung of the Bauvorhaben), one
//     artDerMassnahme per code, artDerBaulichenAnlage,
//     zweckDerNutzungsaenderung,
//     bauordnungsrechtlicheKlassifikation (hoeheNachMBO and the areas as
//     Dezimal.XBau with two fraction digits) and
//     bauvorhabenDatenblatt/nutzungen (their number and each unit) if
//     given; verortung/baugrundstueck/grundstueck: the address and the
//     flurstuecke; weitereAngaben if given.
//   - anlagen: one anlage per entry. An attached document is
//     anhangOderVerlinkung/anhang with dokumentid "urn:uuid:" + dokumentId
//     and the attachment's size as filesize; a document marked
//     wirdNachgereicht has no anhang: XBau requires anhangOderVerlinkung, so
//     it is named by verlinkung/uriVerlinkung "urn:uuid:" + dokumentId, the
//     id its file will carry, and wirdNachgereicht is true.
//
// The applicant's transform.Identity has no place in
// baugenehmigung.antrag.0200; it is validated but not written, and travels
// in the delivery metadata.
//
// # Defaults for what the schema requires and the portal cannot know
//
//   - The id of every Akteur is a name-based UUID (version 5) of its role
//     ("antragsteller", "bauherr", "gebuehrenpflichtiger",
//     "entwurfsverfasser") in the namespace of Submission.ID. A role that
//     defaults to another Akteur (bauherr to the applicant,
//     gebuehrenpflichtiger to the bauherr) shares that Akteur's id.
//   - A natural person without vorname gets vorname/nichtVorhanden = true.
//   - An Anlage without versionsnummer gets 1; without datum, the UTC date of
//     Submission.ReceivedAt.
//   - Code lists whose listVersionID XBau fixes are written with the fixed
//     value: xbau-nachrichten 4.0, baumassnahmeart 2.0,
//     bauherrodereigentuemerart 2.0. For the lists of which XBau only
//     requires some version, this package writes (taken from the
//     project's sample instance, to be confirmed with the receiving
//     Fachverfahren): verzeichnisdienst "2", bundesland (Destatis)
//     "2010-04-01", xbau-mimetypes "1.0", erreichbarkeit "3" (kanal 01 =
//     E-Mail, 02 = Telefon). The MIME type is passed through, checked
//     against a pattern only.
//
// Map also requires of Input: MessageID and Submission.ID as UUIDs,
// CreatedAt and Submission.ReceivedAt set, Kennung and Name of Author and
// Reader, Product.Name and Product.Manufacturer (the schema requires them),
// all within datatype C.
package xbau
