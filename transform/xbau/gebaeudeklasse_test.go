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
// Nutzungseinheit of 164.8 m²).
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
	const gk = "/data/bauvorhaben/klassifikation/gebaeudeklasse"
	tests := []struct {
		name  string
		klass map[string]any // replaces klassifikation
		ne    []any          // replaces nutzungseinheiten; nil removes them
		n     string         // anzahlGebaeude, default 1
		want  []problem
	}{
		{name: "as stated", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": json.Number("5.6"), "istFreistehend": false}, ne: ne("164.8")},
		{name: "GK 1 needs freistehend", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": json.Number("5.6"), "istFreistehend": false}, ne: ne("164.8"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 1 freistehend land- or forstwirtschaftlich, any Nutzungseinheiten", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": json.Number("6.5"), "istFreistehend": true}, ne: ne("300", "300", "300")},
		{name: "GK 2 freistehend and small is GK 1", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": json.Number("5.6"), "istFreistehend": true}, ne: ne("164.8"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 2 at 400 m²", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": json.Number("7")}, ne: ne("200", "200")},
		{name: "GK 2 above 400 m²", klass: map[string]any{"gebaeudeklasse": "2", "hoeheNachMBO": json.Number("7")}, ne: ne("200", "200.01"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 2 with three Nutzungseinheiten", klass: map[string]any{"gebaeudeklasse": "2"}, ne: ne("50", "50", "50"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 3 small is GK 1 or 2", klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": json.Number("5.6")}, ne: ne("164.8"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 3 above 400 m² at 7 m", klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": json.Number("7.00"), "istFreistehend": false}, ne: ne("250", "151")},
		{name: "GK 3 without data", klass: map[string]any{"gebaeudeklasse": "3"}},
		{name: "GK 3 above 7 m", klass: map[string]any{"gebaeudeklasse": "3", "hoeheNachMBO": json.Number("7.01")},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 4 at 7 m", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": json.Number("7")},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 4 at 13 m", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": json.Number("13")}, ne: ne("400", "380", "120.5")},
		{name: "GK 4 above 13 m", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": json.Number("13.01")},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 4 with a Nutzungseinheit above 400 m²", klass: map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": json.Number("9.5")}, ne: ne("120", "400.5"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 5 with a Nutzungseinheit above 400 m²", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": json.Number("9.5")}, ne: ne("120", "400.5")},
		{name: "GK 5 at 9.5 m with small Nutzungseinheiten", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": json.Number("9.5")}, ne: ne("120", "380"),
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 5 at 5.6 m", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": json.Number("5.6")},
			want: []problem{{gk, transform.CodeInvalid}}},
		{name: "GK 5 unterirdisch", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": json.Number("-3.5")}},
		{name: "GK 5 above 13 m", klass: map[string]any{"gebaeudeklasse": "5", "hoeheNachMBO": json.Number("22.4")}, ne: ne("90")},
		{name: "no check for two buildings", n: "2", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": json.Number("25"), "istFreistehend": false}},
		{name: "no Gebäudeklasse", klass: map[string]any{"hoeheNachMBO": json.Number("25"), "istFreistehend": false}},
		{name: "a height the schema refuses is no evidence", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": json.Number("1e400")},
			want: []problem{{"/data/bauvorhaben/klassifikation/hoeheNachMBO", transform.CodeOutOfRange}}},
		{name: "an area the schema refuses is no evidence", klass: map[string]any{"gebaeudeklasse": "2"}, ne: ne("0", "90"),
			want: []problem{{"/data/bauvorhaben/nutzungseinheiten/0/flaeche", transform.CodeOutOfRange}}},
		{name: "a number beyond math/big", klass: map[string]any{"gebaeudeklasse": "1", "hoeheNachMBO": json.Number("1e100000000000000000000000000000000")},
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
// and the Gebäudeklassen the data permit, in English and German.
func TestGebaeudeklasseMessage(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	s := readExample(t, "entwurfsverfasser")
	bv := s.Data["bauvorhaben"].(map[string]any)
	bv["klassifikation"].(map[string]any)["gebaeudeklasse"] = "4"
	bv["nutzungseinheiten"] = append(bv["nutzungseinheiten"].([]any), map[string]any{"flaeche": json.Number("80.25")})
	got := m.Validate(s)
	want := []transform.FieldError{{
		Pointer: "/data/bauvorhaben/klassifikation/gebaeudeklasse", Code: transform.CodeInvalid,
		Message: "Gebäudeklasse 4 contradicts the stated building data (hoeheNachMBO 5.60 m, istFreistehend false, " +
			"2 Nutzungseinheiten of 245.05 m² in total, the largest 164.80 m²): by MBO § 2 Abs. 3 the building is in Gebäudeklasse 2",
		MessageDE: "Gebäudeklasse 4 widerspricht den Angaben zum Gebäude (hoeheNachMBO 5,60 m, istFreistehend false, " +
			"2 Nutzungseinheiten mit zusammen 245,05 m², die größte 164,80 m²): nach § 2 Abs. 3 MBO gehört es zur Gebäudeklasse 2",
	}}
	if !slices.Equal(got, want) {
		t.Errorf("Validate:\n got %q\nwant %q", got, want)
	}
}
