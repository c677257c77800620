package xmeld_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xmeld"
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

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	s := mappertest.ReadSubmission(t, examples["minimal"])
	s.Data["meldepflichtige"] = []any{map[string]any{"familienname": "Brandt3"}}
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
	}
	if !slices.Equal(got, want) {
		t.Errorf("Validate:\n got %q\nwant %q", got, want)
	}
}

// Name parts for random names: Latin letters of several languages.
var nameParts = []string{
	"Mü", "ller", "Schä", "fer", "Łó", "dź", "Wiś", "niew", "ska", "Dvo", "řák", "Ște", "fă", "nes", "cu",
	"Nguyễn", "Trần", "Ø", "ster", "Å", "kes", "son", "Gar", "cía", "Çe", "lik", "Grö", "ß", "mann", "Žu", "pan",
	"O’", "Brien", "d’", "Ar", "cy", "Ÿ", "ves", "Ðor", "đe", "Ħal", "Ľu", "bo", "Ŕ", "Ő", "rs", "Ș", "ẞ",
}

func randomName(r *rand.Rand) string {
	var b strings.Builder
	for i := range 1 + r.IntN(3) {
		if i > 0 {
			b.WriteString([]string{"-", " ", ""}[r.IntN(3)])
		}
		for range 1 + r.IntN(3) {
			b.WriteString(nameParts[r.IntN(len(nameParts))])
		}
	}
	return b.String()
}

func randomAnschrift(r *rand.Rand) map[string]any {
	a := map[string]any{
		"strasse":      randomName(r) + []string{"straße", "weg", " Allee", "platz"}[r.IntN(4)],
		"postleitzahl": fmt.Sprintf("%05d", r.IntN(100000)),
		"ort":          randomName(r),
	}
	if r.IntN(4) > 0 {
		a["hausnummer"] = strconv.Itoa(1+r.IntN(300)) + []string{"", "a", " b", "-5"}[r.IntN(4)]
	}
	if r.IntN(3) == 0 {
		a["adresszusatz"] = strconv.Itoa(r.IntN(8)) + ". OG, " + randomName(r)
	}
	return a
}

func randomDate(r *rand.Rand) string {
	return fmt.Sprintf("%04d-%02d-%02d", 2020+r.IntN(10), 1+r.IntN(12), 1+r.IntN(28))
}

// randomParty is a natural person or an organisation with Anschrift.
func randomParty(r *rand.Rand) map[string]any {
	p := map[string]any{"anschrift": randomAnschrift(r)}
	if r.IntN(3) == 0 {
		p["name"] = randomName(r) + " " + []string{"GmbH", "eG", "KG", "AöR", "GmbH & Co. KG"}[r.IntN(5)]
		if r.IntN(2) == 0 {
			p["art"] = "juristischePerson"
		}
		if r.IntN(2) == 0 {
			p["ansprechpartner"] = map[string]any{"vorname": randomName(r), "familienname": randomName(r)}
		}
	} else {
		p["familienname"] = randomName(r)
		if r.IntN(5) > 0 {
			p["vorname"] = randomName(r)
		}
		if r.IntN(2) == 0 {
			p["art"] = "natuerlichePerson"
		}
		if r.IntN(3) == 0 {
			p["anrede"] = []string{"Herr", "Frau"}[r.IntN(2)]
		}
		if r.IntN(4) == 0 {
			p["doktorgrad"] = []string{"Dr.", "Prof. Dr.", "Dr. med. dent.", "Dr.-Ing."}[r.IntN(4)]
		}
	}
	if r.IntN(2) == 0 {
		p["telefon"] = fmt.Sprintf("+49 %d %d", 30+r.IntN(9000), 1000+r.IntN(9000000))
	}
	if r.IntN(2) == 0 {
		p["email"] = fmt.Sprintf("kontakt%d@example.org", r.IntN(1000))
	}
	return p
}

// randomSubmission returns a valid submission with 1 to 8 meldepflichtige Personen.
func randomSubmission(r *rand.Rand) transform.Submission {
	s := transform.Submission{
		ID: "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b", Tenant: "musterstadt", Procedure: xmeld.Procedure,
		ReceivedAt: time.Date(2026, 11, 28, 9, 59, 58, 0, time.UTC),
		Applicant:  randomParty(r),
	}
	d := map[string]any{
		"wohnung":            randomAnschrift(r),
		"bestaetigungsdatum": randomDate(r),
	}
	if r.IntN(2) == 0 {
		d["art"], d["einzugsdatum"] = "einzug", randomDate(r)
	} else {
		d["art"], d["auszugsdatum"] = "auszug", randomDate(r)
	}
	owner := r.IntN(2) == 0
	d["wohnungsgeberIstEigentuemer"] = owner
	if !owner {
		d["eigentuemer"] = randomParty(r)
	}
	var persons []any
	for range 1 + r.IntN(8) {
		p := map[string]any{"familienname": randomName(r)}
		if r.IntN(6) > 0 {
			p["vorname"] = randomName(r)
		}
		if r.IntN(4) == 0 {
			p["geburtsname"] = randomName(r)
		}
		if r.IntN(8) == 0 {
			p["doktorgrad"] = "Dr."
		}
		persons = append(persons, p)
	}
	d["meldepflichtige"] = persons
	s.Data = d
	switch r.IntN(4) {
	case 1:
		s.Identity = &transform.Identity{Method: transform.IdentityNone}
	case 2:
		s.Identity = &transform.Identity{Method: transform.IdentityEID, TrustLevel: transform.TrustHigh}
	case 3:
		s.Identity = &transform.Identity{
			Method: transform.IdentityServicekonto, Provider: []string{"BundID", "Servicekonto.NRW", "Mein Unternehmenskonto"}[r.IntN(3)],
			TrustLevel: []string{transform.TrustBasic, transform.TrustSubstantial, transform.TrustHigh}[r.IntN(3)],
		}
		if r.IntN(2) == 0 {
			s.Identity.PostboxReference = fmt.Sprintf("postfach:%08x", r.Uint32())
		}
	}
	return s
}

// TestRandomSubmissions: random valid submissions pass Validate and map to
// schema-valid messages; one broken value in them is reported exactly there.
func TestRandomSubmissions(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	xsd := schemaPath(t)
	r := rand.New(rand.NewPCG(19, 2026))
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
		{"owner rule", func(s *transform.Submission, _ int) string {
			if s.Data["wohnungsgeberIstEigentuemer"] == true {
				s.Data["eigentuemer"] = randomParty(r)
				return "/data/eigentuemer"
			}
			delete(s.Data, "eigentuemer")
			return "/data/eigentuemer"
		}, "", false},
	}
	for i := range 20 {
		s := randomSubmission(r)
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

func personAt(s *transform.Submission, i int) map[string]any {
	return s.Data["meldepflichtige"].([]any)[i].(map[string]any)
}
