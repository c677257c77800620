package xbau_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// TestGebaeudeklasse checks the plausibility of the Gebäudeklasse against
// the building data by MBO § 2 Abs. 3 on the example "entwurfsverfasser"
// (one building, Gebäudeklasse 2, hoeheNachMBO 5.6 m, not freistehend, one
// Nutzungseinheit of 164.8 m²), as an Errichtung (artDerMassnahme 11) unless
// the case says otherwise. Only an under-classification is refused.
func TestGebaeudeklasse(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	base := readExample(t, "entwurfsverfasser")
	ne := func(flaechen ...string) []any {
		var out []any
		for _, f := range flaechen {
			out = append(out, map[string]any{"flaeche": json.Number(f)})
		}
		return out
	}
	h := func(v string) json.Number { return json.Number(v) }
	scheune := map[string]any{"nichtwohngebaeudeArt": "500"}
	const gk = "/data/bauvorhaben/klassifikation/gebaeudeklasse"
	tests := []struct {
		name  string
		klass map[string]any // replaces klassifikation
		ne    []any          // replaces nutzungseinheiten; nil removes them
		n     string         // anzahlGebaeude, default 1
		art   []any          // artDerMassnahme, default ["11"]
		anl   map[string]any // artDerBaulichenAnlage, default as in the example
		want  []problem
	}{
		{name: "as stated", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("5.6"), "istFreistehend": false}, ne: ne("164.8")},
		{name: "GK 1 needs freistehend", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": h("5.6"), "istFreistehend": false}, ne: ne("164.8"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 1 not freistehend above 13 m", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": h("25"), "istFreistehend": false},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 1 freistehend land- or forstwirtschaftlich, any Nutzungseinheiten", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": h("6.5"), "istFreistehend": true}, ne: ne("300", "300", "300")},
		{name: "GK 1 Scheune freistehend at 9.5 m", anl: scheune, klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": h("9.5"), "istFreistehend": true}, ne: ne("420")},
		{name: "GK 1 freistehend above 13 m, no code", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": h("16.2"), "istFreistehend": true}},
		{name: "GK 1 above 7 m, freistehend not stated", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": h("9.5")}},
		{name: "GK 3 Scheune freistehend above 13 m is GK 1 or stricter", anl: scheune, klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": h("14"), "istFreistehend": true}},
		{name: "GK 3 Scheune not freistehend above 13 m", anl: scheune, klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": h("14"), "istFreistehend": false},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 3 Dachausbau of one 80 m² flat at 6.5 m (Änderung)", art: []any{"12"}, klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": h("6.5"), "istFreistehend": false}, ne: ne("80")},
		{name: "GK 2 Änderung with three Nutzungseinheiten of the Erweiterungsbau", art: []any{"12"}, klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("6")}, ne: ne("50", "50", "50")},
		{name: "GK 2 Errichtung and Änderung with three Nutzungseinheiten", art: []any{"11", "12"}, klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("6")}, ne: ne("50", "50", "50")},
		{name: "GK 2 Änderung above 7 m", art: []any{"12"}, klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("7.5")}, ne: ne("50"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 2 freistehend and small (GK 1 or stricter)", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("5.6"), "istFreistehend": true}, ne: ne("164.8")},
		{name: "GK 2 at 400 m²", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("7")}, ne: ne("200", "200")},
		{name: "GK 2 above 400 m²", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("7")}, ne: ne("200", "200.01"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 2 for a 6 m house with three Nutzungseinheiten", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("6"), "istFreistehend": false}, ne: ne("50", "50", "50"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 3 small (over-classification)", klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": h("5.6")}, ne: ne("164.8")},
		{name: "GK 3 above 400 m² at 7 m", klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": h("7.00"), "istFreistehend": false}, ne: ne("250", "151")},
		{name: "GK 3 without data", klass: map[string]any{"gebaeudeklasse": "3"}},
		{name: "GK 3 above 7 m", klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": h("7.01")},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 4 at 7 m (over-classification)", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": h("7")}},
		{name: "GK 4 at 13 m", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": h("13")}, ne: ne("400", "380", "120.5")},
		{name: "GK 4 above 13 m", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": h("13.01")},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 4 above 13 m freistehend", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": h("15.5"), "istFreistehend": true},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 4 with a Nutzungseinheit above 400 m²", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": h("9.5")}, ne: ne("120", "400.5"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 4 Änderung with a Nutzungseinheit above 400 m²", art: []any{"12"}, klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": h("9.5")}, ne: ne("120", "400.5")},
		{name: "GK 5 with a Nutzungseinheit above 400 m²", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": h("9.5")}, ne: ne("120", "400.5")},
		{name: "GK 5 at 9.5 m with small Nutzungseinheiten (over-classification)", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": h("9.5")}, ne: ne("120", "380")},
		{name: "GK 5 for a 6 m house (over-classification)", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": h("6"), "istFreistehend": false}, ne: ne("120")},
		{name: "GK 5 unterirdisch", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": h("-3.5")}},
		{name: "GK 5 above 13 m", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": h("22.4")}, ne: ne("90")},
		{name: "no check for two buildings", n: "2", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": h("25"), "istFreistehend": false}},
		{name: "no Gebäudeklasse", klass: map[string]any{"hoeheNachMBO": h("25"), "istFreistehend": false}},
		{name: "a height the schema refuses is no evidence", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("1e400")},
			want: []problem{{"/data/bauvorhaben/klassifikation/hoeheNachMBO", transform.CodeOutOfRange}}},
		{name: "an area the schema refuses is no evidence", klass: map[string]any{"gebaeudeklasse": "2"}, ne: ne("0", "90", "90", "90"),
			want: []problem{{"/data/bauvorhaben/nutzungseinheiten/0/flaeche", transform.CodeOutOfRange}}},
		{name: "a number beyond math/big", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": h("1e100000000000000000000000000000000")},
			want: []problem{{"/data/bauvorhaben/klassifikation/hoeheNachMBO", transform.CodeInvalidNumber}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := base
			s.Applicant = clone(base.Applicant).(map[string]any)
			s.Data = clone(base.Data).(map[string]any)
			bv := s.Data["bauvorhaben"].(map[string]any)
			bv["klassifikation"] = tt.klass
			if tt.ne != nil {
				bv["nutzungseinheiten"] = tt.ne
			} else {
				delete(bv, "nutzungseinheiten")
			}
			if tt.n != "" {
				bv["anzahlGebaeude"] = json.Number(tt.n)
			}
			bv["artDerMassnahme"] = []any{"11"}
			if tt.art != nil {
				bv["artDerMassnahme"] = tt.art
			}
			if tt.anl != nil {
				bv["artDerBaulichenAnlage"] = tt.anl
			}
			errs := m.Validate(s)
			mappertest.CheckProblems(t, errs, tt.want)
			if len(tt.want) == 0 {
				doc, err := m.Map(fullInput(s))
				if err != nil {
					t.Fatalf("Map: %v", err)
				}
				if len(doc.XML) == 0 {
					t.Fatal("Map gave no XML")
				}
			}
		})
	}
}

// TestGebaeudeklasseMessage pins the message: stated data, the legal basis
// and the lowest Gebäudeklasse the data permit, in English and German.
func TestGebaeudeklasseMessage(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	s := readExample(t, "entwurfsverfasser")
	bv := s.Data["bauvorhaben"].(map[string]any)
	bv["artDerMassnahme"] = []any{"11"}
	bv["nutzungseinheiten"] = append(bv["nutzungseinheiten"].([]any), map[string]any{"flaeche": json.Number("80.25")},
		map[string]any{"flaeche": json.Number("60")})
	got := m.Validate(s)
	want := []transform.FieldError{{
		Pointer: "/data/bauvorhaben/klassifikation/gebaeudeklasse", Code: transform.CodeInvalid,
		Message: "Gebäudeklasse 2 contradicts the stated building data (hoeheNachMBO 5.60 m, istFreistehend false, " +
			"3 Nutzungseinheiten of 305.05 m² in total, the largest 164.80 m²): " +
			"by MBO § 2(3) or the corresponding provision of the Land building code the building is at least in Gebäudeklasse 3",
		MessageDE: "Gebäudeklasse 2 widerspricht den Angaben zum Gebäude (hoeheNachMBO 5,60 m, istFreistehend false, " +
			"3 Nutzungseinheiten mit zusammen 305,05 m², die größte 164,80 m²): " +
			"nach § 2 Abs. 3 MBO bzw. der entsprechenden Vorschrift der Landesbauordnung gehört es mindestens zur Gebäudeklasse 3",
	}}
	if !slices.Equal(got, want) {
		t.Errorf("Validate:\n got %q\nwant %q", got, want)
	}

	// GK 1 of a building that is not freistehend, at a height of GK 4: the
	// Nutzungseinheiten of an Änderung are not used, nor named.
	bv["artDerMassnahme"] = []any{"12"}
	bv["klassifikation"] = map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": json.Number("9"), "istFreistehend": false}
	got = m.Validate(s)
	want = []transform.FieldError{{
		Pointer: "/data/bauvorhaben/klassifikation/gebaeudeklasse", Code: transform.CodeInvalid,
		Message: "Gebäudeklasse 1 contradicts the stated building data (hoeheNachMBO 9.00 m, istFreistehend false): " +
			"by MBO § 2(3) or the corresponding provision of the Land building code the building is at least in Gebäudeklasse 4",
		MessageDE: "Gebäudeklasse 1 widerspricht den Angaben zum Gebäude (hoeheNachMBO 9,00 m, istFreistehend false): " +
			"nach § 2 Abs. 3 MBO bzw. der entsprechenden Vorschrift der Landesbauordnung gehört es mindestens zur Gebäudeklasse 4",
	}}
	if !slices.Equal(got, want) {
		t.Errorf("Validate:\n got %q\nwant %q", got, want)
	}
}
