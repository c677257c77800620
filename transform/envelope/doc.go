// Package envelope is the generic Mapper: it wraps any procedure's submission
// in a namespaced, XÖV-style XML message (urn:amtsbote:envelope:1) until the
// procedure has a mapper for its own XÖV standard.
//
// The message has a Nachrichtenkopf (nachrichtenUUID, nachrichtentyp
// "einreichung.0001", erstellungszeitpunkt, autor, leser), the Vorgang
// (einreichungID, verfahren, mandant, ags, eingangszeitpunkt) and the
// applicant and data objects of the submission as antragsteller and daten.
// JSON values become elements named by their role, not by their key, so that
// one small schema (Schema, envelope.xsd) covers every procedure:
//
//	"key": "text"      <ab:feld name="key">text</ab:feld>
//	"key": 12.50       <ab:feld name="key">12.50</ab:feld>     (the number as received)
//	"key": true        <ab:feld name="key">true</ab:feld>
//	"key": null        <ab:feld name="key" nil="true"/>
//	"key": {...}       <ab:gruppe name="key">...</ab:gruppe>
//	"key": [v, ...]    <ab:liste name="key"><ab:eintrag>v</ab:eintrag>...</ab:liste>
//
// An eintrag holds its item directly: the text of a string, number or
// boolean; nil="true" for null; feld, gruppe and liste elements for an
// object; eintrag elements for an array. The envelope keeps values, not JSON
// types: "12" and 12 give the same text, and an empty string, object or array
// inside an array all give an empty eintrag. Object members are written in the
// order of their NFC-normalised keys, text in NFC, times in RFC 3339 UTC to
// the second; the output is indented with two spaces and is the same bytes
// for the same Input.
package envelope
