package xbau_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// problem is the part of a FieldError the validation tests compare exactly.
type problem struct{ Pointer, Code string }

// clone copies a decoded JSON value deeply, so that tests can change it.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = clone(e)
		}
		return out
	}
	return v
}

// at returns the object at the slash-separated path below root (array
// indexes as numbers), for tests to change.
func at(t *testing.T, root map[string]any, path string) map[string]any {
	t.Helper()
	var cur any = root
	for _, tok := range strings.Split(path, "/") {
		if tok == "" {
			continue
		}
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i := 0
			for _, d := range tok {
				i = i*10 + int(d-'0')
			}
			cur = c[i]
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object", path)
	}
	return m
}

func TestValidate(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	base := readExample(t, "maximal")
	tests := []struct {
		name   string
		modify func(t *testing.T, s *transform.Submission)
		want   []problem
	}{
		{name: "valid", modify: func(*testing.T, *transform.Submission) {}},
		{
			name: "attachment described by its Anlage",
			modify: func(_ *testing.T, s *transform.Submission) {
				s.Attachments = []transform.Attachment{{ID: "7D6C5B4A-3E2F-4A1B-9C8D-7E6F5A4B3C2D",
					FileName: "lageplan.pdf", MIMEType: "application/pdf", Size: 8}}
			},
		},
		{
			name: "attachments not matching the Anlagen",
			modify: func(_ *testing.T, s *transform.Submission) {
				s.Attachments = []transform.Attachment{
					{ID: "00000000-0000-4000-8000-000000000000", FileName: "x.pdf", MIMEType: "application/pdf"},
					{ID: "8e7d6c5b-4f3a-4b2c-8d9e-0f1a2b3c4d5e", FileName: "andere.png", MIMEType: "image/png"},
				}
			},
			want: []problem{
				{"/attachments/0/id", transform.CodeInvalid},
				{"/data/anlagen/0", transform.CodeInvalid}, // its file is no longer attached
				{"/data/anlagen/1/dateiname", transform.CodeInvalid},
				{"/data/anlagen/1/mimeType", transform.CodeInvalid},
				{"/data/anlagen/1/wirdNachgereicht", transform.CodeInvalid},
			},
		},
		{
			name:   "missing applicant and data",
			modify: func(_ *testing.T, s *transform.Submission) { s.Applicant, s.Data, s.Attachments = nil, nil, nil },
			want:   []problem{{"/applicant", transform.CodeRequired}, {"/data", transform.CodeRequired}},
		},
		{
			name: "missing required members",
			modify: func(t *testing.T, s *transform.Submission) {
				delete(s.Applicant, "familienname")
				delete(at(t, s.Data, "bauvorhaben"), "artDerMassnahme")
				delete(at(t, s.Data, "baugrundstueck/flurstuecke/1"), "zaehler")
				delete(at(t, s.Data, "anlagen/1"), "dokumentId")
			},
			want: []problem{
				{"/applicant/familienname", transform.CodeRequired},
				{"/data/anlagen/1/dokumentId", transform.CodeRequired},
				{"/data/baugrundstueck/flurstuecke/1/zaehler", transform.CodeRequired},
				{"/data/bauvorhaben/artDerMassnahme", transform.CodeRequired},
			},
		},
		{
			name: "unknown members at every level",
			modify: func(t *testing.T, s *transform.Submission) {
				s.Applicant["geburtsdatum"] = "1970-01-01"
				at(t, s.Applicant, "anschrift")["land"] = "DE"
				s.Data["bemerkung"] = "x"
				at(t, s.Data, "baugrundstueck/flurstuecke/0")["flaeche"] = json.Number("500")
				at(t, s.Data, "anlagen/0")["inhalt"] = "JVBERi0x"
			},
			want: []problem{
				{"/applicant/anschrift/land", transform.CodeUnknownField},
				{"/applicant/geburtsdatum", transform.CodeUnknownField},
				{"/data/anlagen/0/inhalt", transform.CodeUnknownField},
				{"/data/baugrundstueck/flurstuecke/0/flaeche", transform.CodeUnknownField},
				{"/data/bemerkung", transform.CodeUnknownField},
			},
		},
		{
			name: "codes, numbers and formats",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "bauvorhaben")["artDerMassnahme"] = []any{"11", "15"}
				at(t, s.Data, "bauvorhaben")["anzahlGebaeude"] = json.Number("-1")
				at(t, s.Data, "baugrundstueck/flurstuecke/0")["bundesland"] = "17"
				at(t, s.Data, "baugrundstueck/flurstuecke/0")["zaehler"] = "12a"
				at(t, s.Data, "anlagen/0")["datum"] = "20.11.2026"
				at(t, s.Data, "anlagen/1")["dokumentId"] = "baubeschreibung"
				at(t, s.Data, "anlagen/1")["dateiname"] = "baubeschreibung"
				s.Data["artDesBauherrn"] = "9"
			},
			want: []problem{
				{"/data/anlagen/0/datum", transform.CodeFormat},
				{"/data/anlagen/1/dateiname", transform.CodePattern},
				{"/data/anlagen/1/dokumentId", transform.CodeFormat},
				{"/data/artDesBauherrn", transform.CodeEnum},
				{"/data/baugrundstueck/flurstuecke/0/bundesland", transform.CodeEnum},
				{"/data/baugrundstueck/flurstuecke/0/zaehler", transform.CodePattern},
				{"/data/bauvorhaben/anzahlGebaeude", transform.CodeOutOfRange},
				{"/data/bauvorhaben/artDerMassnahme/1", transform.CodeEnum},
			},
		},
		{
			name: "empty lists and wrong types",
			modify: func(t *testing.T, s *transform.Submission) {
				s.Attachments = nil
				s.Data["anlagen"] = []any{}
				at(t, s.Data, "baugrundstueck")["flurstuecke"] = []any{}
				at(t, s.Data, "bauvorhaben")["anzahlGebaeude"] = "zwei"
			},
			want: []problem{
				{"/data/anlagen", transform.CodeTooShort},
				{"/data/baugrundstueck/flurstuecke", transform.CodeTooShort},
				{"/data/bauvorhaben/anzahlGebaeude", transform.CodeType},
			},
		},
		{
			name: "gemarkung is nummer or bezeichnung",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "baugrundstueck/flurstuecke/0/gemarkung")["bezeichnung"] = "Musterstadt"
				at(t, s.Data, "baugrundstueck/flurstuecke/1")["gemarkung"] = map[string]any{}
			},
			want: []problem{
				{"/data/baugrundstueck/flurstuecke/0/gemarkung/bezeichnung", transform.CodeUnknownField},
				{"/data/baugrundstueck/flurstuecke/1/gemarkung/nummer", transform.CodeRequired},
			},
		},
		{
			name: "characters outside CheckText",
			modify: func(t *testing.T, s *transform.Submission) {
				s.Applicant["vorname"] = "Иван"
				at(t, s.Data, "bauherr/anschrift")["ort"] = "Musterstadt\x00"
				at(t, s.Data, "gebuehrenpflichtiger/ansprechpartner")["funktion"] = "Chef 😀"
			},
			want: []problem{
				{"/applicant/vorname", transform.CodeUnsupportedCharacter},
				{"/data/bauherr/anschrift/ort", transform.CodeControlCharacter},
				{"/data/gebuehrenpflichtiger/ansprechpartner/funktion", transform.CodeUnsupportedCharacter},
			},
		},
		{
			// CheckText accepts these, XBau's DIN 91379 datatypeC does not.
			name: "characters outside DIN 91379",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "bauvorhaben")["bezeichnung"] = "Umbau – Phase 1"
				at(t, s.Data, "bauvorhaben")["weitereAngaben"] = "„Altbau“"
				s.Applicant["familienname"] = "Ko\u0302hler" // ô: NFC composes it, fine
				at(t, s.Data, "entwurfsverfasser")["familienname"] = "Dvor\u030C\u0327ák"
				at(t, s.Data, "anlagen/0")["bezeichnung"] = "Lageplan\u00A0Nord"
			},
			want: []problem{
				{"/data/anlagen/0/bezeichnung", transform.CodeUnsupportedCharacter},
				{"/data/bauvorhaben/bezeichnung", transform.CodeUnsupportedCharacter},
				{"/data/bauvorhaben/weitereAngaben", transform.CodeUnsupportedCharacter},
				{"/data/entwurfsverfasser/familienname", transform.CodeUnsupportedCharacter},
			},
		},
		{
			name: "duplicate anlagen",
			modify: func(t *testing.T, s *transform.Submission) {
				s.Attachments = nil
				at(t, s.Data, "anlagen/0")["wirdNachgereicht"] = true
				at(t, s.Data, "anlagen/1")["dokumentId"] = strings.ToUpper(at(t, s.Data, "anlagen/0")["dokumentId"].(string))
				at(t, s.Data, "anlagen/1")["dateiname"] = "Lageplan.pdf"
			},
			want: []problem{
				{"/data/anlagen/1/dateiname", transform.CodeInvalid},
				{"/data/anlagen/1/dokumentId", transform.CodeInvalid},
			},
		},
		{
			name: "Anlage neither attached nor nachgereicht",
			modify: func(t *testing.T, s *transform.Submission) {
				s.Attachments = nil
				at(t, s.Data, "anlagen/1")["wirdNachgereicht"] = false
			},
			want: []problem{
				{"/data/anlagen/0", transform.CodeInvalid},
				{"/data/anlagen/1", transform.CodeInvalid},
			},
		},
		{
			name: "codes outside their code lists",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "anlagen/0")["anlageart"] = "1200" // no such main category
				at(t, s.Data, "anlagen/1")["anlageart"] = "1504"
				at(t, s.Data, "bauvorhaben/klassifikation")["gebaeudeklasse"] = "6"
				at(t, s.Data, "bauvorhaben/klassifikation")["garage"] = "4"
				at(t, s.Data, "bauvorhaben/artDerBaulichenAnlage")["wohngebaeudeArt"] = "4"
				at(t, s.Data, "bauvorlageberechtigung")["grundlage"] = "9"
				at(t, s.Data, "bauvorlageberechtigung")["kammer"] = "32"
			},
			want: []problem{
				{"/data/anlagen/0/anlageart", transform.CodeEnum},
				{"/data/anlagen/1/anlageart", transform.CodeEnum},
				{"/data/bauvorhaben/artDerBaulichenAnlage/wohngebaeudeArt", transform.CodeEnum},
				{"/data/bauvorhaben/klassifikation/garage", transform.CodeEnum},
				{"/data/bauvorhaben/klassifikation/gebaeudeklasse", transform.CodeEnum},
				{"/data/bauvorlageberechtigung/grundlage", transform.CodeEnum},
				{"/data/bauvorlageberechtigung/kammer", transform.CodeEnum},
			},
		},
		{
			name: "inconsistent new blocks",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "bauvorhaben/artDerBaulichenAnlage")["nichtwohngebaeudeArt"] = "111"
				at(t, s.Data, "bauvorhaben/klassifikation")["garage"] = "3" // a Großgarage, but mittelOderGrossGarage false
				at(t, s.Data, "bauvorhaben/klassifikation")["hoeheNachMBO"] = json.Number("4.355")
				at(t, s.Data, "bauvorhaben/nutzungseinheiten/0")["flaeche"] = json.Number("0")
				delete(at(t, s.Data, "bauvorlageberechtigung"), "mitgliedsnummer")
				at(t, s.Data, "prozessmerkmale/verfahrensart")["listURI"] = "Baugenehmigung"
			},
			want: []problem{
				{"/data/bauvorhaben/artDerBaulichenAnlage", transform.CodeInvalid}, // maxProperties
				{"/data/bauvorhaben/klassifikation/garage", transform.CodeInvalid},
				{"/data/bauvorhaben/klassifikation/hoeheNachMBO", transform.CodeInvalid},
				{"/data/bauvorhaben/nutzungseinheiten/0/flaeche", transform.CodeOutOfRange},
				{"/data/bauvorlageberechtigung/mitgliedsnummer", transform.CodeRequired},
				{"/data/prozessmerkmale/verfahrensart/listURI", transform.CodePattern},
			},
		},
		{
			name: "Nutzungsänderung without Nutzungen, Gebäude not as counted",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "bauvorhaben")["artDerMassnahme"] = []any{"13", "14"}
				at(t, s.Data, "bauvorhaben")["gebaeude"] = []any{map[string]any{"bezeichnung": "Wohnhaus"}}
			},
			want: []problem{
				{"/data/bauvorhaben/gebaeude", transform.CodeInvalid},
				{"/data/bauvorhaben/nutzungsaenderung", transform.CodeRequired},
			},
		},
		{
			name: "Nutzungsänderung of no building without Nutzungen",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "bauvorhaben")["artDerMassnahme"] = []any{"13"}
				at(t, s.Data, "bauvorhaben")["anzahlGebaeude"] = json.Number("0")
				delete(at(t, s.Data, "bauvorhaben"), "gebaeude")
			},
		},
		{
			name: "Nutzungsänderung of one building without Nutzungen",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "bauvorhaben")["artDerMassnahme"] = []any{"14"}
				at(t, s.Data, "bauvorhaben")["anzahlGebaeude"] = json.Number("1")
				delete(at(t, s.Data, "bauvorhaben"), "gebaeude")
			},
			want: []problem{{"/data/bauvorhaben/nutzungsaenderung", transform.CodeRequired}},
		},
		{
			name: "Nutzungsänderung with unknown codes",
			modify: func(t *testing.T, s *transform.Submission) {
				at(t, s.Data, "bauvorhaben")["nutzungsaenderung"] = map[string]any{
					"bisherigeNutzung":     map[string]any{"nichtwohngebaeudeArt": "501"},
					"beabsichtigteNutzung": map[string]any{"wohngebaeudeArt": "1", "nichtwohngebaeudeArt": "750"},
				}
			},
			want: []problem{
				{"/data/bauvorhaben/nutzungsaenderung/beabsichtigteNutzung", transform.CodeInvalid}, // maxProperties
				{"/data/bauvorhaben/nutzungsaenderung/bisherigeNutzung/nichtwohngebaeudeArt", transform.CodeEnum},
			},
		},
		{
			name: "Bauvorlageberechtigung without Entwurfsverfasser",
			modify: func(_ *testing.T, s *transform.Submission) {
				delete(s.Data, "entwurfsverfasser")
			},
			want: []problem{{"/data/bauvorlageberechtigung", transform.CodeInvalid}},
		},
		{
			name: "pointer escaping",
			modify: func(_ *testing.T, s *transform.Submission) {
				s.Data["a/b~c"] = "x"
			},
			want: []problem{{"/data/a~1b~0c", transform.CodeUnknownField}},
		},
		{
			name: "organisation with person fields",
			modify: func(_ *testing.T, s *transform.Submission) {
				s.Applicant = map[string]any{
					"name":      "Bau GmbH",
					"anschrift": map[string]any{"postleitzahl": "1234", "ort": "Musterstadt"},
				}
			},
			want: []problem{{"/applicant/anschrift/postleitzahl", transform.CodePattern}},
		},
		{
			name: "identity",
			modify: func(_ *testing.T, s *transform.Submission) {
				s.Identity = &transform.Identity{Method: "passwort", TrustLevel: "mittel", Provider: "Конто"}
			},
			want: []problem{
				{"/identity/method", transform.CodeEnum},
				{"/identity/provider", transform.CodeUnsupportedCharacter},
				{"/identity/trust_level", transform.CodeEnum},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := base
			s.Applicant = clone(base.Applicant).(map[string]any)
			s.Data = clone(base.Data).(map[string]any)
			tt.modify(t, &s)
			mappertest.CheckProblems(t, m.Validate(s), tt.want)
		})
	}
}

// TestValidateMessages pins the messages of the checks of this package.
func TestValidateMessages(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	s := readExample(t, "minimal")
	s.Data["anlagen"].([]any)[0].(map[string]any)["bezeichnung"] = "Lageplän Nord"
	got := m.Validate(s)
	want := []transform.FieldError{{
		Pointer: "/data/anlagen/0/bezeichnung", Code: transform.CodeUnsupportedCharacter,
		Message:   "character U+00A0 at position 9 is not permitted in the designation of an Anlage (DIN SPEC 91379, datatype D)",
		MessageDE: "Zeichen U+00A0 an Position 9 ist in der Bezeichnung einer Anlage nicht zulässig (DIN SPEC 91379, Datentyp D)",
	}}
	if !slices.Equal(got, want) {
		t.Errorf("Validate:\n got %q\nwant %q", got, want)
	}
}
