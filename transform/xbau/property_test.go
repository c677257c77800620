package xbau_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// gen builds random payloads that are valid by the payload schema.
type gen struct{ r *rand.Rand }

var (
	vornamen = []string{"Jürgen", "Zoë", "Sören", "Lüder", "Antonín", "Małgorzata", "Şükrü", "René", "Ægir", "Björn",
		"Chloé", "Đorđe", "Ingrid", "Ōtomo", "Håkon", "Nguyễn Văn", "Karl-Heinz", "Anne-Sophie"}
	familiennamen = []string{"Größmann", "Köhler", "Dvořák", "Nowak-Schäfer", "Öztürk", "Łukasiewicz", "Ærøskøbing",
		"Müller-Lüdenscheidt", "O'Brien", "von Weißenfels", "Šťastný", "Çelik", "Ñúñez", "de la Cruz", "Žižek", "Straße"}
	strassen = []string{"Lindenallee", "Am Mühlbach", "Rathausplatz", "Bürgermeister-Öhrlein-Straße", "Große Wiese",
		"Kanalstraße", "Ährenweg", "Zur Alten Schmiede"}
	orte          = []string{"Musterstadt", "Beispielburg", "Sankt Öd", "Groß Köris", "Neuötting", "Bad Übersee"}
	bezeichnungen = []string{"Neubau eines Einfamilienhauses", "Anbau eines Wintergartens", "Umbau und Aufstockung",
		"Nutzungsänderung einer Scheune in eine Ferienwohnung", "Errichtung einer Garage (Fertigteil)",
		"Abbruch eines Schuppens & Neubau eines Carports"}
	anlagenNamen = []string{"Lageplan", "Baubeschreibung", "Bauzeichnungen", "Standsicherheitsnachweis",
		"Berechnung der Grundflächenzahl", "Ansicht Süd", "Schnitt A-A"}
	mimeTypes  = []string{"application/pdf", "image/png", "image/jpeg", "image/tiff", "application/vnd.ms-excel"}
	endungen   = map[string]string{"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif", "application/vnd.ms-excel": "xls"}
	massnahmen = []string{"10", "11", "12", "13", "14", "20", "30"}
)

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g gen) maybe() bool            { return g.r.IntN(2) == 0 }
func (g gen) digits(min, max int) string {
	n := min + g.r.IntN(max-min+1)
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + g.r.IntN(10)))
	}
	return b.String()
}

func (g gen) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (g gen) anschrift() map[string]any {
	a := map[string]any{"postleitzahl": g.digits(5, 5), "ort": g.pick(orte)}
	if g.maybe() {
		a["strasse"] = g.pick(strassen)
		a["hausnummer"] = strconv.Itoa(1+g.r.IntN(200)) + []string{"", "a", " b"}[g.r.IntN(3)]
	}
	if g.maybe() {
		a["ortsteil"] = g.pick(orte) + "-Süd"
	}
	if g.maybe() {
		a["zusatz"] = "c/o " + g.pick(familiennamen)
	}
	return a
}

func (g gen) kontakt(a map[string]any) {
	if g.maybe() {
		a["telefon"] = "+49 " + g.digits(3, 5) + " " + g.digits(4, 8)
	}
	if g.maybe() {
		a["email"] = "post" + g.digits(1, 3) + "@example.org"
	}
}

func (g gen) person() map[string]any {
	p := map[string]any{"familienname": g.pick(familiennamen), "anschrift": g.anschrift()}
	if g.r.IntN(5) > 0 {
		p["vorname"] = g.pick(vornamen)
	}
	if g.maybe() {
		p["anrede"] = g.pick([]string{"Frau", "Herr"})
	}
	if g.maybe() {
		p["titel"] = g.pick([]string{"Dr.", "Prof. Dr.", "Dipl.-Ing."})
	}
	g.kontakt(p)
	return p
}

