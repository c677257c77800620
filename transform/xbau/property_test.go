package xbau_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xbau"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// gen builds random payloads that are valid by the payload schema, with
// their attachments. Codes are dealt from decks (deck), so that a run of the
// property test uses every value of every code list.
type gen struct {
	r     *rand.Rand
	decks map[string]*deck
}

// deck deals the values of a code list in random order, each once before
// any repeats; dealt records every value dealt.
type deck struct {
	values []string
	next   int
	dealt  map[string]bool
}

func newGen(r *rand.Rand) gen {
	g := gen{r: r, decks: map[string]*deck{}}
	for name, values := range xbau.CodeLists {
		g.decks[name] = &deck{values: slices.Clone(values), next: len(values), dealt: map[string]bool{}}
	}
	return g
}

// code deals the next value of the list name.
func (g gen) code(name string) string {
	d := g.decks[name]
	if d.next == len(d.values) {
		g.r.Shuffle(len(d.values), func(i, j int) { d.values[i], d.values[j] = d.values[j], d.values[i] })
		d.next = 0
	}
	v := d.values[d.next]
	d.next++
	d.dealt[v] = true
	return v
}

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
	mimeTypes = []string{"application/pdf", "image/png", "image/jpeg", "image/tiff", "application/vnd.ms-excel"}
	endungen  = map[string]string{"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif", "application/vnd.ms-excel": "xls"}
)

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g gen) maybe() bool            { return g.r.IntN(2) == 0 }
func (g gen) often() bool            { return g.r.IntN(4) > 0 }
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

// long returns a text of exactly n characters (a maximum length), in
// DIN 91379 datatype C with umlauts.
func (g gen) long(n int) string {
	const alphabet = "äöüßÄÖÜ abcdefghijklmnopqrstuvwxyzÉ"
	r := []rune(alphabet)
	out := make([]rune, n)
	for i := range out {
		out[i] = r[g.r.IntN(len(r))]
	}
	out[0], out[n-1] = 'X', 'Z'
	return string(out)
}

// fremderCode is a code of a list XBau leaves open.
func (g gen) fremderCode() map[string]any {
	c := map[string]any{
		"listURI":       g.pick([]string{"urn:xoev-de:xbau:hh:codeliste:verfahrensart", "urn:de:musterstadt:bauaufsicht:codeliste:verfahrensart", "urn:xoev-de:xbau:codeliste:mbo-sonderbauten"}),
		"listVersionID": g.pick([]string{"1.0", "2", "2024-01"}),
		"code":          g.digits(1, 3),
	}
	if g.r.IntN(8) == 0 { // maximum lengths
		c["listURI"] = "urn:de:" + strings.Repeat("x", 255-len("urn:de:"))
		c["code"] = strings.Repeat("9", 50)
	}
	return c
}

func (g gen) decimal(min, max int) json.Number {
	return json.Number(fmt.Sprintf("%d.%02d", min+g.r.IntN(max-min+1), g.r.IntN(100)))
}

// nutzungseinheiten returns n Nutzungseinheiten of the given area each
// (whole m² plus random cents below 1 m²), with optional Beschreibung.
func (g gen) nutzungseinheiten(flaechen ...int) []any {
	var out []any
	for _, f := range flaechen {
		ne := map[string]any{"flaeche": json.Number(fmt.Sprintf("%d.%02d", f, g.r.IntN(100)))}
		if f <= 0 {
			ne["flaeche"] = json.Number("0.5")
		}
		if g.maybe() {
			ne["beschreibung"] = g.pick([]string{"Wohnung EG", "Büro", "Praxis für Physiotherapie", "Laden"})
		}
		if g.r.IntN(10) == 0 {
			ne["beschreibung"] = g.long(255)
		}
		out = append(out, ne)
	}
	return out
}

// artDerBaulichenAnlage returns the code of a Wohngebäude or of a
// Nichtwohngebäude.
func (g gen) artDerBaulichenAnlage() map[string]any {
	if g.r.IntN(3) == 0 {
		return map[string]any{"wohngebaeudeArt": g.code("wohngebaeudeart")}
	}
	return map[string]any{"nichtwohngebaeudeArt": g.code("nichtwohngebaeudeart")}
}

