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
// Bezeichnung, the anzahlGebaeude and the codes of artDerMassnahme;
// data.baugrundstueck the optional address and 1 to 100 flurstuecke
// (bundesland, gemarkung by nummer or bezeichnung, flur, zaehler, nenner);
// data.anlagen 1 to 200 references to documents whose bytes travel
// separately (bezeichnung, anlageart, mimeType, dateiname, dokumentId,
// optional datum, versionsnummer, wirdNachgereicht).
//
// Validate reports, by RFC 6901 pointer into the request body, every
// violation of the schema, every text that fails transform.CheckText (DIN
// SPEC 91379 datatype C, the type of nearly all XBau text), every Bezeichnung
// of an Anlage outside datatype D (no tab, line break or no-break space), and
// every dokumentId or dateiname (compared case-insensitively) that repeats an
// earlier Anlage's, since XBau requires both to be unique in a message.
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
//   - bauvorhaben/gegenstand: anzahlDerGebaeudeImBauvorhaben and one
//     artDerMassnahme per code; verortung/baugrundstueck/grundstueck: the
//     address and the flurstuecke; weitereAngaben if given.
//   - anlagen: one anlage per entry, the document as
//     anhangOderVerlinkung/anhang with dokumentid "urn:uuid:" + dokumentId.
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
//     "2010-04-01", anlagen (XBau Anlage Art) "3.0", xbau-mimetypes "1.0",
//     erreichbarkeit "3" (kanal 01 = E-Mail, 02 = Telefon). The
//     anlageart code (four digits) and the MIME type are passed through;
//     their values are not checked against the code lists.
//
// Map also requires of Input: MessageID and Submission.ID as UUIDs,
// CreatedAt and Submission.ReceivedAt set, Kennung and Name of Author and
// Reader, Product.Name and Product.Manufacturer (the schema requires them),
// all within datatype C.
package xbau