func (g gen) akteur() map[string]any {
	if g.maybe() {
		return g.person()
	}
	o := map[string]any{"name": g.pick(familiennamen) + " " + g.pick([]string{"GmbH", "& Söhne KG", "Bau GbR", "e. V."}),
		"anschrift": g.anschrift()}
	if g.maybe() {
		o["kurzbezeichnung"] = g.pick(familiennamen)
	}
	if g.maybe() {
		ap := map[string]any{"familienname": g.pick(familiennamen)}
		if g.maybe() {
			ap["vorname"] = g.pick(vornamen)
		}
		if g.maybe() {
			ap["funktion"] = "Geschäftsführung"
		}
		o["ansprechpartner"] = ap
	}
	g.kontakt(o)
	return o
}

func (g gen) payload() (applicant, data map[string]any, identity *transform.Identity) {
	data = map[string]any{}
	for _, role := range []string{"bauherr", "gebuehrenpflichtiger", "entwurfsverfasser"} {
		if g.maybe() {
			data[role] = g.akteur()
		}
	}
	if g.maybe() {
		data["artDesBauherrn"] = strconv.Itoa(1 + g.r.IntN(8))
	}
	arten := slices.Clone(massnahmen)
	g.r.Shuffle(len(arten), func(i, j int) { arten[i], arten[j] = arten[j], arten[i] })
	var art []any
	for _, a := range arten[:1+g.r.IntN(3)] {
		art = append(art, a)
	}
	bv := map[string]any{
		"bezeichnung":     g.pick(bezeichnungen),
		"anzahlGebaeude":  json.Number(strconv.Itoa(g.r.IntN(5))),
		"artDerMassnahme": art,
	}
	if g.maybe() {
		bv["weitereAngaben"] = "Hinweis:\n" + g.pick(bezeichnungen) + "\tsiehe Anlage"
	}
	data["bauvorhaben"] = bv
	var flurstuecke []any
	for range 1 + g.r.IntN(5) {
		f := map[string]any{"bundesland": fmt.Sprintf("%02d", 1+g.r.IntN(16)), "zaehler": g.digits(1, 6)}
		if g.maybe() {
			f["gemarkung"] = map[string]any{"nummer": g.digits(4, 6)}
		} else {
			f["gemarkung"] = map[string]any{"bezeichnung": g.pick(orte)}
		}
		if g.maybe() {
			f["flur"] = g.digits(1, 4)
		}
		if g.maybe() {
			f["nenner"] = g.digits(1, 4)
		}
		flurstuecke = append(flurstuecke, f)
	}
	gs := map[string]any{"flurstuecke": flurstuecke}
	if g.maybe() {
		gs["anschrift"] = map[string]any{"strasse": g.pick(strassen), "ort": g.pick(orte)}
	}
	data["baugrundstueck"] = gs
	var anlagen []any
	for i := range 1 + g.r.IntN(4) {
		mt := g.pick(mimeTypes)
		a := map[string]any{
			"bezeichnung": g.pick(anlagenNamen),
			"anlageart":   g.digits(4, 4),
			"mimeType":    mt,
			"dateiname":   fmt.Sprintf("anlage_%d_%s.%s", i+1, g.pick([]string{"süd", "plan", "Übersicht (2)"}), endungen[mt]),
			"dokumentId":  g.uuid(),
		}
		if g.maybe() {
			a["datum"] = fmt.Sprintf("2026-%02d-%02d", 1+g.r.IntN(12), 1+g.r.IntN(28))
		}
		if g.maybe() {
			a["versionsnummer"] = json.Number(strconv.Itoa(1 + g.r.IntN(9)))
		}
		if g.maybe() {
			a["wirdNachgereicht"] = g.maybe()
		}
		anlagen = append(anlagen, a)
	}
	data["anlagen"] = anlagen
	if g.maybe() {
		identity = &transform.Identity{Method: transform.IdentityServicekonto, Provider: "BundID", TrustLevel: transform.TrustSubstantial}
	}
	return g.person(), data, identity
}

