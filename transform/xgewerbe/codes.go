package xgewerbe

// Code values written by Map. See the package documentation for which of
// them the XGewerbeanzeige 2.2 example attests and which are unverified.
const (
	codeNachrichtentyp    = "0500"
	codeNein              = "0"
	codeJa                = "1"
	codeFunktionInhaber   = "1" // attested: the Inhaber of the example
	codeFunktionVertreter = "2" // unverified: gesetzlicher Vertreter
	codeKanalEMail        = "01"
	codeKanalTelefon      = "02"
	codeNationDeutschland = "276" // ISO 3166-1 numeric, as in the example
)

// anmeldegruende maps the values of data.anmeldegrund to the
// grundAnmeldungSchluessel code. Only "neuerrichtung" (01) is attested by the
// example; the others follow the order of field 33 of form GewA 1 and must be
// checked against the official code list.
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

// registerArten maps registereintrag.register to the eintragungArt code
// (A attested for HRA; B unverified).
var registerArten = map[string]string{"HRA": "A", "HRB": "B"}
