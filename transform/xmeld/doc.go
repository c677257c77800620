// Package xmeld maps the procedure meldewesen.wohnungsgeberbestaetigung, the
// landlord's confirmation of a move under § 19 Bundesmeldegesetz
// (Wohnungsgeberbestätigung), into an XÖV-style XML message for the
// Meldebehörde's Fachverfahren.
//
// No public XMeld schema for this message is at hand, so the message is
// Amtsbote's own, modelled on XMeld and XInneres (Schema,
// wohnungsgeberbestaetigung.xsd, namespace Namespace, root element
// meldung.wohnungsgeberbestaetigung.0001): an XInneres-style Nachrichtenkopf
// (identifikation.nachricht, leser, autor with behoerdenkennung), a reference
// to the Einreichung, and the content § 19 Abs. 3 BMG requires: the
// Wohnungsgeber (a natural person or an organisation, with Anschrift), whether
// it is the Eigentümer or acts for the Eigentümer (then the Eigentümer's name
// and Anschrift), Einzug or Auszug and its date, the Anschrift of the Wohnung
// and the names of all meldepflichtige Personen; optionally how the portal
// identified the Wohnungsgeber and the Zuordnungsmerkmal of § 19 Abs. 4
// BMG (zuordnungsmerkmal, after the bestaetigungsdatum), where the
// Meldebehörde issued one for this electronic confirmation: the Wohnungsgeber
// passes it to the meldepflichtige Person, whose Anmeldung the Fachverfahren
// matches with it. Codes are XÖV Codes (code child, listURI and
// listVersionID attributes) of Amtsbote's own code lists
// urn:xoev-de:amtsbote:codeliste:...; text is typed with the DIN SPEC 91379
// datatypes of the XÖV library, which the XSD imports (with xoev-code.xsd) by
// a schemaLocation relative to itself: deploy it in the directory of those
// unmodified library files (as in XBau 2.6's xsd_dev).
//
// The payload of a submission (request members applicant, data and identity)
// is described by the JSON Schema PayloadJSONSchema
// (wohnungsgeberbestaetigung.schema.json). Validate checks it, checks every
// string with transform.CheckText and against a conservative subset of the
// DIN SPEC 91379 datatype of the element it becomes (datatype A for names of
// natural persons, B for all other text), so that every valid submission
// yields a message valid against Schema, and applies the rules the JSON
// Schema cannot express (the date matching the Meldevorgang, the Eigentümer
// exactly when the Wohnungsgeber is not the Eigentümer, identity details
// matching the identification method, plausible dates: see checkDates and
// docs/procedures.md). A character outside the element's datatype is
// reported in the terms of that datatype (A or B), also where it lies
// outside datatype C, which transform.CheckText checks.
package xmeld
