package xgewerbe

import "github.com/amtsbote/amtsbote/transform/xoev"

// The code values and code list versions Map writes, as data with their
// source. docs/procedures.md (Gewerbe) lists which are confirmed.
//
// Sources, all from the public repository
// itplr-kosit/validator-configuration-xgewerbeanzeige (beispiele/), the
// example instances of the KoSIT validator configuration:
//
//	2.2   xgwa2.2-valid.xml   abh.gewerbemeldung.0500, the message Map writes
//	2.1   xgwa2.1-valid.xml   sta.gewerbemeldung.0100 (an Abmeldung), with listURI
//	                          and listVersionID on every code
//	1.x   testfall.xml        the DatML/RAW form of XGewerbeanzeige 1.x (a GbR
//	                          with two GmbH partners)
//
// listVersionID: a code element carries the attribute exactly where the
// 2.2 example carries it. Where the 2.2 example writes none (istKorrektur,
// personFunktion, rechtsformSchluessel, eintragungArt, the Ja/Nein codes,
// niederlassungArt, kanal, the status codes, grundAnmeldungSchluessel), the
// XGewerbeanzeige schema fixes the list of the type, and a version taken
// from an older release could contradict the version the 2.2 schema fixes.
// The list URIs known from the 2.1 example are kept below for the reader.

// Code lists of the code elements that carry a listVersionID in the 2.2
// example (source: 2.2). URI stays empty as there: the schema fixes it.
var (
	listPraefix              = xoev.CodeList{Version: "7"}          // DVDV Präfixe (2.1: urn:xoev-de:bund:bmi:bit:codeliste:dvdv.praefix)
	listGemeindeschluessel   = xoev.CodeList{Version: "2019-05-31"} // AGS (2.1: urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ags)
	listRegistergerichte     = xoev.CodeList{Version: "5"}          // Registergerichte (urn:xoev-de:xgewerbeanzeige:codeliste:registergerichte)
	listStaat                = xoev.CodeList{Version: "2"}          // nationSchluessel: Staaten, ISO 3166-1 numerisch
	listGeschlecht           = xoev.CodeList{Version: "3"}          // 2.1: urn:xoev-de:xgewerbeanzeige:codeliste:geschlecht, version 3
	listStaatsangehoerigkeit = xoev.CodeList{Version: "2019-04-01"} // 2.1: urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:staatsangehoerigkeit
)

// Code values without a choice of the applicant.
const (
	codeNachrichtentyp    = "0500" // 2.2
	codeNein              = "0"    // Ja/Nein list (2.1: urn:xoev-de:xgewerbeanzeige:codeliste:janein, version 1); 2.2
	codeJa                = "1"    // 2.2 (betriebArt handwerk)
	codeFunktionInhaber   = "1"    // personFunktion (2.1: ...:codeliste:funktioneinerperson, version 1); 2.2, the Inhaber
	codeFunktionVertreter = "2"    // UNCONFIRMED: gesetzlicher Vertreter, order of the form
	codeKanalEMail        = "01"   // kanal (2.1: urn:de:xoev:codeliste:erreichbarkeit, version 3); 2.2
	codeKanalTelefon      = "02"   // 2.2
	codeNationDeutschland = "276"  // ISO 3166-1 numeric; 2.2 (nationSchluessel of every German address)
	codeStatusLiegtVor    = "1"    // status of handwerkskarte and aufenthaltstitel; 2.2 ("liegen vor", the example's comment)
)

// anmeldegruende maps data.anmeldegrund to grundAnmeldungSchluessel.
// Confirmed: 01 Neuerrichtung (2.2, 1.x). UNCONFIRMED: 02-09, numbered in
// the order of field 33 of form GewA 1 (GewAnzV, Anlage 1).
var anmeldegruende = map[string]string{
	"neuerrichtung":                    "01",
	"neuerrichtungUmwandlung":          "02",
	"wiedereroeffnungNachVerlegung":    "03",
	"gewerbewechsel":                   "04",
	"zuzug":                            "05",
	"uebernahme":                       "06",
	"uebernahmeRechtsformwechsel":      "07",
	"uebernahmeGesellschaftereintritt": "08",
	"uebernahmeUmwandlung":             "09",
}

// registerArten maps registereintrag.register to eintragungArt.
// Confirmed: A for HRA (2.2, e. K.), B for HRB (1.x, a GmbH).
var registerArten = map[string]string{"HRA": "A", "HRB": "B"}

// niederlassungsArten maps data.niederlassung to niederlassungArt (2.1:
// urn:xoev-de:xgewerbeanzeige:codeliste:artderniederlassung, version 1).
// Confirmed: 1 Hauptniederlassung (2.2, 2.1, 1.x). UNCONFIRMED: 2 and 3, in
// the order of § 14 Abs. 1 GewO and form GewA 1.
var niederlassungsArten = map[string]string{
	"hauptniederlassung":         "1",
	"zweigniederlassung":         "2",
	"unselbstaendigeZweigstelle": "3",
}

// betriebsArten are the members of betriebArt, in the order of the 2.2
// example; each is written with codeJa or codeNein (2.2, 2.1, 1.x).
var betriebsArten = []string{"industrie", "handwerk", "handel", "sonstiges"}

// geschlechter maps geschlecht to its code (list version 3, see
// listGeschlecht). Confirmed: 1 männlich (2.2, 2.1, 1.x). UNCONFIRMED: 2
// weiblich, 3 divers.
var geschlechter = map[string]string{"maennlich": "1", "weiblich": "2", "divers": "3"}

// Code lists of the kennung of a Behördenkennung, by its praefix (lower
// case), as the 2.2 example pairs them: the Autor "MELDID" with an AGS of
// the Destatis list of 2018-01-31, the Leser "azr" with an
// Ausländerbehörden-Kennung of list version 14 (source: 2.2). For any other
// praefix (e.g. the DVDV praefixe psw, gad) the example names no list, and
// the kennung is written without listURI and listVersionID, as the schema's
// code type allows; a list would be invented.
var kennungLists = map[string]xoev.CodeList{
	"meldid": {URI: "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ags", Version: "2018-01-31"},
	"azr":    {URI: "urn:de:xauslaender:codelist:abhkennung", Version: "14"},
}

// praefixAGS is the praefix whose kennung is an AGS (kennungLists): 8 digits.
const praefixAGS = "meldid"
