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
// representatives; a natural person may carry the registered firm (an
// e. K.) as betrieb with the same members; data holds the Betriebsstätte, the activity, the start
// date and the reason of the registration.
//
// What goes where (docs/procedures.md, "Gewerbeanmeldung", has the full
// table and what is deliberately left out):
//
//	Input.MessageID, CreatedAt     nachrichtenkopf/identifikation.nachricht
//	Input.Reader, Input.Author     nachrichtenkopf/leser, autor: behoerdenkennung
//	                               (Party.Kennung "praefix:kennung"; the kennung with the
//	                               list the 2.2 example pairs with its praefix, MELDID or
//	                               azr, else none) and behoerdenname
//	Input.Product                  produkt, produkthersteller, produktversion
//	Submission.ID                  satz/anmeldung/uuid (the UUID of the Gewerbeanzeige)
//	Submission.ReceivedAt          ereigniszeitpunkt; its date in Europe/Berlin is datumMeldung
//	Input.Author.AGS               gemeindeSchluessel
//	organisation                   gewerbe/betrieb (ID 1, eingetragenerName, eintragungNr,
//	                               eintragungOrt, eintragungPLZ, eintragungArt A/B for
//	                               HRA/HRB, gerichtSchluessel, rechtsformSchluessel) and
//	                               one beteiligtePerson per representative (personFunktion 2)
//	natural person                 one beteiligtePerson (personFunktion 1, the Inhaber);
//	                               with applicant.betrieb (an e. K.) also gewerbe/betrieb
//	geschlecht, aufenthaltstitel   beteiligtePerson/geschlecht, aufenthaltstitel (status 1)
//	data.betriebArt                betriebArt: industrie, handwerk, handel, sonstiges (Ja/Nein)
//	data.niederlassung             niederlassungArt
//	data.reisegewerbe, nebenerwerb istReisegewerbe, istNebenerwerb
//	data.handwerkskarte            handwerkskarte (status 1, ausgestelltAm, ausgestelltVon...)
//	data.betriebsstaette           gewerbe/anschrift; every anschrift has a nationSchluessel,
//	                               276 where the address names no staat
//	data.taetigkeit                taetigkeitenGesamt/schwerpunkt (taetigkeitSchwerpunkt,
//	                               taetigkeitSchluessel = WZ 2008, stichwort) and weitereTaetigkeiten
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
// Code values and list versions are data in codes.go, each with its source:
// the example instances of XGewerbeanzeige 2.2, 2.1 and 1.x from the KoSIT
// validator configuration. Values of members with a code table (anmeldegrund,
// niederlassung, betriebArt, geschlecht, register) are enumerated in
// PayloadSchema, so an unknown value is a FieldError at its pointer (HTTP
// 422); a test keeps those enumerations and the tables in step. Keys of
// external lists that the portal sends (rechtsform, staatsangehoerigkeit,
// staat, gericht, wirtschaftszweig) are checked for their form only. Which
// values are confirmed by an example and which are not is listed in
// codes.go and docs/procedures.md; the unconfirmed ones (among them
// grundAnmeldungSchluessel 02-09, personFunktion 2, niederlassungArt 2 and 3,
// geschlecht 2 and 3) must be checked with the receiving Fachverfahren before
// production use. listVersionID is written exactly where the 2.2 example
// writes it.
//
// The generator of random valid payloads and the payloads at their extremes
// are in the package xgewerbetest.
package xgewerbe
