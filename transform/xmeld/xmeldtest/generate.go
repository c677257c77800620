// Package xmeldtest generates payloads of the procedure
// meldewesen.wohnungsgeberbestaetigung for tests: random valid submissions
// (Random and RandomAt, the property generator of the mapper's tests and of
// the conformance test) and the payload at its extremes (Extremes and
// ExtremesAt). It imports xmeld and transform only; the tests of xmeld and
// the conformance test import it.
//
// The dates of a Wohnungsgeberbestätigung are plausible only relative to
// the day of receipt (xmeld's date rules): the ...At variants generate them
// for a given receipt, such as the time a test submits them to a server.
package xmeldtest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xmeld"
)

// Received is the time of receipt of the submissions of Random and Extremes.
var Received = time.Date(2026, 11, 28, 9, 59, 58, 0, time.UTC)

// berlin is the time zone in which xmeld takes the day of receipt.
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err) // xmeld links time/tzdata
	}
	return loc
}()

// receiptDay is the day of receipt of received as xmeld's rules see it.
func receiptDay(received time.Time) time.Time {
	y, m, d := received.In(berlin).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Name parts for random names: Latin letters of several languages.
var nameParts = []string{
	"Mü", "ller", "Schä", "fer", "Łó", "dź", "Wiś", "niew", "ska", "Dvo", "řák", "Ște", "fă", "nes", "cu",
	"Nguyễn", "Trần", "Ø", "ster", "Å", "kes", "son", "Gar", "cía", "Çe", "lik", "Grö", "ß", "mann", "Žu", "pan",
	"O’", "Brien", "d’", "Ar", "cy", "Ÿ", "ves", "Ðor", "đe", "Ħal", "Ľu", "bo", "Ŕ", "Ő", "rs", "Ș", "ẞ",
}

// name returns a random name of one to three parts.
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

func anschrift(r *rand.Rand) map[string]any {
	a := map[string]any{
		"strasse":      name(r) + []string{"straße", "weg", " Allee", "platz"}[r.IntN(4)],
		"postleitzahl": fmt.Sprintf("%05d", r.IntN(100000)),
		"ort":          name(r),
	}
	if r.IntN(4) > 0 {
		a["hausnummer"] = strconv.Itoa(1+r.IntN(300)) + []string{"", "a", " b", "-5"}[r.IntN(4)]
	}
	if r.IntN(3) == 0 {
		a["adresszusatz"] = strconv.Itoa(r.IntN(8)) + ". OG, " + name(r)
	}
	return a
}

// dates returns a plausible date of the Einzug or Auszug and of the
// confirmation for a submission received on the day received: the move up
// to two years before and up to LatestMove months after the receipt, the
// confirmation from EarliestConfirmation months before to
// LatestConfirmation months after the move (xmeld.AddMonths), never after
// the receipt; now and then at the very bounds.
func dates(r *rand.Rand, received time.Time) (move, bestaetigung string) {
	m := received.AddDate(0, 0, -730+r.IntN(730+90))
	if r.IntN(8) == 0 {
		m = latestMove(received)
	}
	lo, hi := xmeld.AddMonths(m, -xmeld.EarliestConfirmation), xmeld.AddMonths(m, xmeld.LatestConfirmation)
	if hi.After(received) {
		hi = received
	}
	if lo.After(hi) { // cannot happen with the bounds of today's rules; no panic if they change
		lo = hi
	}
	b := lo.AddDate(0, 0, r.IntN(int(hi.Sub(lo).Hours()/24)+1))
	switch r.IntN(8) {
	case 0:
		b = lo
	case 1:
		b = hi
	}
	return m.Format(time.DateOnly), b.Format(time.DateOnly)
}

// latestMove returns the latest plausible date of a move for the day of
// receipt received: LatestMove months after it (received 30 November: the
// end of February). Counted back EarliestConfirmation months it is never
// after the receipt (AddMonths only ever shortens a month end), so it can
// be confirmed on the day of receipt.
func latestMove(received time.Time) time.Time {
	return xmeld.AddMonths(received, xmeld.LatestMove)
}

// zuordnungsmerkmal is 1 to 64 printable ASCII characters without space.
func zuordnungsmerkmal(r *rand.Rand) string {
	b := make([]byte, 1+r.IntN(64))
	for i := range b {
		b[i] = byte(0x21 + r.IntN(0x7E-0x21+1))
	}
	return string(b)
}

// Party returns a random natural person or organisation with Anschrift, a
// Wohnungsgeber or Eigentümer.
func Party(r *rand.Rand) map[string]any {
	p := map[string]any{"anschrift": anschrift(r)}
	if r.IntN(3) == 0 {
		p["name"] = name(r) + " " + []string{"GmbH", "eG", "KG", "AöR", "GmbH & Co. KG"}[r.IntN(5)]
		if r.IntN(2) == 0 {
			p["art"] = "juristischePerson"
		}
		if r.IntN(2) == 0 {
			p["ansprechpartner"] = map[string]any{"vorname": name(r), "familienname": name(r)}
		}
	} else {
		p["familienname"] = name(r)
		if r.IntN(5) > 0 {
			p["vorname"] = name(r)
		}
		if r.IntN(2) == 0 {
			p["art"] = "natuerlichePerson"
		}
		if r.IntN(3) == 0 {
			p["anrede"] = []string{"Herr", "Frau"}[r.IntN(2)]
		}
		if r.IntN(4) == 0 {
			p["doktorgrad"] = []string{"Dr.", "Prof. Dr.", "Dr. med. dent.", "Dr.-Ing."}[r.IntN(4)]
		}
	}
	if r.IntN(2) == 0 {
		p["telefon"] = fmt.Sprintf("+49 %d %d", 30+r.IntN(9000), 1000+r.IntN(9000000))
	}
	if r.IntN(2) == 0 {
		p["email"] = fmt.Sprintf("kontakt%d@example.org", r.IntN(1000))
	}
	return p
}

// Random returns a random valid submission received at Received, with 1 to
// 8 meldepflichtige Personen: RandomAt(r, Received).
func Random(r *rand.Rand) transform.Submission { return RandomAt(r, Received) }

// RandomAt returns a random valid submission received at received, its
// dates plausible for that day of receipt.
func RandomAt(r *rand.Rand, received time.Time) transform.Submission {
	s := transform.Submission{
		ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff), Tenant: "musterstadt",
		Procedure: xmeld.Procedure, ReceivedAt: received,
		Applicant: Party(r),
	}
	move, bestaetigung := dates(r, receiptDay(received))
	d := map[string]any{
		"wohnung":            anschrift(r),
		"bestaetigungsdatum": bestaetigung,
	}
	if r.IntN(2) == 0 {
		d["art"], d["einzugsdatum"] = "einzug", move
	} else {
		d["art"], d["auszugsdatum"] = "auszug", move
	}
	if r.IntN(3) == 0 {
		d["zuordnungsmerkmal"] = zuordnungsmerkmal(r)
	}
	owner := r.IntN(2) == 0
	d["wohnungsgeberIstEigentuemer"] = owner
	if !owner {
		d["eigentuemer"] = Party(r)
	}
	var persons []any
	for range 1 + r.IntN(8) {
		p := map[string]any{"familienname": name(r)}
		if r.IntN(6) > 0 {
			p["vorname"] = name(r)
		}
		if r.IntN(4) == 0 {
			p["geburtsname"] = name(r)
		}
		if r.IntN(8) == 0 {
			p["doktorgrad"] = "Dr."
		}
		persons = append(persons, p)
	}
	d["meldepflichtige"] = persons
	s.Data = d
	switch r.IntN(4) {
	case 1:
		s.Identity = &transform.Identity{Method: transform.IdentityNone}
	case 2:
		s.Identity = &transform.Identity{Method: transform.IdentityEID, TrustLevel: transform.TrustHigh}
	case 3:
		s.Identity = &transform.Identity{
			Method: transform.IdentityServicekonto, Provider: []string{"BundID", "Servicekonto.NRW", "Mein Unternehmenskonto"}[r.IntN(3)],
			TrustLevel: []string{transform.TrustBasic, transform.TrustSubstantial, transform.TrustHigh}[r.IntN(3)],
		}
		if r.IntN(2) == 0 {
			s.Identity.PostboxReference = fmt.Sprintf("postfach:%08x", r.Uint32())
		}
	}
	return s
}
