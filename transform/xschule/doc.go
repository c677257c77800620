// Package xschule is the procedure schule.schueleranmeldung, Schüler Online:
// the enrolment of a pupil at a weiterführende Schule or a Berufskolleg as
// in North Rhine-Westphalia. It is Amtsbote's first declarative procedure:
// no Go mapper, but the procedure directory procedure/ (procedure.yaml,
// schema.json, mapping.yaml, examples), embedded in the binary and compiled
// by transform/declarative.
//
// The message, schule.anmeldung.0001 in namespace
// urn:amtsbote:xschule:anmeldung:1, is Amtsbote's own, XSchule-style, on
// the XÖV base types (xoev-code.xsd, the DIN SPEC 91379 datatypes), as
// transform/xmeld's: Schema (procedure/xschule-anmeldung.xsd) imports the
// XÖV library by file name, to be deployed in the directory of those files.
// It carries the pupil (names, birth date, address), up to four
// Sorgeberechtigte, the current and the requested school with its Schulform
// and Bildungsgang, the school year, an Ausbildungsbetrieb for the
// Berufsschule, and the consents.
package xschule
