package xbautest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/amtsbote/amtsbote/transform"
)

// Extreme is a named submission at an extreme of the payload.
type Extreme struct {
	Name       string
	Submission transform.Submission
}

// Maximum counts and lengths of the payload schema (baugenehmigung.schema.json).
const (
	maxZeile          = 255
	maxBezeichnung    = 500
	maxWeitereAngaben = 4000
	maxFlurstuecke    = 100
	maxAnlagen        = 200
	maxSonderbauten   = 20
	maxNutzungen      = 999
	// MaxAttached is how many Anlagen of the maximal payload are attached:
	// the default attachment limit of a procedure (config.DefaultAttachmentMaxCount).
	MaxAttached = 20
	// maxGebaeude is how many Gebäude the maximal payload names; the schema
	// allows 9999, which would only make the document long.
	maxGebaeude = 50
)

// Extremes returns submissions at the extremes of the payload:
//
//   - "maximal-person" and "maximal-organisation": every optional block
//     present, every text at its maximum length, every list at its maximum
//     count (Anlagen: 200, MaxAttached of them attached; Flurstücke: 100;
//     Nutzungseinheiten: 999; Sonderbauten: 20), every Maßnahme at once;
//   - "minimal-person" and "minimal-organisation": only the required members;
//   - "codes-N": together every value of every code list Validate checks,
//     each in a minimal payload with the blocks that carry codes.
func Extremes() []Extreme {
	g := New(rand.New(rand.NewPCG(16, 200)))
	var out []Extreme
	add := func(name string, applicant, data map[string]any, attachments []transform.Attachment, identity *transform.Identity) {
		s := g.submission(applicant, data)
		s.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(out)+1)
		s.Attachments, s.Identity = attachments, identity
		out = append(out, Extreme{Name: name, Submission: s})
	}
	maxIdentity := &transform.Identity{Method: transform.IdentityServicekonto, Provider: g.long(100),
		TrustLevel: transform.TrustHigh, PostboxReference: g.long(500)}
	for _, applicant := range []string{"person", "organisation"} {
		data, attachments := g.maximal()
		a := g.maxPerson()
		if applicant == "organisation" {
			a = g.maxOrganisation()
		}
		add("maximal-"+applicant, a, data, attachments, maxIdentity)
	}
	add("minimal-person", minimalPerson(), minimalData(), nil, nil)
	add("minimal-organisation", map[string]any{"name": "O", "anschrift": minimalAnschrift()}, minimalData(), nil, nil)

	// Codes: submission i takes value i (cyclically) of each list, the
	// Arten der baulichen Anlage three at a time, the Anlagearten
	// perSubmission at a time; as many submissions as the longest demands.
	arten := []map[string]any{}
	for _, c := range CodeLists["wohngebaeudeart"] {
		arten = append(arten, map[string]any{"wohngebaeudeArt": c})
	}
	for _, c := range CodeLists["nichtwohngebaeudeart"] {
		arten = append(arten, map[string]any{"nichtwohngebaeudeArt": c})
	}
	n := (len(arten) + 2) / 3
	for _, name := range []string{"baumassnahmeart", "bauherrodereigentuemerart", "gebaeudeklasse", "mbogaragentyp", "kammer", "bauvorlageberechtigungsachverhalt"} {
		n = max(n, len(CodeLists[name]))
	}
	anlagearten := CodeLists["anlagen"]
	perSubmission := (len(anlagearten) + n - 1) / n
	at := func(list string, i int) string { l := CodeLists[list]; return l[i%len(l)] }
	for i := range n {
		data := minimalData()
		data["artDesBauherrn"] = at("bauherrodereigentuemerart", i)
		data["entwurfsverfasser"] = g.akteur()
		data["bauvorlageberechtigung"] = map[string]any{"grundlage": at("bauvorlageberechtigungsachverhalt", i),
			"kammer": at("kammer", i), "mitgliedsnummer": "1"}
		bv := data["bauvorhaben"].(map[string]any)
		bv["artDerMassnahme"] = []any{at("baumassnahmeart", i)}
		bv["artDerBaulichenAnlage"] = arten[(3*i)%len(arten)]
		bv["nutzungsaenderung"] = map[string]any{"bisherigeNutzung": arten[(3*i+1)%len(arten)], "beabsichtigteNutzung": arten[(3*i+2)%len(arten)]}
		k, ne := g.klassifikation(at("gebaeudeklasse", i))
		k["garage"] = at("mbogaragentyp", i)
		k["mittelOderGrossGarage"] = k["garage"] != "1"
		bv["klassifikation"] = k
		if ne != nil {
			bv["nutzungseinheiten"] = ne
		}
		var anlagen []any
		for j := i * perSubmission; j < min((i+1)*perSubmission, len(anlagearten)); j++ {
			a, _ := g.anlage(j, anlagearten[j], false)
			anlagen = append(anlagen, a)
		}
		if len(anlagen) > 0 {
			data["anlagen"] = anlagen
		}
		add(fmt.Sprintf("codes-%02d", i), minimalPerson(), data, nil, nil)
	}
	return out
}

