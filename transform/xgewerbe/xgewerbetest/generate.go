// Package xgewerbetest generates payloads of the procedure gewerbe.anmeldung
// for tests: random valid submissions (Random, the property generator of
// the mapper's tests and of the conformance test) and the fields at their
// extremes (Extremes). It imports xgewerbe and transform only; the tests of
// xgewerbe and the conformance test import it.
package xgewerbetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xgewerbe"
)

// Alphabet is the repertoire of random names: Latin letters with and
// without diacritics (also decomposed), XML metacharacters, punctuation and
// spaces, all within DIN SPEC 91379 datatype B.
var Alphabet = []string{
	"a", "Z", "ß", "ä", "Ö", "é", "e\u0301", "ł", "Ø", "ç", "İ", "ŉ", "0", "9",
	" ", "-", ".", ",", "'", "&", "<", ">", "\"", "§", "€", "/", "(", ")",
}

// FreeText is Alphabet with tab and line breaks, which free text may
// contain and names may not.
var FreeText = append(slices.Clip(Alphabet), "\t", "\n", "\r\n")

// Text returns 1 to n characters (code points) of Alphabet, a name.
func Text(r *rand.Rand, n int) string { return randomOf(r, Alphabet, 1+r.IntN(n)) }

// LongText returns exactly n characters of Alphabet.
func LongText(r *rand.Rand, n int) string { return randomOf(r, Alphabet, n) }

func freeText(r *rand.Rand, n int) string { return randomOf(r, FreeText, 1+r.IntN(n)) }

func randomOf(r *rand.Rand, alphabet []string, want int) string {
	var b strings.Builder
	for runes := 0; runes < want; {
		c := alphabet[r.IntN(len(alphabet))]
		if runes+utf8.RuneCountInString(c) > want {
			continue
		}
		runes += utf8.RuneCountInString(c)
		b.WriteString(c)
	}
	return b.String()
}

