// Package xgewerbe maps the procedure gewerbe.anmeldung (Gewerbeanmeldung,
// form GewA 1) to a message in the form of XGewerbeanzeige 2.2,
// abh.gewerbemeldung.0500, in the namespace
// http://www.xgewerbeanzeige.de/spezifikation/2.2.
//
// No public copy of the XGewerbeanzeige 2.2 schema exists. The message
// therefore follows the published example instance (xgwa2.2-valid.xml from
// the KoSIT validator configuration): its namespace, root attributes
// (standard="XGewerbeanzeige", version="2.2"), Nachrichtenkopf, element names
// and order. Schema (gewerbemeldung.xsd) is the project's own XSD for exactly
// the subset emitted here, and the tests check that every element path of
// the output also occurs in the example.
//
// The request payload is described by PayloadSchema (anmeldung.schema.json,
// JSON Schema 2020-12): the applicant is the Gewerbetreibender, either a
// natural person ("art": "natuerlichePerson") or an organisation ("art":
// "organisation") with name, legal form, optional register entry and its
// representatives; data holds the Betriebsstätte, the activity, the start
// date and the reason of the registration.
//
// What goes where:
//
//	Input.MessageID, CreatedAt     nachrichtenkopf/identifikation.nachricht
//	Input.Reader, Input.Author     nachrichtenkopf/leser, autor: behoerdenkennung
//	                               (Party.Kennung "praefix:kennung") and behoerdenname
//	Input.Product                  produkt, produkthersteller, produktversion
//	Submission.ID                  satz/anmeldung/uuid (the UUID of the Gewerbeanzeige)
//	Submission.ReceivedAt          ereigniszeitpunkt; its date in Europe/Berlin is datumMeldung
//	Input.Author.AGS               gemeindeSchluessel
//	organisation                   gewerbe/betrieb (eingetragenerName, eintragungNr,
//	                               eintragungOrt, eintragungArt A/B for HRA/HRB,
//	                               rechtsformSchluessel) and one beteiligtePerson
//	                               per representative
//	natural person                 one beteiligtePerson (personFunktion 1)
//	data.betriebsstaette           gewerbe/anschrift (nationSchluessel 276)
//	data.taetigkeit                taetigkeitenGesamt/schwerpunkt (taetigkeitSchwerpunkt,
//	                               taetigkeitSchluessel = WZ 2008) and weitereTaetigkeiten
//	data.beginn                    gueltigAb
//	data.anmeldegrund              grundAnmeldungSchluessel
//
// Validate checks the payload against PayloadSchema and every string
// against DIN SPEC 91379: names of persons, places, streets and the firm
// with transform.CheckName (datatype B), all other text with
// transform.CheckText (datatype C); every problem is a FieldError at the
// exact JSON pointer of the value in the request body. The identity member
// has the members of the portal API (method, provider, trust_level,
// postbox_reference); it is validated but not written, since
// XGewerbeanzeige has no place for how the applicant was identified.
//
// Code values: those the example attests are used as there (nachrichtentyp
// 0500, istKorrektur 0, personFunktion 1 for the Inhaber, eintragungArt A for
// HRA, kanal 01 E-Mail and 02 Telefon, nationSchluessel 276, and
// grundAnmeldungSchluessel 01 for Neuerrichtung). The others are taken from
// the order of the paper form and are NOT verified against the official
// code lists: grundAnmeldungSchluessel 02-09 (see codes.go),
// personFunktion 2 for a legal representative, eintragungArt B for HRB.
// They live in codes.go only, to be checked against the XRepository
// code lists before production use. Legal form, nationality and economic
// sector are keys the portal sends from the official lists.
package xgewerbe
