package xbautest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xbau"
)

// Received is the time of receipt of the generated submissions.
var Received = time.Date(2026, 11, 28, 9, 59, 58, 0, time.UTC)

// Generator builds random payloads that are valid by the payload schema
// and by every rule of Validate, with their attachments. Codes are dealt
// from decks, so that a run of a few hundred payloads uses every value of
// every code list (Unused says which are left). A Generator is not safe for
// concurrent use.
type Generator struct {
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

// New returns a Generator drawing from r.
func New(r *rand.Rand) *Generator {
	g := &Generator{r: r, decks: map[string]*deck{}}
	for name, values := range CodeLists {
		g.decks[name] = &deck{values: slices.Clone(values), next: len(values), dealt: map[string]bool{}}
	}
	return g
}

// Random returns a random valid submission of bau.baugenehmigung: every
// optional member present or absent at random, codes of every list.
func Random(r *rand.Rand) transform.Submission { return New(r).Submission() }

// Unused returns, by code list, the values no payload of g has used yet.
func (g *Generator) Unused() map[string][]string {
	out := map[string][]string{}
	for name, d := range g.decks {
		for _, v := range d.values {
			if !d.dealt[v] {
				out[name] = append(out[name], v)
			}
		}
	}
	return out
}

// code deals the next value of the list name.
func (g *Generator) code(name string) string {
	d := g.decks[name]
	if d == nil {
		panic("xbautest: unknown code list " + name)
	}
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
	// MIMETypes are the media types of the generated Anlagen. The last is
	// not among the default attachment types of a procedure.
	MIMETypes = []string{"application/pdf", "image/png", "image/jpeg", "image/tiff", "application/vnd.ms-excel"}
	endungen  = map[string]string{"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif", "application/vnd.ms-excel": "xls"}
)

func (g *Generator) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g *Generator) maybe() bool            { return g.r.IntN(2) == 0 }
func (g *Generator) often() bool            { return g.r.IntN(4) > 0 }
func (g *Generator) digits(min, max int) string {
	n := min + g.r.IntN(max-min+1)
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + g.r.IntN(10)))
	}
	return b.String()
}

