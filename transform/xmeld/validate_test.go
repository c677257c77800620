package xmeld_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xmeld/xmeldtest"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// problem is the part of a FieldError the validation tests compare exactly.
type problem struct{ Pointer, Code string }

func TestValidate(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	person := func(s *transform.Submission, i int) map[string]any {
		return s.Data["meldepflichtige"].([]any)[i].(map[string]any)
	}
	tests := []struct {
		name   string
		modify func(s *transform.Submission)
		want   []problem
	}{
		{"valid", func(*transform.Submission) {}, nil},
		{
			"absent members", func(s *transform.Submission) { s.Applicant, s.Data, s.Identity = nil, nil, nil },
			[]problem{{"/applicant", transform.CodeRequired}, {"/data", transform.CodeRequired}},
		},
		{
			"applicant: closest alternative", func(s *transform.Submission) {
				s.Applicant = map[string]any{"familienname": "Weber", "geburtsdatum": "1970-01-01"}
			},
			[]problem{{"/applicant/anschrift", transform.CodeRequired}, {"/applicant/geburtsdatum", transform.CodeUnknownField}},
		},
		{
			"applicant: organisation", func(s *transform.Submission) {
				s.Applicant = map[string]any{"art": "juristischePerson", "name": "Müller & Söhne KG", "anschrift": map[string]any{"strasse": "Hof", "postleitzahl": "1234", "ort": "Ulm"}}
			},
			[]problem{{"/applicant/anschrift/postleitzahl", transform.CodePattern}},
		},
		{
			"applicant: art contradicts members", func(s *transform.Submission) { s.Applicant["art"] = "juristischePerson" },
			[]problem{{"/applicant/art", transform.CodeEnum}},
		},
		{
			"art einzug with auszugsdatum", func(s *transform.Submission) {
				s.Data["auszugsdatum"] = s.Data["einzugsdatum"]
				delete(s.Data, "einzugsdatum")
			},
			[]problem{{"/data/auszugsdatum", transform.CodeInvalid}, {"/data/einzugsdatum", transform.CodeRequired}},
		},
		{
			"art auszug with both dates", func(s *transform.Submission) {
				s.Data["art"] = "auszug"
				s.Data["auszugsdatum"] = "2026-11-30"
			},
			[]problem{{"/data/einzugsdatum", transform.CodeInvalid}},
		},
		{
			"unknown art: no date rule", func(s *transform.Submission) { s.Data["art"] = "umzug" },
			[]problem{{"/data/art", transform.CodeEnum}},
		},
		{
			"zuordnungsmerkmal: too long, with a space", func(s *transform.Submission) {
				s.Data["zuordnungsmerkmal"] = strings.Repeat("X", 65)
				s.Applicant["zuordnungsmerkmal"] = "WGB 1"
			},
			[]problem{{"/applicant/zuordnungsmerkmal", transform.CodeUnknownField}, {"/data/zuordnungsmerkmal", transform.CodeTooLong}},
		},
		{
			"zuordnungsmerkmal with a space", func(s *transform.Submission) { s.Data["zuordnungsmerkmal"] = "WGB 1" },
			[]problem{{"/data/zuordnungsmerkmal", transform.CodePattern}},
		},
		{
			"owner missing", func(s *transform.Submission) { delete(s.Data, "eigentuemer") },
			[]problem{{"/data/eigentuemer", transform.CodeRequired}},
		},
		{
			"owner given although the Wohnungsgeber is the owner", func(s *transform.Submission) { s.Data["wohnungsgeberIstEigentuemer"] = true },
			[]problem{{"/data/eigentuemer", transform.CodeInvalid}},
		},
		{
			"owner flag not a boolean", func(s *transform.Submission) { s.Data["wohnungsgeberIstEigentuemer"] = "nein" },
			[]problem{{"/data/wohnungsgeberIstEigentuemer", transform.CodeType}},
		},
		{
			"owner null", func(s *transform.Submission) { s.Data["eigentuemer"] = nil },
			[]problem{{"/data/eigentuemer", transform.CodeType}},
		},
		{
			"characters", func(s *transform.Submission) {
				person(s, 0)["vorname"] = "Иван"
				person(s, 0)["familienname"] = "Müller2"
				person(s, 1)["vorname"] = "Zoë\x00"
				person(s, 1)["familienname"] = "M\xfcller"
				person(s, 1)["geburtsname"] = "Smith 😀"
				s.Data["wohnung"].(map[string]any)["strasse"] = "Am\tMühlbach"
				s.Data["wohnung"].(map[string]any)["adresszusatz"] = "2. OG — links"
				s.Applicant["vorname"] = "Ærøskøbing Dvořák Łódź Șerban Nguyễn Straße ẞ"
			},
			[]problem{
				{"/data/meldepflichtige/0/familienname", transform.CodeUnsupportedCharacter},
				{"/data/meldepflichtige/0/vorname", transform.CodeUnsupportedCharacter},
				{"/data/meldepflichtige/1/familienname", transform.CodeInvalidUTF8},
				{"/data/meldepflichtige/1/geburtsname", transform.CodeUnsupportedCharacter},
				{"/data/meldepflichtige/1/vorname", transform.CodeControlCharacter},
				{"/data/wohnung/adresszusatz", transform.CodeUnsupportedCharacter},
				{"/data/wohnung/strasse", transform.CodeUnsupportedCharacter},
			},
		},
		{
			"forms", func(s *transform.Submission) {
				s.Data["einzugsdatum"] = "2026-02-30"
				s.Data["bestaetigungsdatum"] = "10.12.2026"
				s.Data["wohnung"].(map[string]any)["postleitzahl"] = "1234"
				s.Applicant["email"] = "keine Adresse"
				s.Applicant["telefon"] = "0800-HAUS"
				s.Applicant["anrede"] = "Divers"
				person(s, 0)["familienname"] = "   "
				person(s, 1)["vorname"] = strings.Repeat("ä", 121)
			},
			[]problem{
				{"/applicant/anrede", transform.CodeEnum},
				{"/applicant/email", transform.CodeFormat},
				{"/applicant/telefon", transform.CodePattern},
				{"/data/bestaetigungsdatum", transform.CodeFormat},
				{"/data/einzugsdatum", transform.CodeFormat},
				{"/data/meldepflichtige/0/familienname", transform.CodePattern},
				{"/data/meldepflichtige/1/vorname", transform.CodeTooLong},
				{"/data/wohnung/postleitzahl", transform.CodePattern},
			},
		},
		{
			"no persons", func(s *transform.Submission) { s.Data["meldepflichtige"] = []any{} },
			[]problem{{"/data/meldepflichtige", transform.CodeTooShort}},
		},
		{
			"too many persons", func(s *transform.Submission) {
				var ps []any
				for range 31 {
					ps = append(ps, map[string]any{"familienname": "Weber"})
				}
				s.Data["meldepflichtige"] = ps
			},
			[]problem{{"/data/meldepflichtige", transform.CodeTooLong}},
		},
		{
			"person without familienname", func(s *transform.Submission) { delete(person(s, 1), "familienname") },
			[]problem{{"/data/meldepflichtige/1/familienname", transform.CodeRequired}},
		},
		{
			"unknown members with escaped pointers", func(s *transform.Submission) {
				s.Data["a/b"] = "x"
				person(s, 0)["m~n"] = "y"
			},
			[]problem{{"/data/a~1b", transform.CodeUnknownField}, {"/data/meldepflichtige/0/m~0n", transform.CodeUnknownField}},
		},
		{
			"Go value outside the Submission contract", func(s *transform.Submission) { person(s, 0)["vorname"] = 42 },
			[]problem{{"/data/meldepflichtige/0/vorname", transform.CodeType}},
		},
		{
			"identity servicekonto incomplete", func(s *transform.Submission) {
				s.Identity = &transform.Identity{Method: transform.IdentityServicekonto}
			},
			[]problem{{"/identity/provider", transform.CodeRequired}, {"/identity/trust_level", transform.CodeRequired}},
		},
		{
			"identity eid without trust level", func(s *transform.Submission) { s.Identity = &transform.Identity{Method: transform.IdentityEID} },
			[]problem{{"/identity/trust_level", transform.CodeRequired}},
		},
		{
			"identity none with details", func(s *transform.Submission) { s.Identity.Method = transform.IdentityNone },
			[]problem{
				{"/identity/postbox_reference", transform.CodeInvalid},
				{"/identity/provider", transform.CodeInvalid},
				{"/identity/trust_level", transform.CodeInvalid},
			},
		},
		{
			"identity values", func(s *transform.Submission) {
				s.Identity = &transform.Identity{Provider: "Servicekonto.NRW", TrustLevel: "medium", PostboxReference: "mit Leerzeichen"}
			},
			[]problem{
				{"/identity/method", transform.CodeRequired},
				{"/identity/postbox_reference", transform.CodePattern},
				{"/identity/trust_level", transform.CodeEnum},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mappertest.ReadSubmission(t, examples["maximal"])
			tt.modify(&s)
			errs := m.Validate(s)
			mappertest.CheckProblems(t, errs, tt.want)
			for _, e := range errs {
				for _, secret := range []string{"Иван", "Müller2", "Divers", "keine Adresse", "medium", "umzug"} {
					if strings.Contains(e.Message, secret) || strings.Contains(e.MessageDE, secret) {
						t.Errorf("%s: message quotes the submitted value %q", e.Pointer, secret)
					}
				}
			}
		})
	}
}