func minimalAnschrift() map[string]any { return map[string]any{"postleitzahl": "00000", "ort": "O"} }

func minimalPerson() map[string]any {
	return map[string]any{"familienname": "F", "anschrift": minimalAnschrift()}
}

func minimalData() map[string]any {
	return map[string]any{
		"bauvorhaben": map[string]any{"bezeichnung": "B", "anzahlGebaeude": json.Number("0"), "artDerMassnahme": []any{"10"}},
		"baugrundstueck": map[string]any{"flurstuecke": []any{map[string]any{
			"bundesland": "01", "gemarkung": map[string]any{"nummer": "1"}, "zaehler": "1"}}},
		"anlagen": []any{map[string]any{"bezeichnung": "A", "anlageart": "0100", "mimeType": "application/pdf",
			"dateiname": "a.pdf", "dokumentId": "00000000-0000-4000-8000-000000000000", "wirdNachgereicht": true}},
	}
}

func (g *Generator) maxAnschrift() map[string]any {
	return map[string]any{"strasse": g.long(maxZeile), "hausnummer": g.long(20), "postleitzahl": "99999",
		"ort": g.long(maxZeile), "ortsteil": g.long(maxZeile), "zusatz": g.long(maxZeile)}
}

func maxKontakt(a map[string]any) map[string]any {
	a["telefon"] = "+" + strings.Repeat("9", 30)
	a["email"] = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".de"
	return a
}

func (g *Generator) maxPerson() map[string]any {
	return maxKontakt(map[string]any{"anrede": g.long(50), "titel": g.long(100), "vorname": g.long(maxZeile),
		"familienname": g.long(maxZeile), "anschrift": g.maxAnschrift()})
}

func (g *Generator) maxOrganisation() map[string]any {
	return maxKontakt(map[string]any{"name": g.long(maxZeile), "kurzbezeichnung": g.long(100), "anschrift": g.maxAnschrift(),
		"ansprechpartner": map[string]any{"anrede": g.long(50), "titel": g.long(100), "vorname": g.long(maxZeile),
			"familienname": g.long(maxZeile), "funktion": g.long(maxZeile)}})
}