// TestPropertyRandomPayloads maps 20 random valid payloads and validates
// every output against the official XSD; then breaks each payload in one
// random place and expects exactly that problem.
func TestPropertyRandomPayloads(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	schema := xoevtest.Schema(t, xsd)
	g := gen{rand.New(rand.NewPCG(2026, 1128))}
	base := mappertest.ReadSubmission(t, examplePath("minimal"))
	for i := range 20 {
		applicant, data, identity := g.payload()
		if g.maybe() {
			applicant = g.akteur()
		}
		s := base
		s.Applicant, s.Data, s.Identity = applicant, data, identity
		// Mutations are drawn before the subtest runs, so that the sequence
		// of random numbers does not depend on scheduling.
		mut := mutations[g.r.IntN(len(mutations))]
		k := g.r.IntN(len(data["baugrundstueck"].(map[string]any)["flurstuecke"].([]any)))
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			if errs := m.Validate(s); errs != nil {
				t.Fatalf("Validate of a generated payload: %+v\npayload: %s", errs, mustJSON(s))
			}
			doc, err := m.Map(fullInput(s))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			xoevtest.Validate(t, schema, doc.XML)

			broken := s
			broken.Applicant = clone(s.Applicant).(map[string]any)
			broken.Data = clone(s.Data).(map[string]any)
			want := mut.apply(broken, k)
			if got := mappertest.Problems[problem](m.Validate(broken)); !slices.Equal(got, []problem{want}) {
				t.Errorf("mutation %s: got %q, want %q", mut.name, got, want)
			}
		})
	}
}

// mutation breaks a valid payload in one place; k selects a Flurstück.
type mutation struct {
	name  string
	apply func(s transform.Submission, k int) problem
}

func flurstueckAt(s transform.Submission, k int) map[string]any {
	return s.Data["baugrundstueck"].(map[string]any)["flurstuecke"].([]any)[k].(map[string]any)
}

var mutations = []mutation{
	{"cyrillic name", func(s transform.Submission, _ int) problem {
		if _, ok := s.Applicant["familienname"]; ok {
			s.Applicant["familienname"] = "Иванов"
			return problem{"/applicant/familienname", transform.CodeUnsupportedCharacter}
		}
		s.Applicant["name"] = "ООО Строй"
		return problem{"/applicant/name", transform.CodeUnsupportedCharacter}
	}},
	{"en dash", func(s transform.Submission, _ int) problem {
		s.Data["bauvorhaben"].(map[string]any)["bezeichnung"] = "Umbau – Phase 2"
		return problem{"/data/bauvorhaben/bezeichnung", transform.CodeUnsupportedCharacter}
	}},
	{"missing zaehler", func(s transform.Submission, k int) problem {
		delete(flurstueckAt(s, k), "zaehler")
		return problem{fmt.Sprintf("/data/baugrundstueck/flurstuecke/%d/zaehler", k), transform.CodeRequired}
	}},
	{"bundesland 17", func(s transform.Submission, k int) problem {
		flurstueckAt(s, k)["bundesland"] = "17"
		return problem{fmt.Sprintf("/data/baugrundstueck/flurstuecke/%d/bundesland", k), transform.CodeEnum}
	}},
	{"unknown member", func(s transform.Submission, k int) problem {
		flurstueckAt(s, k)["lage"] = "Ecke"
		return problem{fmt.Sprintf("/data/baugrundstueck/flurstuecke/%d/lage", k), transform.CodeUnknownField}
	}},
	{"negative count", func(s transform.Submission, _ int) problem {
		s.Data["bauvorhaben"].(map[string]any)["anzahlGebaeude"] = json.Number("-3")
		return problem{"/data/bauvorhaben/anzahlGebaeude", transform.CodeOutOfRange}
	}},
	{"control character", func(s transform.Submission, _ int) problem {
		s.Applicant["anschrift"].(map[string]any)["ort"] = "Muster\x07stadt"
		return problem{"/applicant/anschrift/ort", transform.CodeControlCharacter}
	}},
	{"no anlagen", func(s transform.Submission, _ int) problem {
		delete(s.Data, "anlagen")
		return problem{"/data/anlagen", transform.CodeRequired}
	}},
}

func mustJSON(s transform.Submission) string {
	b, err := json.Marshal(map[string]any{"applicant": s.Applicant, "data": s.Data, "identity": s.Identity})
	if err != nil {
		return err.Error()
	}
	return string(b)
}
