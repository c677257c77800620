// Package xoev holds the parts that every XÖV message built by a mapper below
// transform shares: the checks of what the Nachrichtenkopf takes from a
// transform.Input (CheckInput, CheckVorgangInput, CheckBehoerdenkennungen,
// IsUUID), the xs:dateTime form of its timestamps (Timestamp), its
// identifikation.nachricht (IdentifikationNachricht), the root attributes
// produkt, produkthersteller and produktversion (ProductAttrs), code elements
// with listURI and listVersionID (CodeList, Code), text elements in Unicode
// NFC (Text, OptionalText) and the etree document settings of every message
// (NewDocument, WriteBytes).
//
// The helpers write exactly what the mappers wrote before they shared them,
// so that every golden file stays byte for byte the same: Text and Code leave
// an element with an empty value empty (<tag/>), Code writes its value as
// given (a mapper normalises input it passes as a code, as xdomea does with
// Behoerdenkennungen).
//
// The DIN SPEC 91379 datatypes live in the subpackage din91379; the test
// helpers (schema validation with xmllint, golden files, the raw etree
// benchmark floor) in xoevtest, and those that need package transform
// (example submissions, Map error and determinism checks, benchmark bodies)
// in mappertest.
package xoev