// klassifikation returns a bauordnungsrechtliche Klassifikation and
// Nutzungseinheiten (nil: none stated) that agree by MBO § 2 Abs. 3.
func (g gen) klassifikation() (map[string]any, []any) {
	k := map[string]any{}
	var ne []any
	gk := g.code("gebaeudeklasse")
	k["gebaeudeklasse"] = gk
	switch gk {
	case "1": // freistehend, up to 7 m (any Nutzungseinheiten: land- or forstwirtschaftlich)
		if g.often() {
			k["hoeheNachMBO"] = g.decimal(0, 6)
		}
		if g.often() {
			k["istFreistehend"] = true
		}
		if g.maybe() {
			ne = g.nutzungseinheiten(60+g.r.IntN(140), 50+g.r.IntN(100))
		}
	case "2": // up to 7 m, at most two Nutzungseinheiten, at most 400 m², not freistehend
		if g.often() {
			k["hoeheNachMBO"] = g.decimal(0, 6)
		}
		if g.maybe() {
			k["istFreistehend"] = false
		}
		if g.often() {
			ne = g.nutzungseinheiten(50 + g.r.IntN(300))
		}
	case "3": // up to 7 m, more than that
		if g.often() {
			k["hoeheNachMBO"] = g.decimal(0, 6)
		}
		if g.maybe() {
			k["istFreistehend"] = g.maybe()
		}
		if g.often() {
			ne = g.nutzungseinheiten(80, 90, 60+g.r.IntN(500))
		}
	case "4": // above 7 m up to 13 m, each Nutzungseinheit at most 400 m²
		if g.often() {
			k["hoeheNachMBO"] = g.decimal(8, 12)
		}
		if g.often() {
			ne = g.nutzungseinheiten(120+g.r.IntN(279), 399, 45)
		}
	case "5": // above 13 m, or a Nutzungseinheit above 400 m²
		switch g.r.IntN(3) {
		case 0:
			k["hoeheNachMBO"] = g.decimal(13, 80)
		case 1:
			k["hoeheNachMBO"] = g.decimal(8, 12)
			ne = g.nutzungseinheiten(401+g.r.IntN(2000), 90)
		}
	}
	for range g.r.IntN(3) {
		k["sonderbau"] = append(array(k, "sonderbau"), g.fremderCode())
	}
	if g.maybe() {
		garage := g.code("mbogaragentyp")
		k["garage"] = garage
		if g.maybe() {
			k["mittelOderGrossGarage"] = garage != "1"
		}
	}
	return k, ne
}

func array(m map[string]any, key string) []any {
	a, _ := m[key].([]any)
	return a
}

func (g gen) payload() (applicant, data map[string]any, identity *transform.Identity, attachments []transform.Attachment) {
	data = map[string]any{}
	for _, role := range []string{"bauherr", "gebuehrenpflichtiger", "entwurfsverfasser"} {
		if g.maybe() {
			data[role] = g.akteur()
		}
	}
	if data["entwurfsverfasser"] != nil && g.often() {
		b := map[string]any{}
		if g.often() {
			b["grundlage"] = g.code("bauvorlageberechtigungsachverhalt")
		}
		if g.often() {
			b["kammer"] = g.code("kammer")
			switch g.r.IntN(4) {
			case 0:
				b["personennummer"] = "P-" + g.digits(4, 8)
			case 1:
				b["mitgliedsnummer"] = g.digits(3, 6)
				b["personennummer"] = g.digits(3, 6)
			case 2:
				b["mitgliedsnummer"] = strings.Repeat("7", 50)
			default:
				b["mitgliedsnummer"] = "A " + g.digits(3, 6)
			}
		}
		if g.maybe() || len(b) == 0 {
			b["berufsbezeichnung"] = g.pick([]string{"Architektin", "Beratender Ingenieur", "Innenarchitekt", g.long(255)})
		}
		data["bauvorlageberechtigung"] = b
	}
	if g.maybe() {
		data["artDesBauherrn"] = g.code("bauherrodereigentuemerart")
	}
	if g.maybe() {
		data["prozessmerkmale"] = map[string]any{"verfahrensart": g.fremderCode()}
	}
	var art []any
	for range 1 + g.r.IntN(3) {
		if a := g.code("baumassnahmeart"); !slices.Contains(art, any(a)) {
			art = append(art, a)
		}
	}
	bv := map[string]any{
		"bezeichnung":     g.pick(bezeichnungen),
		"anzahlGebaeude":  json.Number(strconv.Itoa(g.r.IntN(3))),
		"artDerMassnahme": art,
	}
	if g.maybe() {
		bv["weitereAngaben"] = "Hinweis:\n" + g.pick(bezeichnungen) + "\tsiehe Anlage"
	}
	if g.often() {
		bv["artDerBaulichenAnlage"] = g.artDerBaulichenAnlage()
	}
	if slices.Contains(art, any("13")) || slices.Contains(art, any("14")) || g.r.IntN(4) == 0 {
		bv["nutzungsaenderung"] = map[string]any{"bisherigeNutzung": g.artDerBaulichenAnlage(), "beabsichtigteNutzung": g.artDerBaulichenAnlage()}
	}
	if n, _ := strconv.Atoi(string(bv["anzahlGebaeude"].(json.Number))); n > 0 && g.maybe() {
		var gebaeude []any
		for i := range n {
			gebaeude = append(gebaeude, map[string]any{"bezeichnung": g.pick([]string{"Wohnhaus", "Reihenendhaus Ost", "Garage", "Scheune"}) + " " + strconv.Itoa(i+1)})
		}
		bv["gebaeude"] = gebaeude
	}
	if g.often() {
		k, ne := g.klassifikation()
		bv["klassifikation"] = k
		if ne != nil {
			bv["nutzungseinheiten"] = ne
		}
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
			"anlageart":   g.code("anlagen"),
			"mimeType":    mt,
			"dateiname":   fmt.Sprintf("anlage_%d_%s.%s", i+1, g.pick([]string{"süd", "plan", "Übersicht (2)"}), endungen[mt]),
			"dokumentId":  g.uuid(),
		}
		if g.r.IntN(10) == 0 {
			a["bezeichnung"] = g.long(255)
		}
		if g.maybe() {
			a["datum"] = fmt.Sprintf("2026-%02d-%02d", 1+g.r.IntN(12), 1+g.r.IntN(28))
		}
		if g.maybe() {
			a["versionsnummer"] = json.Number(strconv.Itoa(1 + g.r.IntN(9)))
		}
		if g.maybe() {
			a["wirdNachgereicht"] = true
		} else {
			if g.maybe() {
				a["wirdNachgereicht"] = false
			}
			attachments = append(attachments, transform.Attachment{ID: a["dokumentId"].(string),
				FileName: transform.NormalizeText(a["dateiname"].(string)), MIMEType: mt,
				Size: int64(1 + g.r.IntN(5<<20)), Ref: "blob"})
		}
		anlagen = append(anlagen, a)
	}
	data["anlagen"] = anlagen
	if g.maybe() {
		identity = &transform.Identity{Method: transform.IdentityServicekonto, Provider: "BundID", TrustLevel: transform.TrustSubstantial}
	}
	return g.person(), data, identity, attachments
}

