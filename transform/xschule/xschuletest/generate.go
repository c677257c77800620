// Package xschuletest generates payloads of the procedure
// schule.schueleranmeldung (Schüler Online) for tests: random valid
// submissions (RandomAt, the property generator of xschule's tests and of the
// conformance test) and the payload at its extremes (ExtremesAt). The rules
// of the procedure compare the birth date with the day of receipt, so both
// take the time of receipt.
package xschuletest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xschule"
)

// Received is a time of receipt for tests that need none in particular.
var Received = time.Date(2026, 11, 28, 9, 59, 58, 0, time.UTC)

// Extreme is a named payload at an extreme of the payload schema.
type Extreme struct {
	Name       string
	Submission transform.Submission
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err) // transform/declarative links time/tzdata
	}
	return loc
}()

// day is the day of receipt as the procedure's rules see it.
func day(received time.Time) time.Time {
	y, m, d := received.In(berlin).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Name parts: Latin letters of several languages (DIN SPEC 91379 datatype A).
var nameParts = []string{
	"Mü", "ller", "Schä", "fer", "Łó", "dź", "Wiś", "niew", "ska", "Dvo", "řák", "Ște", "fă", "nes", "cu",
	"Nguyễn", "Trần", "Ø", "ster", "Å", "kes", "son", "Gar", "cía", "Çe", "lik", "Grö", "ß", "mann", "Žu", "pan",
	"O’", "Brien", "Öz", "de", "mir", "Ay", "şe", "Ðor", "đe",
}

func name(r *rand.Rand) string {
	var b strings.Builder
	for i := range 1 + r.IntN(3) {
		if i > 0 {
			b.WriteString([]string{"-", " ", ""}[r.IntN(3)])
		}
		for range 1 + r.IntN(3) {
			b.WriteString(nameParts[r.IntN(len(nameParts))])
		}
	}
	return b.String()
}

var streets = []string{"Königsallee", "Am Wehrhahn", "Lindenweg", "Straße des 17. Juni", "Rue de l’Église", "Kurfürstendamm", "Bahnhofstraße"}
var places = []string{"Düsseldorf", "Bochum", "Mülheim an der Ruhr", "Musterstadt", "Köln", "Münster (Westf.)"}

func anschrift(r *rand.Rand) map[string]any {
	a := map[string]any{
		"strasse":      streets[r.IntN(len(streets))],
		"postleitzahl": fmt.Sprintf("%05d", 1000+r.IntN(98000)),
		"ort":          places[r.IntN(len(places))],
	}
	if r.IntN(4) > 0 {
		a["hausnummer"] = fmt.Sprintf("%d%s", 1+r.IntN(200), []string{"", "a", "b"}[r.IntN(3)])
	}
	return a
}

var (
	geschlechter   = []string{"maennlich", "weiblich", "divers", "ohne-angabe"}
	sorgeArten     = []string{"mutter", "vater", "vormund", "sonstige"}
	schulformen    = []string{"hauptschule", "realschule", "sekundarschule", "gesamtschule", "gymnasium", "berufskolleg"}
	bkBildungsgang = []string{"berufsschule", "berufsfachschule", "fachoberschule", "hoehere-berufsfachschule", "berufliches-gymnasium"}
)

func schule(r *rand.Rand, form string) map[string]any {
	s := map[string]any{"schulnummer": fmt.Sprintf("%06d", r.IntN(1_000_000)), "name": "Städtische Schule " + places[r.IntN(len(places))]}
	if form != "" {
		s["schulform"] = form
	}
	return s
}

// RandomAt returns a random valid submission received at received: a minor
// (10 to 17 years old, with one to four Sorgeberechtigte) or an adult (18
// to 25, with none to two), a Bildungsgang that matches the Schulform, an
// Ausbildungsbetrieb for the Berufsschule.
func RandomAt(r *rand.Rand, received time.Time) transform.Submission {
	d := day(received)
	minor := r.IntN(3) > 0
	age := 18 + r.IntN(8)
	if minor {
		age = 10 + r.IntN(8)
	}
	// A birthday at least one day after the receipt, age years ago: the
	// pupil has not yet turned age+1.
	birth := d.AddDate(-age-1, 0, 1+r.IntN(360))
	schueler := map[string]any{
		"familienname": name(r), "vornamen": name(r),
		"geburtsdatum": birth.Format(time.DateOnly),
		"geschlecht":   geschlechter[r.IntN(len(geschlechter))],
		"anschrift":    anschrift(r),
	}
	if r.IntN(5) == 0 {
		schueler["geburtsname"] = name(r)
	}
	if r.IntN(2) == 0 {
		schueler["geburtsort"] = places[r.IntN(len(places))]
	}
	data := map[string]any{
		"schuljahr":      fmt.Sprintf("%d/%02d", d.Year()+1, (d.Year()+2)%100),
		"schueler":       schueler,
		"einwilligungen": map[string]any{"datenuebermittlung": r.IntN(4) > 0},
	}
	if r.IntN(2) == 0 {
		data["einwilligungen"].(map[string]any)["fotos"] = r.IntN(2) == 0
	}
	n := r.IntN(3)
	if minor {
		n = 1 + r.IntN(4)
	}
	var sorge []any
	for range n {
		s := map[string]any{"art": sorgeArten[r.IntN(len(sorgeArten))], "familienname": name(r), "vorname": name(r)}
		if r.IntN(3) == 0 {
			s["anschrift"] = anschrift(r)
		}
		if r.IntN(2) == 0 {
			s["telefon"] = fmt.Sprintf("0%d %d", 200+r.IntN(700), 100000+r.IntN(900000))
		}
		if r.IntN(2) == 0 {
			s["email"] = fmt.Sprintf("eltern%d@example.de", r.IntN(1000))
		}
		sorge = append(sorge, s)
	}
	if sorge != nil || r.IntN(2) == 0 {
		data["sorgeberechtigte"] = append([]any{}, sorge...)
	}
	form := schulformen[r.IntN(len(schulformen))]
	data["angestrebteSchule"] = schule(r, form)
	if r.IntN(4) > 0 {
		cur := ""
		if r.IntN(2) == 0 {
			cur = schulformen[r.IntN(len(schulformen)-1)]
		}
		a := schule(r, cur)
		if r.IntN(2) == 0 {
			a["klasse"] = fmt.Sprintf("%d%c", 4+r.IntN(7), 'a'+r.IntN(4))
		}
		data["aktuelleSchule"] = a
	}
	bg := map[string]any{}
	switch form {
	case "berufskolleg":
		bg["art"] = bkBildungsgang[r.IntN(len(bkBildungsgang))]
		if r.IntN(2) == 0 {
			bg["jahrgangsstufe"] = 11 + r.IntN(3)
		}
		if r.IntN(2) == 0 {
			bg["fachrichtung"] = []string{"Elektrotechnik", "Wirtschaft und Verwaltung", "Gesundheit/Soziales"}[r.IntN(3)]
		}
	case "gymnasium", "gesamtschule":
		bg["art"] = []string{"sekundarstufe-1", "gymnasiale-oberstufe"}[r.IntN(2)]
		if r.IntN(2) == 0 {
			bg["jahrgangsstufe"] = 5 + r.IntN(9)
		}
	default:
		bg["art"] = "sekundarstufe-1"
		if r.IntN(2) == 0 {
			bg["jahrgangsstufe"] = 5 + r.IntN(6)
		}
	}
	if j, ok := bg["jahrgangsstufe"].(int); ok {
		bg["jahrgangsstufe"] = jsonNumber(j)
	}
	data["bildungsgang"] = bg
	if bg["art"] == "berufsschule" || r.IntN(8) == 0 {
		data["ausbildungsbetrieb"] = map[string]any{"name": "Stadtwerke " + places[r.IntN(len(places))] + " GmbH & Co. KG", "anschrift": anschrift(r)}
	}
	applicant := map[string]any{"familienname": name(r), "vorname": name(r), "email": fmt.Sprintf("antrag%d@example.org", r.IntN(10000))}
	if r.IntN(2) == 0 {
		applicant["telefon"] = "+49 211 " + fmt.Sprint(1000000+r.IntN(9000000))
	}
	s := transform.Submission{
		ID:     fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff),
		Tenant: "musterstadt", Procedure: xschule.Procedure, ReceivedAt: received,
		Applicant: applicant, Data: data,
	}
	switch r.IntN(3) {
	case 0:
		s.Identity = &transform.Identity{Method: transform.IdentityServicekonto, Provider: "Servicekonto.NRW", TrustLevel: transform.TrustSubstantial}
	case 1:
		s.Identity = &transform.Identity{Method: transform.IdentityNone}
	}
	return s
}

