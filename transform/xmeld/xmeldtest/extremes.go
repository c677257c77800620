package xmeldtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xmeld"
)

// Extreme is a named submission at an extreme of the payload.
type Extreme struct {
	Name       string
	Submission transform.Submission
}

// Maximum counts and lengths of the payload schema
// (wohnungsgeberbestaetigung.schema.json).
const (
	maxName              = 120
	maxText              = 100
	maxOrganisation      = 200
	maxDoktorgrad        = 40
	maxHausnummer        = 20
	maxMeldepflichtige   = 30
	maxZuordnungsmerkmal = 64
	maxPostbox           = 200
)

// letters are letters of DIN SPEC 91379 datatype A, precomposed, for long
// names.
var letters = []rune("abcdefghijklmnopqrstuvwxyzäöüßÄÖÜéèçłŁøØåÅñšŠžŽőŐțȚ")

// long returns a name of exactly n characters: letters with a space or a
// hyphen now and then, never at either end.
func long(n, seed int) string {
	out := make([]rune, n)
	for i := range out {
		out[i] = letters[(i*7+seed)%len(letters)]
		if i%11 == 5 && i < n-1 {
			out[i] = []rune(" -")[(i/11)%2]
		}
	}
	out[0], out[n-1] = 'X', 'Z'
	return string(out)
}

// Extremes returns the payload at its extremes, received at Received:
// ExtremesAt(Received).
func Extremes() []Extreme { return ExtremesAt(Received) }

// ExtremesAt returns the payload at its extremes, each received at received
// with dates plausible for that day:
//
//   - "maximal-person" and "maximal-organisation": every optional member
//     present and at its maximum length, 30 meldepflichtige Personen, an
//     Eigentümer of the other kind than the Wohnungsgeber;
//   - "minimal-einzug" and "minimal-auszug": only the required members;
//   - every value of the enumerated members (art of the Meldevorgang and of
//     the party, anrede, the identity's method and trust level);
//   - the dates at the bounds of the plausibility rules.
func ExtremesAt(received time.Time) []Extreme {
	day := receiptDay(received)
	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	var out []Extreme
	add := func(name string, applicant, data map[string]any, identity *transform.Identity) {
		out = append(out, Extreme{Name: name, Submission: transform.Submission{
			ID:     fmt.Sprintf("00000000-0000-4000-8000-%012d", len(out)+1),
			Tenant: "musterstadt", Procedure: xmeld.Procedure, ReceivedAt: received,
			Applicant: applicant, Data: data, Identity: identity,
		}})
	}
	maxAnschrift := func(seed int) map[string]any {
		return map[string]any{"strasse": long(maxText, seed), "hausnummer": long(maxHausnummer, seed+1),
			"adresszusatz": long(maxText, seed+2), "postleitzahl": "99999", "ort": long(maxText, seed+3)}
	}
	kontakt := func(p map[string]any) map[string]any {
		p["telefon"] = "+49" + strings.Repeat("9", 27)
		p["email"] = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".de"
		return p
	}
	maxPerson := func(seed int) map[string]any {
		return kontakt(map[string]any{"art": "natuerlichePerson", "anrede": "Frau", "doktorgrad": long(maxDoktorgrad, seed),
			"vorname": long(maxName, seed+1), "familienname": long(maxName, seed+2), "anschrift": maxAnschrift(seed + 3)})
	}
	maxOrganisation := func(seed int) map[string]any {
		return kontakt(map[string]any{"art": "juristischePerson", "name": long(maxOrganisation, seed),
			"ansprechpartner": map[string]any{"vorname": long(maxName, seed+1), "familienname": long(maxName, seed+2)},
			"anschrift":       maxAnschrift(seed + 3)})
	}
	maxData := func(eigentuemer map[string]any) map[string]any {
		var persons []any
		for i := range maxMeldepflichtige {
			persons = append(persons, map[string]any{"doktorgrad": long(maxDoktorgrad, i), "vorname": long(maxName, i+1),
				"familienname": long(maxName, i+2), "geburtsname": long(maxName, i+3)})
		}
		return map[string]any{"art": "einzug", "einzugsdatum": date(day), "bestaetigungsdatum": date(day),
			"wohnung": maxAnschrift(40), "wohnungsgeberIstEigentuemer": false, "eigentuemer": eigentuemer,
			"meldepflichtige": persons, "zuordnungsmerkmal": strings.Repeat("~", maxZuordnungsmerkmal/2) + strings.Repeat("!", maxZuordnungsmerkmal/2)}
	}
	maxIdentity := &transform.Identity{Method: transform.IdentityServicekonto, Provider: long(maxText, 7),
		TrustLevel: transform.TrustHigh, PostboxReference: strings.Repeat("P", maxPostbox)}
	add("maximal-person", maxPerson(1), maxData(maxOrganisation(2)), maxIdentity)
	add("maximal-organisation", maxOrganisation(3), maxData(maxPerson(4)), maxIdentity)

	minimalApplicant := func() map[string]any {
		return map[string]any{"familienname": "F", "anschrift": map[string]any{"strasse": "S", "postleitzahl": "00000", "ort": "O"}}
	}
	minimal := func(art string, move, bestaetigung time.Time) map[string]any {
		return map[string]any{"art": art, art + "sdatum": date(move), "bestaetigungsdatum": date(bestaetigung),
			"wohnung":                     map[string]any{"strasse": "S", "postleitzahl": "00000", "ort": "O"},
			"wohnungsgeberIstEigentuemer": true, "meldepflichtige": []any{map[string]any{"familienname": "M"}}}
	}
	for _, art := range []string{"einzug", "auszug"} {
		add("minimal-"+art, minimalApplicant(), minimal(art, day, day), nil)
	}
	for _, anrede := range []string{"Herr", "Frau"} {
		a := minimalApplicant()
		a["anrede"] = anrede
		add("anrede-"+anrede, a, minimal("einzug", day, day), nil)
	}
	add("identity-none", minimalApplicant(), minimal("einzug", day, day), &transform.Identity{Method: transform.IdentityNone})
	for _, method := range []string{transform.IdentityEID, transform.IdentityServicekonto} {
		for _, level := range []string{transform.TrustBasic, transform.TrustSubstantial, transform.TrustHigh} {
			add("identity-"+method+"-"+level, minimalApplicant(), minimal("auszug", day, day),
				&transform.Identity{Method: method, Provider: "BundID", TrustLevel: level})
		}
	}
	// The bounds of the date rules (xmeld.checkDates), each date on its bound.
	add("dates-move-latest", minimalApplicant(), minimal("einzug", latestMove(day), day), nil)
	add("dates-confirmation-earliest", minimalApplicant(), minimal("auszug", day, xmeld.AddMonths(day, -xmeld.EarliestConfirmation)), nil)
	add("dates-confirmation-latest", minimalApplicant(), minimal("einzug", earliestMove(day), day), nil)
	bmg := time.Date(2015, 11, 1, 0, 0, 0, 0, time.UTC)
	add("dates-bmg-in-force", minimalApplicant(), minimal("einzug", bmg, bmg), nil)
	return out
}

// earliestMove returns the earliest move that a confirmation on day may
// still confirm: LatestConfirmation months before it, or the day after
// where counting forward ends earlier (day 29 February, the move 28
// February ten years before: its bound is 28 February, so 1 March).
func earliestMove(day time.Time) time.Time {
	m := xmeld.AddMonths(day, -xmeld.LatestConfirmation)
	for xmeld.AddMonths(m, xmeld.LatestConfirmation).Before(day) {
		m = m.AddDate(0, 0, 1)
	}
	return m
}