// TestValidateDates: the plausibility rules of the dates, at their bounds,
// each reported at the date it blames with its legal basis. The example is
// received on 2026-11-28 (Berlin); its Einzug is 2026-11-15, confirmed on
// 2026-11-27.
func TestValidateDates(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	dates := func(einzug, bestaetigung string) func(s *transform.Submission) {
		return func(s *transform.Submission) {
			s.Data["einzugsdatum"], s.Data["bestaetigungsdatum"] = einzug, bestaetigung
		}
	}
	const einzug, bestaetigung = "/data/einzugsdatum", "/data/bestaetigungsdatum"
	tests := []struct {
		name   string
		modify func(s *transform.Submission)
		want   []problem
	}{
		{"confirmed on the day of receipt", dates("2026-11-20", "2026-11-28"), nil},
		{"confirmed after the day of receipt", dates("2026-11-20", "2026-11-29"), []problem{{bestaetigung, transform.CodeInvalid}}},
		{"received late on the 28th UTC, the 29th in Berlin", func(s *transform.Submission) {
			dates("2026-11-20", "2026-11-29")(s)
			s.ReceivedAt = time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC)
		}, nil},
		{"confirmed 3 months before the Einzug", dates("2027-02-27", "2026-11-27"), nil},
		{"confirmed 3 months and a day before", dates("2027-02-28", "2026-11-27"), []problem{{bestaetigung, transform.CodeInvalid}}},
		{"confirmed years before the Einzug", dates("2026-11-15", "2023-11-15"), []problem{{bestaetigung, transform.CodeInvalid}}},
		{"Einzug 3 months after the receipt", dates("2027-02-28", "2026-11-28"), nil},
		{"Einzug far in the future: blamed alone", dates("2027-03-01", "2026-11-28"), []problem{{einzug, transform.CodeInvalid}}},
		{"confirmed two years late: the duty persists", dates("2024-11-27", "2026-11-27"), nil},
		{"confirmed late, within 10 years", dates("2016-11-27", "2026-11-27"), nil},
		{"confirmed more than 10 years late", dates("2016-11-26", "2026-11-27"), []problem{{bestaetigung, transform.CodeInvalid}}},
		// Month ends: a bound in a shorter month is its last day (§ 188 Abs. 3 BGB).
		{"Einzug 31 May, confirmed 28 February: within 3 months", func(s *transform.Submission) {
			dates("2027-05-31", "2027-02-28")(s)
			s.ReceivedAt = time.Time{}
		}, nil},
		{"Einzug 31 May, confirmed 27 February", func(s *transform.Submission) {
			dates("2027-05-31", "2027-02-27")(s)
			s.ReceivedAt = time.Time{}
		}, []problem{{bestaetigung, transform.CodeInvalid}}},
		{"Einzug 31 May of a leap year, confirmed 29 February", func(s *transform.Submission) {
			dates("2028-05-31", "2028-02-29")(s)
			s.ReceivedAt = time.Time{}
		}, nil},
		{"Einzug 31 May of a leap year, confirmed 28 February", func(s *transform.Submission) {
			dates("2028-05-31", "2028-02-28")(s)
			s.ReceivedAt = time.Time{}
		}, []problem{{bestaetigung, transform.CodeInvalid}}},
		{"received 30 November, Einzug 28 February", func(s *transform.Submission) {
			dates("2027-02-28", "2026-11-30")(s)
			s.ReceivedAt = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
		}, nil},
		{"received 30 November, Einzug 1 March", func(s *transform.Submission) {
			dates("2027-03-01", "2026-11-30")(s)
			s.ReceivedAt = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
		}, []problem{{einzug, transform.CodeInvalid}}},
		{"Einzug 29 February, confirmed 10 years later on 28 February", func(s *transform.Submission) {
			dates("2028-02-29", "2038-02-28")(s)
			s.ReceivedAt = time.Time{}
		}, nil},
		{"Einzug 29 February, confirmed 10 years later on 1 March", func(s *transform.Submission) {
			dates("2028-02-29", "2038-03-01")(s)
			s.ReceivedAt = time.Time{}
		}, []problem{{bestaetigung, transform.CodeInvalid}}},
		{"Einzug before 1900", dates("1899-12-31", "2026-11-27"), []problem{{einzug, transform.CodeInvalid}}},
		{"confirmed before the BMG", dates("2015-11-15", "2015-10-31"), []problem{{bestaetigung, transform.CodeInvalid}}},
		{"confirmed on the day the BMG came into force", dates("2015-11-01", "2015-11-01"), nil},
		{"Auszug confirmed more than 10 years later", func(s *transform.Submission) {
			s.Data["art"], s.Data["auszugsdatum"] = "auszug", "2016-01-01"
			delete(s.Data, "einzugsdatum")
		}, []problem{{bestaetigung, transform.CodeInvalid}}},
		{"Auszug far in the future", func(s *transform.Submission) {
			s.Data["art"], s.Data["auszugsdatum"] = "auszug", "2027-06-01"
			delete(s.Data, "einzugsdatum")
		}, []problem{{"/data/auszugsdatum", transform.CodeInvalid}}},
		{"no receipt time: only the rules among the dates", func(s *transform.Submission) {
			dates("2030-01-05", "2030-01-01")(s)
			s.ReceivedAt = time.Time{}
		}, nil},
		{"invalid date: left to the format rule", dates("2026-02-30", "2026-11-27"), []problem{{einzug, transform.CodeFormat}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mappertest.ReadSubmission(t, examples["maximal"])
			tt.modify(&s)
			errs := m.Validate(s)
			mappertest.CheckProblems(t, errs, tt.want)
			for _, e := range errs {
				if e.Code != transform.CodeInvalid {
					continue
				}
				// A rule of the BMG names it; Amtsbote's own bounds say that
				// they are no statutory limit and cite no paragraph for it.
				basis, basisDE := "BMG", "BMG"
				switch {
				case strings.Contains(e.Message, "1900"):
					basis, basisDE = "1900", "1900"
				case strings.Contains(e.Message, "3 months"):
					basis, basisDE = "no statutory time limit; Amtsbote's plausibility bound", "keine gesetzliche Frist; Plausibilitätsgrenze von Amtsbote"
					if strings.Contains(e.Message, "§") || strings.Contains(e.MessageDE, "§") {
						t.Errorf("%s: a plausibility bound cites a law: %q / %q", e.Pointer, e.Message, e.MessageDE)
					}
				case strings.Contains(e.Message, "day of the submission"):
					basis, basisDE = "cannot be dated later", "nicht später datiert"
				case strings.Contains(e.Message, "10 years"):
					basis, basisDE = "Amtsbote's plausibility bound", "Plausibilitätsgrenze von Amtsbote"
					if !strings.Contains(e.Message, "§ 19 Abs. 1 BMG") {
						t.Errorf("%s: the late rule does not name the duty of § 19 Abs. 1 BMG: %q", e.Pointer, e.Message)
					}
				}
				// § 19 Abs. 1 BMG sets the two weeks of the duty to confirm, nothing else.
				if strings.Contains(e.Message, "§ 19 Abs. 1") != strings.Contains(e.Message, "10 years") {
					t.Errorf("%s: § 19 Abs. 1 BMG cited for another rule than the late confirmation: %q", e.Pointer, e.Message)
				}
				if !strings.Contains(e.Message, basis) || !strings.Contains(e.MessageDE, basisDE) || !strings.Contains(e.MessageDE, "unplausibel") {
					t.Errorf("%s: message without its rule's basis %q: %q / %q", e.Pointer, basis, e.Message, e.MessageDE)
				}
				if strings.Contains(e.Message, "202") || strings.Contains(e.MessageDE, "202") {
					t.Errorf("%s: message quotes a submitted date: %q", e.Pointer, e.Message)
				}
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	s := mappertest.ReadSubmission(t, examples["minimal"])
	s.Data["meldepflichtige"] = []any{map[string]any{"familienname": "Brandt3", "vorname": "Jo😀"}}
	s.Data["wohnung"].(map[string]any)["ort"] = "Ulm 😀"
	delete(s.Data, "einzugsdatum")
	got := newMapper(t).Validate(s)
	want := []transform.FieldError{
		{
			Pointer: "/data/einzugsdatum", Code: transform.CodeRequired,
			Message: `is required when art is "einzug"`, MessageDE: `ist erforderlich, wenn art "einzug" ist`,
		},
		{
			Pointer: "/data/meldepflichtige/0/familienname", Code: transform.CodeUnsupportedCharacter,
			Message:   "character U+0033 at position 7 is not permitted in names of natural persons (DIN SPEC 91379 datatype A)",
			MessageDE: "Zeichen U+0033 an Position 7 ist hier nicht zulässig (Namen natürlicher Personen, DIN SPEC 91379 Datentyp A)",
		},
		{
			// Outside datatype C too, but named by the datatype of the element.
			Pointer: "/data/meldepflichtige/0/vorname", Code: transform.CodeUnsupportedCharacter,
			Message:   "character U+1F600 at position 3 is not permitted in names of natural persons (DIN SPEC 91379 datatype A)",
			MessageDE: "Zeichen U+1F600 an Position 3 ist hier nicht zulässig (Namen natürlicher Personen, DIN SPEC 91379 Datentyp A)",
		},
		{
			Pointer: "/data/wohnung/ort", Code: transform.CodeUnsupportedCharacter,
			Message:   "character U+1F600 at position 5 is not permitted in this text (DIN SPEC 91379 datatype B)",
			MessageDE: "Zeichen U+1F600 an Position 5 ist hier nicht zulässig (DIN SPEC 91379 Datentyp B)",
		},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Validate:\n got %q\nwant %q", got, want)
	}
}

// TestRandomSubmissions: random valid submissions pass Validate and map to
// schema-valid messages; one broken value in them is reported exactly there.
func TestRandomSubmissions(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	xsd := schemaPath(t)
	r := rand.New(rand.NewPCG(19, 2026))
	const runs = 200
	type mutation struct {
		name   string
		apply  func(s *transform.Submission, i int) string // returns the pointer
		code   string
		person bool // the mutation addresses meldepflichtige Person i
	}
	mutations := []mutation{
		{"Cyrillic family name", func(s *transform.Submission, i int) string {
			personAt(s, i)["familienname"] = "Иванов"
			return fmt.Sprintf("/data/meldepflichtige/%d/familienname", i)
		}, transform.CodeUnsupportedCharacter, true},
		{"blank given name", func(s *transform.Submission, i int) string {
			personAt(s, i)["vorname"] = " "
			return fmt.Sprintf("/data/meldepflichtige/%d/vorname", i)
		}, transform.CodePattern, true},
		{"missing family name", func(s *transform.Submission, i int) string {
			delete(personAt(s, i), "familienname")
			return fmt.Sprintf("/data/meldepflichtige/%d/familienname", i)
		}, transform.CodeRequired, true},
		{"unknown member", func(s *transform.Submission, i int) string {
			personAt(s, i)["geburtsdatum"] = "2000-01-01"
			return fmt.Sprintf("/data/meldepflichtige/%d/geburtsdatum", i)
		}, transform.CodeUnknownField, true},
		{"Postleitzahl", func(s *transform.Submission, _ int) string {
			s.Data["wohnung"].(map[string]any)["postleitzahl"] = "D-123"
			return "/data/wohnung/postleitzahl"
		}, transform.CodePattern, false},
		{"control character in the Wohnungsgeber's Ort", func(s *transform.Submission, _ int) string {
			s.Applicant["anschrift"].(map[string]any)["ort"] = "Ulm\u0007"
			return "/applicant/anschrift/ort"
		}, transform.CodeControlCharacter, false},
		{"confirmation eleven years after the move", func(s *transform.Submission, _ int) string {
			member := "einzugsdatum"
			if s.Data["art"] == "auszug" {
				member = "auszugsdatum"
			}
			b, _ := time.Parse(time.DateOnly, s.Data["bestaetigungsdatum"].(string))
			s.Data[member] = b.AddDate(-11, 0, 0).Format(time.DateOnly)
			return "/data/bestaetigungsdatum"
		}, transform.CodeInvalid, false},
		{"Zuordnungsmerkmal with a space", func(s *transform.Submission, _ int) string {
			s.Data["zuordnungsmerkmal"] = "WGB 2026"
			return "/data/zuordnungsmerkmal"
		}, transform.CodePattern, false},
		{"owner rule", func(s *transform.Submission, _ int) string {
			if s.Data["wohnungsgeberIstEigentuemer"] == true {
				s.Data["eigentuemer"] = xmeldtest.Party(r)
				return "/data/eigentuemer"
			}
			delete(s.Data, "eigentuemer")
			return "/data/eigentuemer"
		}, "", false},
	}
	for i := range runs {
		s := xmeldtest.Random(r)
		body, _ := json.Marshal(map[string]any{"applicant": s.Applicant, "data": s.Data})
		if errs := m.Validate(s); errs != nil {
			t.Fatalf("random submission %d: Validate = %q\n%s", i, errs, body)
		}
		doc, err := m.Map(fullInput(s))
		if err != nil {
			t.Fatalf("random submission %d: Map: %v\n%s", i, err, body)
		}
		xoevtest.Validate(t, xsd, doc.XML)

		mut := mutations[i%len(mutations)]
		idx := r.IntN(len(s.Data["meldepflichtige"].([]any)))
		ptr := mut.apply(&s, idx)
		code := mut.code
		if code == "" {
			code = transform.CodeRequired
			if s.Data["wohnungsgeberIstEigentuemer"] == true {
				code = transform.CodeInvalid
			}
		}
		want := []problem{{ptr, code}}
		if got := mappertest.Problems[problem](m.Validate(s)); !slices.Equal(got, want) {
			t.Errorf("random submission %d with %s: problems %q, want %q", i, mut.name, got, want)
		}
	}
}

// TestExtremes: the payloads of xmeldtest.Extremes (every member at its
// maximum length, only the required ones, every enumerated value, the dates
// on the bounds of their rules) pass Validate and map to schema-valid
// messages.
func TestExtremes(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	xsd := schemaPath(t)
	for _, e := range xmeldtest.Extremes() {
		t.Run(e.Name, func(t *testing.T) {
			if errs := m.Validate(e.Submission); errs != nil {
				t.Fatalf("Validate = %q", errs)
			}
			doc, err := m.Map(fullInput(e.Submission))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			xoevtest.Validate(t, xsd, doc.XML)
		})
	}
}

func personAt(s *transform.Submission, i int) map[string]any {
	return s.Data["meldepflichtige"].([]any)[i].(map[string]any)
}