func (g *Generator) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (g *Generator) anschrift() map[string]any {
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

func (g *Generator) kontakt(a map[string]any) {
	if g.maybe() {
		a["telefon"] = "+49 " + g.digits(3, 5) + " " + g.digits(4, 8)
	}
	if g.maybe() {
		a["email"] = "post" + g.digits(1, 3) + "@example.org"
	}
}

// person returns a random natürliche Person.
func (g *Generator) person() map[string]any {
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

// akteur returns a random natürliche Person or Organisation.
func (g *Generator) akteur() map[string]any {
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
func (g *Generator) long(n int) string {
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
func (g *Generator) fremderCode() map[string]any {
	c := map[string]any{
		"listURI":       g.pick([]string{"urn:xoev-de:xbau:hh:codeliste:verfahrensart", "urn:de:musterstadt:bauaufsicht:codeliste:verfahrensart", "urn:xoev-de:xbau:codeliste:mbo-sonderbauten"}),
		"listVersionID": g.pick([]string{"1.0", "2", "2024-01"}),
		"code":          g.digits(1, 3),
	}
	if g.r.IntN(8) == 0 { // maximum lengths
		c = maxFremderCode()
	}
	return c
}

func maxFremderCode() map[string]any {
	return map[string]any{"listURI": "urn:de:" + strings.Repeat("x", 255-len("urn:de:")),
		"listVersionID": strings.Repeat("v", 20), "code": strings.Repeat("9", 50)}
}

func (g *Generator) decimal(min, max int) json.Number {
	return json.Number(fmt.Sprintf("%d.%02d", min+g.r.IntN(max-min+1), g.r.IntN(100)))
}

// nutzungseinheiten returns Nutzungseinheiten of the given areas (whole m²
// plus random cents below 1 m²), with optional Beschreibung.
func (g *Generator) nutzungseinheiten(flaechen ...int) []any {
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
func (g *Generator) artDerBaulichenAnlage() map[string]any {
	if g.r.IntN(3) == 0 {
		return map[string]any{"wohngebaeudeArt": g.code("wohngebaeudeart")}
	}
	return map[string]any{"nichtwohngebaeudeArt": g.code("nichtwohngebaeudeart")}
}

// klassifikation returns a bauordnungsrechtliche Klassifikation of the
// Gebäudeklasse gk and Nutzungseinheiten (nil: none stated) that agree by
// MBO § 2 Abs. 3.
func (g *Generator) klassifikation(gk string) (map[string]any, []any) {
	k := map[string]any{}
	var ne []any
	k["gebaeudeklasse"] = gk
	switch gk {
	case "1": // freistehend, up to 7 m; land- or forstwirtschaftlich at any height and with any Nutzungseinheiten
		if g.often() {
			k["hoeheNachMBO"] = g.decimal(0, 6)
		}
		if g.often() {
			k["istFreistehend"] = true
			if g.r.IntN(4) == 0 {
				k["hoeheNachMBO"] = g.decimal(7, 20) // a Scheune
			}
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
	case "4": // above 7 m up to 13 m, each Nutzungseinheit at most 400 m²; or lower (a stricter class is the applicant's choice)
		if g.often() {
			k["hoeheNachMBO"] = g.decimal(8, 12)
			if g.r.IntN(5) == 0 {
				k["hoeheNachMBO"] = g.decimal(2, 6)
			}
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

// anlage returns an Anlage of the given Anlageart; attached, it comes with
// its attachment (content not included: Ref "blob").
func (g *Generator) anlage(i int, art string, attached bool) (map[string]any, *transform.Attachment) {
	mt := g.pick(MIMETypes)
	a := map[string]any{
		"bezeichnung": g.pick(anlagenNamen),
		"anlageart":   art,
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
	if !attached {
		a["wirdNachgereicht"] = true
		return a, nil
	}
	if g.maybe() {
		a["wirdNachgereicht"] = false
	}
	return a, &transform.Attachment{ID: a["dokumentId"].(string),
		FileName: transform.NormalizeText(a["dateiname"].(string)), MIMEType: mt,
		Size: int64(1 + g.r.IntN(5<<20)), Ref: "blob"}
}

// Submission returns a random valid submission with its attachments (Ref
// "blob", no content).
func (g *Generator) Submission() transform.Submission {
	data := map[string]any{}
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
	nutzungsaenderung := slices.Contains(art, any("13")) || slices.Contains(art, any("14"))
	if nutzungsaenderung && bv["anzahlGebaeude"] == json.Number("0") && g.maybe() {
		nutzungsaenderung = false // of no building (a Stellplatz becomes a Lagerplatz): Nutzungen not required
	}
	if nutzungsaenderung || g.r.IntN(4) == 0 {
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
		k, ne := g.klassifikation(g.code("gebaeudeklasse"))
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
	var attachments []transform.Attachment
	for i := range 1 + g.r.IntN(4) {
		a, att := g.anlage(i, g.code("anlagen"), g.maybe())
		if att != nil {
			attachments = append(attachments, *att)
		}
		anlagen = append(anlagen, a)
	}
	data["anlagen"] = anlagen
	s := g.submission(g.person(), data)
	s.Attachments = attachments
	if g.maybe() {
		s.Identity = &transform.Identity{Method: transform.IdentityServicekonto, Provider: "BundID", TrustLevel: transform.TrustSubstantial}
	}
	if g.maybe() {
		s.Applicant = g.akteur()
	}
	return s
}

func (g *Generator) submission(applicant, data map[string]any) transform.Submission {
	return transform.Submission{ID: g.uuid(), Tenant: "musterstadt", Procedure: xbau.Procedure,
		ReceivedAt: Received, Applicant: applicant, Data: data}
}
