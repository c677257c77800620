package xdomea

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/transform"
)

// MaxBetreff is the length, in characters, to which a derived Betreff is
// shortened (with a trailing "..."; DIN SPEC 91379 has no "…"): DMS list views and many DMS Betreff
// fields hold 255 characters.
const MaxBetreff = 255

// betreffe derive the Betreff of a procedure's Vorgang and primary document
// from the validated payload of its submission. Each says what the
// application is about with the facts an office files it by, and no name
// or address of a person: the Betreff is shown in DMS lists, search results
// and, at the end of the retention period, in the Anbieteverzeichnis, under
// wider access rights than the documents. An empty result (a payload
// without the facts) falls back to fallbackBetreff.
var betreffe = map[string]func(data map[string]any) string{
	"bau.baugenehmigung":                   betreffBauantrag,
	"gewerbe.anmeldung":                    betreffGewerbeanmeldung,
	"meldewesen.wohnungsgeberbestaetigung": betreffWohnungsgeberbestaetigung,
}

// Betreff returns the Betreff of the Vorgang that files s: derived from the
// payload for the procedures Amtsbote knows (betreffe), else
// "<procedure name>, Eingang <date>". Whitespace runs become one space, and
// the result is at most MaxBetreff characters.
func Betreff(s transform.Submission, procedureName string) string {
	var b string
	if f, ok := betreffe[s.Procedure]; ok && s.Data != nil {
		b = f(s.Data)
	}
	if b == "" {
		b = fallbackBetreff(procedureName, s.ReceivedAt)
	}
	return shorten(oneLine(transform.NormalizeText(b)), MaxBetreff)
}

// fallbackBetreff names the procedure and the day of receipt, never the
// applicant: that name is in the primary document, where the DMS's access
// rights protect it, and a Betreff needs none to be found (the Vorgang
// carries the submission id as FremdesGeschaeftszeichen).
func fallbackBetreff(procedureName string, received time.Time) string {
	return procedureName + ", Eingang " + germanDate(received.In(berlin))
}

// betreffBauantrag: "Bauantrag: <Bezeichnung des Vorhabens>, Flurstück
// <Kennzeichen>", with the first Flurstück and the number of further ones.
func betreffBauantrag(d map[string]any) string {
	vorhaben := text(object(d, "bauvorhaben"), "bezeichnung")
	if vorhaben == "" {
		return ""
	}
	b := "Bauantrag: " + vorhaben
	flurstuecke, _ := object(d, "baugrundstueck")["flurstuecke"].([]any)
	if len(flurstuecke) == 0 {
		return b
	}
	first, _ := flurstuecke[0].(map[string]any)
	if k := flurstueck(first); k != "" {
		b += ", Flurstück " + k
		if n := len(flurstuecke) - 1; n > 0 {
			b += fmt.Sprintf(" (und %d weitere)", n)
		}
	}
	return b
}

// flurstueck writes a Flurstückskennzeichen as offices read it:
// "Gemarkung 4711, Flur 2, 58/3".
func flurstueck(f map[string]any) string {
	g := object(f, "gemarkung")
	gemarkung := text(g, "nummer")
	if gemarkung == "" {
		gemarkung = text(g, "bezeichnung")
	}
	zaehler := text(f, "zaehler")
	if zaehler == "" {
		return ""
	}
	var parts []string
	if gemarkung != "" {
		parts = append(parts, "Gemarkung "+gemarkung)
	}
	if flur := text(f, "flur"); flur != "" {
		parts = append(parts, "Flur "+flur)
	}
	if nenner := text(f, "nenner"); nenner != "" {
		zaehler += "/" + nenner
	}
	return strings.Join(append(parts, zaehler), ", ")
}

// betreffGewerbeanmeldung: "Gewerbeanmeldung: <Tätigkeit>", the activity as
// declared; not the trade name, which for a sole trader is a person's name.
func betreffGewerbeanmeldung(d map[string]any) string {
	if t := text(object(d, "taetigkeit"), "beschreibung"); t != "" {
		return "Gewerbeanmeldung: " + t
	}
	return ""
}

// betreffWohnungsgeberbestaetigung: "Wohnungsgeberbestätigung: Einzug am
// 15.12.2026" (or Auszug), with ", Zuordnungsmerkmal <value>" where the
// Meldebehörde issued one (§ 19 Abs. 4 BMG): its key for matching the
// confirmation to the Anmeldung, which identifies no person outside its
// register. Without the persons and the Wohnung: a move date alone
// identifies nobody, an address with it would.
func betreffWohnungsgeberbestaetigung(d map[string]any) string {
	for _, k := range []struct{ member, word string }{{"einzugsdatum", "Einzug"}, {"auszugsdatum", "Auszug"}} {
		if t, err := time.Parse(time.DateOnly, text(d, k.member)); err == nil {
			b := "Wohnungsgeberbestätigung: " + k.word + " am " + germanDate(t)
			if z := text(d, "zuordnungsmerkmal"); z != "" {
				b += ", Zuordnungsmerkmal " + z
			}
			return b
		}
	}
	return ""
}

// anlageBetreff is the Betreff of the Anlage that files attachment a: the
// bezeichnung the payload declares for it (a member of data.anlagen whose
// dokumentId is a.ID, as XBau payloads have), else its file name.
func anlageBetreff(data map[string]any, a transform.Attachment) string {
	anlagen, _ := data["anlagen"].([]any)
	for _, v := range anlagen {
		m, _ := v.(map[string]any)
		if id := text(m, "dokumentId"); id != "" && strings.EqualFold(id, a.ID) {
			if b := text(m, "bezeichnung"); b != "" {
				return shorten(oneLine(transform.NormalizeText(b)), MaxBetreff)
			}
		}
	}
	return a.FileName
}

func germanDate(t time.Time) string { return t.Format("02.01.2006") }

func object(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func text(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return strings.TrimSpace(s)
}

// oneLine replaces every run of white space in s by one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// shorten cuts s to at most n characters, the last three of them "...":
// the ellipsis "…" is outside DIN SPEC 91379, which every Betreff must keep.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-3])) + "..."
}
