package xmeld

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Berlin without depending on the host's zoneinfo

	"github.com/amtsbote/amtsbote/transform"
)

// Bounds of the plausibility rules of the dates (checkDates).
const (
	// EarliestConfirmation is how long before the Einzug or Auszug a
	// Wohnungsgeber may confirm it: leases are signed and the confirmation
	// handed over weeks, sometimes months, before the keys.
	EarliestConfirmation = 3 // months
	// LatestConfirmation is how long after the Einzug or Auszug a
	// confirmation is still plausible. § 19 Abs. 1 BMG asks for it within
	// the two weeks of § 17 BMG; a late one is still owed and accepted, but
	// one more than a year late most likely carries a mistyped year.
	LatestConfirmation = 12 // months; the messages say "a year"
	// LatestMove is how far after the receipt an Einzug or Auszug may lie:
	// as far as it may be confirmed in advance.
	LatestMove = EarliestConfirmation // months
)

var (
	// earliestDate bounds every date from below: an earlier one is a typo.
	earliestDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	// bmgInForce is the day the Bundesmeldegesetz, with the
	// Wohnungsgeberbestätigung of § 19, came into force (Art. 4 Satz 1
	// MeldFortG, BGBl. I 2013 S. 1084): no confirmation under it is older.
	bmgInForce = time.Date(2015, 11, 1, 0, 0, 0, 0, time.UTC)
)

// berlin is the time zone in which the date of receipt is taken. With
// time/tzdata linked in, loading cannot fail for a valid name.
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// checkDates appends the violations of the plausibility rules of the dates
// of s, each at the pointer of the date it blames, its message naming the
// rule and its legal basis (never the dates themselves):
//
//   - no date before 1900-01-01, and no bestaetigungsdatum before
//     2015-11-01, when § 19 BMG came into force;
//   - the Einzug or Auszug at most LatestMove months after the day of
//     receipt (Europe/Berlin);
//   - the bestaetigungsdatum not after the day of receipt: a confirmation
//     cannot be dated in the future of its own submission;
//   - the bestaetigungsdatum at most EarliestConfirmation months before and
//     at most LatestConfirmation months after the Einzug or Auszug.
//
// A move date that breaks its own bounds is blamed alone: the confirmation
// is not compared with it. A date that is absent or not a valid date is left
// to the other rules; without ReceivedAt (zero) the rules relative to the
// receipt are skipped. A payload cannot state an Auszug before its Einzug:
// it carries one Meldevorgang, and the art rule refuses both dates.
func checkDates(errs []transform.FieldError, s transform.Submission) []transform.FieldError {
	d := s.Data
	if d == nil {
		return errs
	}
	add := func(pointer, message, messageDE string) {
		errs = append(errs, transform.FieldError{Pointer: pointer, Code: transform.CodeInvalid, Message: message, MessageDE: messageDE})
	}
	date := func(member string) (time.Time, bool) {
		v, ok := d[member].(string)
		if !ok {
			return time.Time{}, false
		}
		t, err := time.Parse(time.DateOnly, v)
		return t, err == nil
	}
	var received time.Time
	if !s.ReceivedAt.IsZero() {
		y, m, day := s.ReceivedAt.In(berlin).Date()
		received = time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	}

	// The date of the Meldevorgang that art names, as Map writes it; with
	// both dates (which the art rule refuses) the other is only bounded.
	moveMember, moveWord, moveWordDE := "einzugsdatum", "move-in", "Einzug"
	if d["art"] == "auszug" {
		moveMember, moveWord, moveWordDE = "auszugsdatum", "move-out", "Auszug"
	}
	var move time.Time
	for _, k := range []struct{ member, word, wordDE string }{
		{"einzugsdatum", "move-in", "Einzug"}, {"auszugsdatum", "move-out", "Auszug"},
	} {
		t, ok := date(k.member)
		if !ok {
			continue
		}
		pointer := "/data/" + k.member
		switch {
		case t.Before(earliestDate):
			add(pointer, "is implausible: before 1900-01-01", "ist unplausibel: vor dem 01.01.1900")
		case !received.IsZero() && t.After(received.AddDate(0, LatestMove, 0)):
			add(pointer,
				fmt.Sprintf("is implausible: more than %d months after the submission; a Wohnungsgeber confirms a %s at most as far in advance (§ 19 Abs. 1 BMG)", LatestMove, k.word),
				fmt.Sprintf("ist unplausibel: mehr als %d Monate nach der Einreichung; so weit im Voraus bestätigt ein Wohnungsgeber den %s höchstens (§ 19 Abs. 1 BMG)", LatestMove, k.wordDE))
		case k.member == moveMember:
			move = t
		}
	}
	movePointer := "/data/" + moveMember

	const pointer = "/data/bestaetigungsdatum"
	b, ok := date("bestaetigungsdatum")
	switch {
	case !ok:
	case b.Before(bmgInForce):
		add(pointer, "is implausible: before 2015-11-01, when the Wohnungsgeberbestätigung of § 19 BMG came into force (Art. 4 MeldFortG)",
			"ist unplausibel: vor dem 01.11.2015, an dem die Wohnungsgeberbestätigung nach § 19 BMG in Kraft trat (Art. 4 MeldFortG)")
	case !received.IsZero() && b.After(received):
		add(pointer, "is implausible: after the day of the submission; the Wohnungsgeber confirms with it (§ 19 Abs. 1 BMG)",
			"ist unplausibel: nach dem Tag der Einreichung, mit der der Wohnungsgeber bestätigt (§ 19 Abs. 1 BMG)")
	case move.IsZero():
	case b.Before(move.AddDate(0, -EarliestConfirmation, 0)):
		add(pointer,
			fmt.Sprintf("is implausible: more than %d months before the %s (%s); the Wohnungsgeber confirms the %s itself, at the earliest when the lease is signed (§ 19 Abs. 1 and 3 Nr. 2 BMG)",
				EarliestConfirmation, moveWord, movePointer, moveWord),
			fmt.Sprintf("ist unplausibel: mehr als %d Monate vor dem %s (%s); der Wohnungsgeber bestätigt den %s selbst, frühestens bei Abschluss des Mietvertrags (§ 19 Abs. 1 und 3 Nr. 2 BMG)",
				EarliestConfirmation, moveWordDE, movePointer, moveWordDE))
	case b.After(move.AddDate(0, LatestConfirmation, 0)):
		add(pointer,
			"is implausible: more than a year after the "+moveWord+" ("+movePointer+"), which § 19 Abs. 1 BMG asks to confirm within two weeks (§ 17 BMG); check both years",
			"ist unplausibel: mehr als ein Jahr nach dem "+moveWordDE+" ("+movePointer+"), den § 19 Abs. 1 BMG binnen zwei Wochen zu bestätigen verlangt (§ 17 BMG); bitte beide Jahreszahlen prüfen")
	}
	return errs
}