// maximal returns the data of a maximal payload and its attachments.
func (g *Generator) maximal() (map[string]any, []transform.Attachment) {
	var massnahmen []any
	for _, c := range CodeLists["baumassnahmeart"] {
		massnahmen = append(massnahmen, c)
	}
	var gebaeude []any
	for range maxGebaeude {
		gebaeude = append(gebaeude, map[string]any{"bezeichnung": g.long(maxZeile)})
	}
	var sonderbauten []any
	for range maxSonderbauten {
		sonderbauten = append(sonderbauten, maxFremderCode())
	}
	var nutzungen []any
	for range maxNutzungen {
		nutzungen = append(nutzungen, map[string]any{"flaeche": json.Number("9999999.99"), "beschreibung": g.long(maxZeile)})
	}
	var flurstuecke []any
	for i := range maxFlurstuecke {
		gemarkung := map[string]any{"nummer": "999999"}
		if i%2 == 1 {
			gemarkung = map[string]any{"bezeichnung": g.long(maxZeile)}
		}
		flurstuecke = append(flurstuecke, map[string]any{"bundesland": fmt.Sprintf("%02d", 1+i%16), "gemarkung": gemarkung,
			"flur": "9999", "zaehler": "999999", "nenner": "9999"})
	}
	var anlagen []any
	var attachments []transform.Attachment
	arten := CodeLists["anlagen"]
	for i := range maxAnlagen {
		a, att := g.anlage(i, arten[i%len(arten)], i < MaxAttached)
		a["bezeichnung"] = g.long(maxZeile)
		a["datum"] = "2026-12-31"
		a["versionsnummer"] = json.Number("9999")
		ext := "." + strings.SplitN(a["dateiname"].(string), ".", 2)[1]
		// 140 characters, the schema's maximum, within the 255 bytes a portal may send
		a["dateiname"] = fmt.Sprintf("%03d_", i) + strings.Repeat("Ä", 20) + strings.Repeat("a", 140-4-20-len(ext)) + ext
		if att != nil {
			att.FileName = transform.NormalizeText(a["dateiname"].(string))
			attachments = append(attachments, *att)
		}
		anlagen = append(anlagen, a)
	}
	data := map[string]any{
		"bauherr": g.maxPerson(), "gebuehrenpflichtiger": g.maxOrganisation(), "entwurfsverfasser": g.maxPerson(),
		"artDesBauherrn": CodeLists["bauherrodereigentuemerart"][0],
		"bauvorlageberechtigung": map[string]any{"grundlage": CodeLists["bauvorlageberechtigungsachverhalt"][0],
			"kammer": CodeLists["kammer"][0], "mitgliedsnummer": strings.Repeat("7", 50), "personennummer": strings.Repeat("8", 50),
			"berufsbezeichnung": g.long(maxZeile)},
		"prozessmerkmale": map[string]any{"verfahrensart": maxFremderCode()},
		"bauvorhaben": map[string]any{
			"bezeichnung": g.long(maxBezeichnung), "anzahlGebaeude": json.Number(fmt.Sprint(maxGebaeude)), "gebaeude": gebaeude,
			"artDerMassnahme":       massnahmen,
			"artDerBaulichenAnlage": map[string]any{"nichtwohngebaeudeArt": CodeLists["nichtwohngebaeudeart"][0]},
			"nutzungsaenderung": map[string]any{"bisherigeNutzung": map[string]any{"wohngebaeudeArt": CodeLists["wohngebaeudeart"][0]},
				"beabsichtigteNutzung": map[string]any{"nichtwohngebaeudeArt": CodeLists["nichtwohngebaeudeart"][1]}},
			"klassifikation": map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": json.Number("999.99"), "istFreistehend": true,
				"sonderbau": sonderbauten, "garage": CodeLists["mbogaragentyp"][0], "mittelOderGrossGarage": false},
			"nutzungseinheiten": nutzungen,
			"weitereAngaben":    strings.Repeat("Zeile\tmit Tab und Umbruch\n", 1+maxWeitereAngaben/len("Zeile\tmit Tab und Umbruch\n"))[:maxWeitereAngaben-1] + "Z",
		},
		"baugrundstueck": map[string]any{"anschrift": map[string]any{"strasse": g.long(maxZeile), "hausnummer": g.long(20),
			"postleitzahl": "99999", "ort": g.long(maxZeile), "ortsteil": g.long(maxZeile)}, "flurstuecke": flurstuecke},
		"anlagen": anlagen,
	}
	return data, attachments
}