// TestPropertyRandomPayloads maps 250 random valid payloads and validates
// every output against the official XSD (in one run of xmllint); then breaks
// each payload in one random place and expects exactly that problem. The
// payloads use every value of every code list Validate checks.
func TestPropertyRandomPayloads(t *testing.T) {
	t.Parallel()
	const runs = 250
	m := newMapper(t)
	schema := xoevtest.Schema(t, xsd)
	g := newGen(rand.New(rand.NewPCG(2026, 1128)))
	base := readExample(t, "minimal")
	docs := make([][]byte, runs)
	t.Run("payloads", func(t *testing.T) {
		for i := range runs {
			applicant, data, identity, attachments := g.payload()
			if g.maybe() {
				applicant = g.akteur()
			}
			s := base
			s.Applicant, s.Data, s.Identity, s.Attachments = applicant, data, identity, attachments
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
				docs[i] = doc.XML

				broken := s
				broken.Applicant = clone(s.Applicant).(map[string]any)
				broken.Data = clone(s.Data).(map[string]any)
				broken.Attachments = slices.Clone(s.Attachments)
				want := mut.apply(&broken, k)
				if got := mappertest.Problems[problem](m.Validate(broken)); !slices.Equal(got, []problem{want}) {
					t.Errorf("mutation %s: got %q, want %q", mut.name, got, want)
				}
			})
		}
	})
	for name, d := range g.decks {
		if len(d.dealt) != len(d.values) {
			t.Errorf("code list %s: %d of %d values used; raise the runs or the odds", name, len(d.dealt), len(d.values))
		}
	}
	validateAll(t, schema, docs)
}

// validateAll validates docs against the XSD in one run of xmllint, which
// parses the large XBau schema once.
func validateAll(t *testing.T, schema string, docs [][]byte) {
	t.Helper()
	bin := xoevtest.Xmllint(t)
	dir := t.TempDir()
	args := []string{"--noout", "--nonet", "--schema", schema}
	for i, d := range docs {
		if d == nil {
			continue // its subtest failed
		}
		name := filepath.Join(dir, fmt.Sprintf("%03d.xml", i))
		if err := os.WriteFile(name, d, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, name)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), " validates\n"); n != len(args)-4 {
		t.Fatalf("xmllint validated %d of %d documents:\n%s", n, len(args)-4, out)
	}
}

// mutation breaks a valid payload in one place; k selects a Flurstück.
type mutation struct {
	name  string
	apply func(s *transform.Submission, k int) problem
}

func flurstueckAt(s *transform.Submission, k int) map[string]any {
	return s.Data["baugrundstueck"].(map[string]any)["flurstuecke"].([]any)[k].(map[string]any)
}