func digits(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

func date(r *rand.Rand) string {
	return time.Date(1900+r.IntN(200), time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(366)).Format(time.DateOnly)
}

func maybe(r *rand.Rand, m map[string]any, key string, value func() any) {
	if r.IntN(2) == 0 {
		m[key] = value()
	}
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// Code values of the payload, as the payload schema enumerates them.
var (
	Anmeldegruende = []string{"neuerrichtung", "neuerrichtungUmwandlung", "wiedereroeffnungNachVerlegung", "gewerbewechsel",
		"zuzug", "uebernahme", "uebernahmeRechtsformwechsel", "uebernahmeGesellschaftereintritt", "uebernahmeUmwandlung"}
	Niederlassungen = []string{"hauptniederlassung", "zweigniederlassung", "unselbstaendigeZweigstelle"}
	BetriebsArten   = []string{"industrie", "handwerk", "handel", "sonstiges"}
	Geschlechter    = []string{"maennlich", "weiblich", "divers"}
	Register        = []string{"HRA", "HRB"}
)

func anschrift(r *rand.Rand, inland bool) map[string]any {
	a := map[string]any{"strasse": Text(r, 120), "hausnummer": Text(r, 20), "ort": Text(r, 80)}
	if inland {
		a["postleitzahl"] = digits(r, 5)
	} else {
		a["postleitzahl"] = Text(r, 10)
		maybe(r, a, "staat", func() any { return digits(r, 3) })
	}
	return a
}

func aufenthaltstitel(r *rand.Rand) map[string]any {
	von := map[string]any{"name": Text(r, 250)}
	maybe(r, von, "postleitzahl", func() any { return digits(r, 5) })
	maybe(r, von, "ort", func() any { return Text(r, 80) })
	return map[string]any{"ausgestelltAm": date(r), "ausgestelltVon": von}
}

func person(r *rand.Rand, natural bool) map[string]any {
	p := map[string]any{"vorname": Text(r, 80), "familienname": Text(r, 120)}
	if natural {
		p["art"] = "natuerlichePerson"
		p["geburtsdatum"] = date(r)
		p["anschrift"] = anschrift(r, false)
	} else {
		maybe(r, p, "geburtsdatum", func() any { return date(r) })
		maybe(r, p, "anschrift", func() any { return anschrift(r, false) })
	}
	maybe(r, p, "geschlecht", func() any { return pick(r, Geschlechter) })
	maybe(r, p, "geburtsname", func() any { return Text(r, 120) })
	maybe(r, p, "geburtsort", func() any { return Text(r, 80) })
	maybe(r, p, "geburtsland", func() any { return Text(r, 80) })
	maybe(r, p, "staatsangehoerigkeit", func() any { return digits(r, 3) })
	maybe(r, p, "telefon", func() any { return "+" + digits(r, 3+r.IntN(17)) })
	maybe(r, p, "email", func() any { return fmt.Sprintf("p%d@example.org", r.IntN(1000)) })
	maybe(r, p, "aufenthaltstitel", func() any { return aufenthaltstitel(r) })
	return p
}

func registereintrag(r *rand.Rand) map[string]any {
	reg := map[string]any{"register": pick(r, Register), "nummer": Text(r, 20), "ort": Text(r, 80)}
	maybe(r, reg, "postleitzahl", func() any { return digits(r, 5) })
	maybe(r, reg, "gericht", func() any { return string(rune('A'+r.IntN(26))) + digits(r, 4) })
	return reg
}

func handwerkskarte(r *rand.Rand) map[string]any {
	hk := map[string]any{"ausgestelltAm": date(r)}
	maybe(r, hk, "ausgestelltVon", func() any {
		von := map[string]any{"postleitzahl": digits(r, 5), "ort": Text(r, 80)}
		maybe(r, von, "schluessel", func() any { return digits(r, 5) })
		return von
	})
	return hk
}

// Random returns a random valid submission of gewerbe.anmeldung: every
// optional member present or absent at random, every code value possible.
func Random(r *rand.Rand) transform.Submission {
	var applicant map[string]any
	if r.IntN(2) == 0 {
		applicant = person(r, true)
		maybe(r, applicant, "betrieb", func() any { // a registered firm, e.g. an e. K.
			b := map[string]any{"name": Text(r, 250), "rechtsform": digits(r, 3)}
			maybe(r, b, "registereintrag", func() any { return registereintrag(r) })
			return b
		})
	} else {
		applicant = map[string]any{"art": "organisation", "name": Text(r, 250), "rechtsform": digits(r, 3)}
		maybe(r, applicant, "registereintrag", func() any { return registereintrag(r) })
		var vertreter []any
		for range 1 + r.IntN(4) {
			vertreter = append(vertreter, person(r, false))
		}
		applicant["vertreter"] = vertreter
	}
	taetigkeit := map[string]any{"beschreibung": freeText(r, 1000)}
	maybe(r, taetigkeit, "wirtschaftszweig", func() any { return digits(r, 5) })
	maybe(r, taetigkeit, "stichwort", func() any { return Text(r, 250) })
	maybe(r, taetigkeit, "weitereTaetigkeiten", func() any { return freeText(r, 1000) })
	arten := slices.Clone(BetriebsArten)
	r.Shuffle(len(arten), func(i, j int) { arten[i], arten[j] = arten[j], arten[i] })
	var betriebArt []any
	for _, a := range arten[:1+r.IntN(len(arten))] {
		betriebArt = append(betriebArt, a)
	}
	data := map[string]any{
		"anmeldegrund":    pick(r, Anmeldegruende),
		"niederlassung":   pick(r, Niederlassungen),
		"beginn":          date(r),
		"betriebsstaette": anschrift(r, true),
		"taetigkeit":      taetigkeit,
		"betriebArt":      betriebArt,
	}
	maybe(r, data, "nebenerwerb", func() any { return r.IntN(2) == 0 })
	maybe(r, data, "reisegewerbe", func() any { return r.IntN(2) == 0 })
	maybe(r, data, "beschaeftigteVollzeit", func() any { return json.Number(fmt.Sprint(r.IntN(1000000))) })
	maybe(r, data, "beschaeftigteTeilzeit", func() any { return json.Number(fmt.Sprint(r.IntN(100))) })
	maybe(r, data, "handwerkskarte", func() any { return handwerkskarte(r) })
	s := transform.Submission{
		ID:         fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff),
		Tenant:     "musterstadt",
		Procedure:  xgewerbe.Procedure,
		Applicant:  applicant,
		Data:       data,
		ReceivedAt: time.Unix(1_700_000_000+r.Int64N(400_000_000), 0),
	}
	if r.IntN(2) == 0 {
		s.Identity = &transform.Identity{Method: "servicekonto", Provider: "BundID", TrustLevel: "substantial"}
	} else if r.IntN(2) == 0 {
		s.Identity = &transform.Identity{Method: "none"}
	}
	return s
}

// Extreme is a named submission at an extreme of the payload.
type Extreme struct {
	Name       string
	Submission transform.Submission
}

// Extremes returns submissions at the extremes of the payload: every
// member at its maximum length and every optional block present (a natural
// person and an organisation with 20 representatives), only the required
// members, and each code value of every enumerated member once.
func Extremes() []Extreme {
	r := rand.New(rand.NewPCG(16, 5))
	fullPerson := func(natural bool) map[string]any {
		p := map[string]any{
			"vorname": LongText(r, 80), "familienname": LongText(r, 120), "geschlecht": "divers",
			"geburtsname": LongText(r, 120), "geburtsdatum": "1900-02-28", "geburtsort": LongText(r, 80),
			"geburtsland": LongText(r, 80), "staatsangehoerigkeit": "999",
			"anschrift": map[string]any{"strasse": LongText(r, 120), "hausnummer": LongText(r, 20),
				"postleitzahl": LongText(r, 10), "ort": LongText(r, 80), "staat": "999"},
			"telefon": "+" + strings.Repeat("9", 30), "email": strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + ".example.org",
			"aufenthaltstitel": map[string]any{"ausgestelltAm": "2099-12-31", "ausgestelltVon": map[string]any{
				"name": LongText(r, 250), "postleitzahl": "99999", "ort": LongText(r, 80)}},
		}
		if natural {
			p["art"] = "natuerlichePerson"
			p["betrieb"] = map[string]any{"name": LongText(r, 250), "rechtsform": "999",
				"registereintrag": map[string]any{"register": "HRA", "nummer": LongText(r, 20), "ort": LongText(r, 80),
					"postleitzahl": "99999", "gericht": "Z9999"}}
		}
		return p
	}
	fullData := func() map[string]any {
		return map[string]any{
			"anmeldegrund": "uebernahmeUmwandlung", "niederlassung": "unselbstaendigeZweigstelle", "beginn": "2099-12-31",
			"betriebsstaette": map[string]any{"strasse": LongText(r, 120), "hausnummer": LongText(r, 20), "postleitzahl": "99999", "ort": LongText(r, 80)},
			"taetigkeit": map[string]any{"beschreibung": randomOf(r, FreeText, 1000), "wirtschaftszweig": "99999",
				"stichwort": LongText(r, 250), "weitereTaetigkeiten": randomOf(r, FreeText, 1000)},
			"betriebArt":  []any{"industrie", "handwerk", "handel", "sonstiges"},
			"nebenerwerb": true, "reisegewerbe": true,
			"beschaeftigteVollzeit": json.Number("999999"), "beschaeftigteTeilzeit": json.Number("999999"),
			"handwerkskarte": map[string]any{"ausgestelltAm": "2099-12-31",
				"ausgestelltVon": map[string]any{"postleitzahl": "99999", "ort": LongText(r, 80), "schluessel": "99999"}},
		}
	}
	minimal := func() (map[string]any, map[string]any) {
		return map[string]any{"art": "natuerlichePerson", "vorname": "A", "familienname": "B", "geburtsdatum": "2000-01-01",
				"anschrift": map[string]any{"strasse": "C", "hausnummer": "1", "postleitzahl": "1", "ort": "D"}},
			map[string]any{"anmeldegrund": "neuerrichtung", "niederlassung": "hauptniederlassung", "beginn": "2027-01-01",
				"betriebsstaette": map[string]any{"strasse": "C", "hausnummer": "1", "postleitzahl": "00000", "ort": "D"},
				"taetigkeit":      map[string]any{"beschreibung": "E"}, "betriebArt": []any{"sonstiges"}}
	}
	organisation := func(vertreter int) map[string]any {
		var vs []any
		for range vertreter {
			vs = append(vs, fullPerson(false))
		}
		return map[string]any{"art": "organisation", "name": LongText(r, 250), "rechtsform": "999",
			"registereintrag": map[string]any{"register": "HRB", "nummer": LongText(r, 20), "ort": LongText(r, 80),
				"postleitzahl": "99999", "gericht": "Z9999"},
			"vertreter": vs}
	}
	var out []Extreme
	add := func(name string, applicant, data map[string]any) {
		out = append(out, Extreme{Name: name, Submission: transform.Submission{
			ID:     fmt.Sprintf("00000000-0000-4000-8000-%012d", len(out)+1),
			Tenant: "musterstadt", Procedure: xgewerbe.Procedure, Applicant: applicant, Data: data,
			ReceivedAt: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
			Identity:   &transform.Identity{Method: "servicekonto", Provider: LongText(r, 1024), TrustLevel: "high", PostboxReference: LongText(r, 1024)},
		}})
	}
	add("maximal-person", fullPerson(true), fullData())
	add("maximal-organisation", organisation(20), fullData())
	a, d := minimal()
	add("minimal-person", a, d)
	o := map[string]any{"art": "organisation", "name": "F", "rechtsform": "000", "vertreter": []any{map[string]any{"vorname": "A", "familienname": "B"}}}
	_, d = minimal()
	add("minimal-organisation", o, d)
	for _, g := range Anmeldegruende {
		a, d := minimal()
		d["anmeldegrund"] = g
		add("anmeldegrund-"+g, a, d)
	}
	for _, n := range Niederlassungen {
		a, d := minimal()
		d["niederlassung"] = n
		add("niederlassung-"+n, a, d)
	}
	for _, b := range BetriebsArten {
		a, d := minimal()
		d["betriebArt"] = []any{b}
		add("betriebArt-"+b, a, d)
	}
	for _, g := range Geschlechter {
		a, d := minimal()
		a["geschlecht"] = g
		add("geschlecht-"+g, a, d)
	}
	for _, reg := range Register {
		o := organisation(1)
		o["registereintrag"].(map[string]any)["register"] = reg
		add("register-"+reg, o, fullData())
	}
	for _, b := range []bool{false, true} {
		a, d := minimal()
		d["nebenerwerb"], d["reisegewerbe"] = b, b
		add(fmt.Sprintf("janein-%t", b), a, d)
	}
	return out
}
