// Package din91379 checks text against the datatypes of DIN SPEC 91379
// ("Zeichen in Unicode für die elektronische Verarbeitung von Namen und den
// Datenaustausch in Europa", String.Latin+ 1.2), exactly as the official XÖV
// schema din-norm-91379-datatypes.xsd (urn:xoev-de:kosit:xoev:datentyp:din-91379_2022-08)
// defines them with its XSD patterns.
//
// The datatypes:
//
//	A  names of natural persons (Vorname, Familienname, Geburtsname)
//	B  other names: legal persons, places, streets with house numbers
//	C  all normative characters: general text, with tab, line feed and carriage return
//	D  B plus the non-normative characters (Greek, more punctuation and symbols)
//	E  C plus the non-normative characters, Greek and Cyrillic letters included
//
// Each pattern lists single characters and sequences of a base character
// followed by combining marks (such as "L" U+0325 U+0304, or "N" U+0302 for
// "N̂", which have no precomposed form). A combining mark is allowed only
// where a sequence lists it after its base; it is never allowed alone.
//
// The tables in tables_gen.go are generated from the official file by
// internal/gen (go generate, with AMTSBOTE_XOEV_SCHEMAS naming the directory
// of the official schemas); the tests compare Check with xmllint validating
// against that file.
package din91379

//go:generate go run ./internal/gen -xsd $AMTSBOTE_XOEV_SCHEMAS/xbau-2.6/xsd_dev/din-norm-91379-datatypes.xsd