// ExtremesAt returns the payload at its extremes, received at received:
// every optional member present at its maximum length with four
// Sorgeberechtigte; only the required members (an adult without
// Sorgeberechtigte); the youngest and the oldest pupil the rules admit.
func ExtremesAt(received time.Time) []Extreme {
	d := day(received)
	long := func(n int) string { return "X" + strings.Repeat("ä", n-2) + "Z" }
	maxAnschrift := map[string]any{"strasse": long(100), "hausnummer": long(20), "postleitzahl": "99999", "ort": long(100)}
	person := func(art string) map[string]any {
		return map[string]any{"art": art, "familienname": long(120), "vorname": long(120), "anschrift": maxAnschrift,
			"telefon": "+49" + strings.Repeat("9", 27), "email": strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + ".de"}
	}
	base := func(birth time.Time) map[string]any {
		return map[string]any{
			"schuljahr": fmt.Sprintf("%d/%02d", d.Year()+1, (d.Year()+2)%100),
			"schueler": map[string]any{"familienname": "Becker", "vornamen": "Mia", "geburtsdatum": birth.Format(time.DateOnly),
				"geschlecht": "ohne-angabe", "anschrift": map[string]any{"strasse": "Lindenweg", "postleitzahl": "12345", "ort": "Musterstadt"}},
			"angestrebteSchule": map[string]any{"schulnummer": "165432", "name": "Gymnasium", "schulform": "gymnasium"},
			"bildungsgang":      map[string]any{"art": "sekundarstufe-1"},
			"einwilligungen":    map[string]any{"datenuebermittlung": false},
		}
	}
	applicant := func() map[string]any {
		return map[string]any{"familienname": "Becker", "vorname": "Jonas", "email": "j@example.de"}
	}
	var out []Extreme
	add := func(name string, data map[string]any) {
		out = append(out, Extreme{Name: name, Submission: transform.Submission{
			ID:     fmt.Sprintf("00000000-0000-4000-8000-%012d", len(out)+1),
			Tenant: "musterstadt", Procedure: xschule.Procedure, ReceivedAt: received,
			Applicant: applicant(), Data: data,
		}})
	}
	maximal := base(d.AddDate(-12, 0, 0))
	maximal["schueler"] = map[string]any{"familienname": long(120), "vornamen": long(120), "geburtsname": long(120),
		"geburtsdatum": d.AddDate(-12, 0, 0).Format(time.DateOnly), "geburtsort": long(100), "geschlecht": "divers", "anschrift": maxAnschrift}
	maximal["sorgeberechtigte"] = []any{person("mutter"), person("vater"), person("vormund"), person("sonstige")}
	maximal["aktuelleSchule"] = map[string]any{"schulnummer": "999999", "name": long(200), "schulform": "realschule", "klasse": long(20)}
	maximal["angestrebteSchule"] = map[string]any{"schulnummer": "000000", "name": long(200), "schulform": "berufskolleg"}
	maximal["bildungsgang"] = map[string]any{"art": "berufsschule", "jahrgangsstufe": jsonNumber(13), "fachrichtung": long(100)}
	maximal["ausbildungsbetrieb"] = map[string]any{"name": long(200), "anschrift": maxAnschrift}
	maximal["einwilligungen"] = map[string]any{"datenuebermittlung": true, "fotos": true}
	add("maximal", maximal)
	add("minimal-volljaehrig", base(d.AddDate(-18, 0, 0)))
	youngest := base(xmonths(d, -48))
	youngest["sorgeberechtigte"] = []any{map[string]any{"art": "mutter", "familienname": "Becker", "vorname": "Anna"}}
	add("juengster", youngest)
	add("aeltester", base(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)))
	return out
}

// xmonths moves t by months as the rules' addMonths does (the last day of a
// shorter month).
func xmonths(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	return time.Date(first.Year(), first.Month(), min(d, first.AddDate(0, 1, -1).Day()), 0, 0, 0, 0, time.UTC)
}

// jsonNumber is i as the intake decodes it.
func jsonNumber(i int) json.Number { return json.Number(strconv.Itoa(i)) }
