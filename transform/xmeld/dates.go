package xmeld

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Berlin without depending on the host's zoneinfo

	"github.com/amtsbote/amtsbote/transform"
)

// Bounds of the plausibility rules of the dates (checkDates). The BMG sets
// no time limit for the confirmation but the two weeks of § 19 Abs. 1 Satz 1
// BMG, after which it is still owed: these are Amtsbote's plausibility
// bounds, meant to catch mistyped dates, not legal deadlines.
const (
	// EarliestConfirmation is how long before the Einzug or Auszug a
	// Wohnungsgeber may confirm it: leases are signed and the confirmation
	// handed over weeks, sometimes months, before the keys.
	EarliestConfirmation = 3 // months
	// LatestConfirmation is how long after the Einzug or Auszug a
	// confirmation is still plausible. The duty of § 19 Abs. 1 BMG to
	// confirm within two weeks persists when they have passed, so a late
	// confirmation is accepted; one more than ten years late most likely
	// carries a mistyped year.
	LatestConfirmation = 120 // months; the messages say "10 years"
	// LatestMove is how far after the receipt an Einzug or Auszug may lie:
	// as far as it may be confirmed in advance.
	LatestMove = EarliestConfirmation // months
)

// AddMonths returns t moved by months calendar months, counted as § 188
// Abs. 3 BGB counts a period of months: when the target month lacks t's
// day, the result is its last day (31 May minus 3 months is 28 or 29
// February, not 3 March as time.AddDate normalises it). The bounds of the
// date rules are taken with it.
func AddMonths(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, 0, 0, 0, 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d, last), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

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
// rule and, where there is one, its legal basis (never the dates
// themselves):
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
// The month bounds are Amtsbote's plausibility bounds (the BMG sets none)
// and are counted with AddMonths. A move date that breaks its own bounds is
// blamed alone: the confirmation is not compared with it. A date that is
// absent or not a valid date is left to the other rules; without ReceivedAt
// (zero) the rules relative to the receipt are skipped. A payload cannot
// state an Auszug before its Einzug: it carries one Meldevorgang, and the
// art rule refuses both dates.
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
		case !received.IsZero() && t.After(AddMonths(received, LatestMove)):
			add(pointer,
				fmt.Sprintf("is implausible: more than %d months after the submission; no statutory time limit; Amtsbote's plausibility bound for confirming a %s in advance", LatestMove, k.word),
				fmt.Sprintf("ist unplausibel: mehr als %d Monate nach der Einreichung; keine gesetzliche Frist; Plausibilitätsgrenze von Amtsbote für die Bestätigung eines %ss im Voraus", LatestMove, k.wordDE))
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
		add(pointer, "is implausible: after the day of the submission that carries the confirmation, which cannot be dated later",
			"ist unplausibel: nach dem Tag der Einreichung, die die Bestätigung überbringt; sie kann nicht später datiert sein")
	case move.IsZero():
	case b.Before(AddMonths(move, -EarliestConfirmation)):
		add(pointer,
			fmt.Sprintf("is implausible: more than %d months before the %s (%s); no statutory time limit; Amtsbote's plausibility bound for a confirmation in advance",
				EarliestConfirmation, moveWord, movePointer),
			fmt.Sprintf("ist unplausibel: mehr als %d Monate vor dem %s (%s); keine gesetzliche Frist; Plausibilitätsgrenze von Amtsbote für eine Bestätigung im Voraus",
				EarliestConfirmation, moveWordDE, movePointer))
	case b.After(AddMonths(move, LatestConfirmation)):
		add(pointer,
			fmt.Sprintf("is implausible: more than %d years after the %s (%s); § 19 Abs. 1 BMG asks for the confirmation within two weeks and a late one is still owed, but so late a date most likely carries a mistyped year (Amtsbote's plausibility bound); check both years",
				LatestConfirmation/12, moveWord, movePointer),
			fmt.Sprintf("ist unplausibel: mehr als %d Jahre nach dem %s (%s); § 19 Abs. 1 BMG verlangt die Bestätigung binnen zwei Wochen, und eine späte bleibt geschuldet, aber ein so spätes Datum hat wohl eine vertippte Jahreszahl (Plausibilitätsgrenze von Amtsbote); bitte beide Jahreszahlen prüfen",
				LatestConfirmation/12, moveWordDE, movePointer))
	}
	return errs
}