var mutations = []mutation{
	{"cyrillic name", func(s *transform.Submission, _ int) problem {
		if _, ok := s.Applicant["familienname"]; ok {
			s.Applicant["familienname"] = "Иванов"
			return problem{"/applicant/familienname", transform.CodeUnsupportedCharacter}
		}
		s.Applicant["name"] = "ООО Строй"
		return problem{"/applicant/name", transform.CodeUnsupportedCharacter}
	}},
	{"en dash", func(s *transform.Submission, _ int) problem {
		s.Data["bauvorhaben"].(map[string]any)["bezeichnung"] = "Umbau – Phase 2"
		return problem{"/data/bauvorhaben/bezeichnung", transform.CodeUnsupportedCharacter}
	}},
	{"missing zaehler", func(s *transform.Submission, k int) problem {
		delete(flurstueckAt(s, k), "zaehler")
		return problem{fmt.Sprintf("/data/baugrundstueck/flurstuecke/%d/zaehler", k), transform.CodeRequired}
	}},
	{"bundesland 17", func(s *transform.Submission, k int) problem {
		flurstueckAt(s, k)["bundesland"] = "17"
		return problem{fmt.Sprintf("/data/baugrundstueck/flurstuecke/%d/bundesland", k), transform.CodeEnum}
	}},
	{"unknown member", func(s *transform.Submission, k int) problem {
		flurstueckAt(s, k)["lage"] = "Ecke"
		return problem{fmt.Sprintf("/data/baugrundstueck/flurstuecke/%d/lage", k), transform.CodeUnknownField}
	}},
	{"negative count", func(s *transform.Submission, _ int) problem {
		s.Data["bauvorhaben"].(map[string]any)["anzahlGebaeude"] = json.Number("-3")
		return problem{"/data/bauvorhaben/anzahlGebaeude", transform.CodeOutOfRange}
	}},
	{"control character", func(s *transform.Submission, _ int) problem {
		s.Applicant["anschrift"].(map[string]any)["ort"] = "Muster\x07stadt"
		return problem{"/applicant/anschrift/ort", transform.CodeControlCharacter}
	}},
	{"no anlagen", func(s *transform.Submission, _ int) problem {
		delete(s.Data, "anlagen")
		s.Attachments = nil
		return problem{"/data/anlagen", transform.CodeRequired}
	}},
	{"unknown anlageart", func(s *transform.Submission, _ int) problem {
		s.Data["anlagen"].([]any)[0].(map[string]any)["anlageart"] = "1200"
		return problem{"/data/anlagen/0/anlageart", transform.CodeEnum}
	}},
	{"Anlage neither attached nor nachgereicht", func(s *transform.Submission, _ int) problem {
		a := s.Data["anlagen"].([]any)[0].(map[string]any)
		delete(a, "wirdNachgereicht")
		s.Attachments = slices.DeleteFunc(s.Attachments, func(att transform.Attachment) bool { return att.ID == a["dokumentId"] })
		return problem{"/data/anlagen/0", transform.CodeInvalid}
	}},
	{"Gebäudeklasse contradicts the height", func(s *transform.Submission, _ int) problem {
		bv := s.Data["bauvorhaben"].(map[string]any)
		bv["anzahlGebaeude"] = json.Number("1")
		delete(bv, "gebaeude")
		bv["klassifikation"] = map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": json.Number("3.25")}
		return problem{"/data/bauvorhaben/klassifikation/gebaeudeklasse", transform.CodeInvalid}
	}},
	{"Nutzungsänderung without Nutzungen", func(s *transform.Submission, _ int) problem {
		bv := s.Data["bauvorhaben"].(map[string]any)
		bv["artDerMassnahme"] = []any{"14"}
		delete(bv, "nutzungsaenderung")
		return problem{"/data/bauvorhaben/nutzungsaenderung", transform.CodeRequired}
	}},
	{"more Gebäude named than counted", func(s *transform.Submission, _ int) problem {
		bv := s.Data["bauvorhaben"].(map[string]any)
		bv["anzahlGebaeude"] = json.Number("3")
		bv["gebaeude"] = []any{map[string]any{"bezeichnung": "Haus A"}}
		return problem{"/data/bauvorhaben/gebaeude", transform.CodeInvalid}
	}},
	{"unknown Kammer", func(s *transform.Submission, _ int) problem {
		s.Data["entwurfsverfasser"] = map[string]any{"name": "Planungsbüro", "anschrift": map[string]any{"postleitzahl": "12345", "ort": "Musterstadt"}}
		s.Data["bauvorlageberechtigung"] = map[string]any{"kammer": "00", "mitgliedsnummer": "1"}
		return problem{"/data/bauvorlageberechtigung/kammer", transform.CodeEnum}
	}},
}

func mustJSON(s transform.Submission) string {
	b, err := json.Marshal(map[string]any{"applicant": s.Applicant, "data": s.Data, "identity": s.Identity})
	if err != nil {
		return err.Error()
	}
	return string(b)
}
