package xgewerbe_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xgewerbe"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// alphabet is the repertoire of random text: Latin letters with and without
// diacritics (also decomposed), XML metacharacters, punctuation and spaces.
var alphabet = []string{
	"a", "Z", "ß", "ä", "Ö", "é", "e\u0301", "ł", "Ø", "ç", "İ", "ŉ", "0", "9",
	" ", "-", ".", ",", "'", "&", "<", ">", "\"", "§", "€", "/", "(", ")",
}

// freeText is alphabet with tab and line breaks, which free text may contain
// and names may not.
var freeText = append(slices.Clip(alphabet), "\t", "\n", "\r\n")

// randomText returns 1 to n characters (code points) of alphabet, a name.
func randomText(r *rand.Rand, n int) string { return randomOf(r, alphabet, n) }

// randomFreeText returns 1 to n characters (code points) of freeText.
func randomFreeText(r *rand.Rand, n int) string { return randomOf(r, freeText, n) }

func randomOf(r *rand.Rand, alphabet []string, n int) string {
	want := 1 + r.IntN(n)
	var b strings.Builder
	for runes := 0; runes < want; {
		c := alphabet[r.IntN(len(alphabet))]
		if runes+utf8.RuneCountInString(c) > want {
			continue
		}
		runes += utf8.RuneCountInString(c)
		b.WriteString(c)
	}
	return b.String()
}

func randomDigits(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

func randomDate(r *rand.Rand) string {
	return time.Date(1900+r.IntN(200), time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(366)).Format(time.DateOnly)
}

func maybe(r *rand.Rand, m map[string]any, key string, value func() any) {
	if r.IntN(2) == 0 {
		m[key] = value()
	}
}

func randomAnschrift(r *rand.Rand, inland bool) map[string]any {
	a := map[string]any{
		"strasse":    randomText(r, 120),
		"hausnummer": randomText(r, 20),
		"ort":        randomText(r, 80),
	}
	if inland {
		a["postleitzahl"] = randomDigits(r, 5)
	} else {
		a["postleitzahl"] = randomText(r, 10)
		maybe(r, a, "staat", func() any { return randomDigits(r, 3) })
	}
	return a
}

func randomPerson(r *rand.Rand, natural bool) map[string]any {
	p := map[string]any{"vorname": randomText(r, 80), "familienname": randomText(r, 120)}
	if natural {
		p["art"] = "natuerlichePerson"
		p["geburtsdatum"] = randomDate(r)
		p["anschrift"] = randomAnschrift(r, false)
	} else {
		maybe(r, p, "geburtsdatum", func() any { return randomDate(r) })
		maybe(r, p, "anschrift", func() any { return randomAnschrift(r, false) })
	}
	maybe(r, p, "geburtsname", func() any { return randomText(r, 120) })
	maybe(r, p, "geburtsort", func() any { return randomText(r, 80) })
	maybe(r, p, "geburtsland", func() any { return randomText(r, 80) })
	maybe(r, p, "staatsangehoerigkeit", func() any { return randomDigits(r, 3) })
	maybe(r, p, "telefon", func() any { return "+" + randomDigits(r, 3+r.IntN(17)) })
	maybe(r, p, "email", func() any { return fmt.Sprintf("p%d@example.org", r.IntN(1000)) })
	return p
}

// randomSubmission returns a random valid submission.
func randomSubmission(r *rand.Rand) transform.Submission {
	var applicant map[string]any
	if r.IntN(2) == 0 {
		applicant = randomPerson(r, true)
	} else {
		applicant = map[string]any{"art": "organisation", "name": randomText(r, 250), "rechtsform": randomDigits(r, 3)}
		maybe(r, applicant, "registereintrag", func() any {
			return map[string]any{"register": []string{"HRA", "HRB"}[r.IntN(2)], "nummer": randomText(r, 20), "ort": randomText(r, 80)}
		})
		var vertreter []any
		for range 1 + r.IntN(4) {
			vertreter = append(vertreter, randomPerson(r, false))
		}
		applicant["vertreter"] = vertreter
	}
	gruende := []string{"neuerrichtung", "neuerrichtungUmwandlung", "wiedereroeffnungNachVerlegung", "gewerbewechsel",
		"zuzug", "uebernahme", "uebernahmeRechtsformwechsel", "uebernahmeGesellschaftereintritt", "uebernahmeUmwandlung"}
	taetigkeit := map[string]any{"beschreibung": randomFreeText(r, 1000)}
	maybe(r, taetigkeit, "wirtschaftszweig", func() any { return randomDigits(r, 5) })
	maybe(r, taetigkeit, "weitereTaetigkeiten", func() any { return randomFreeText(r, 1000) })
	data := map[string]any{
		"anmeldegrund":    gruende[r.IntN(len(gruende))],
		"beginn":          randomDate(r),
		"betriebsstaette": randomAnschrift(r, true),
		"taetigkeit":      taetigkeit,
	}
	maybe(r, data, "nebenerwerb", func() any { return r.IntN(2) == 0 })
	maybe(r, data, "beschaeftigteVollzeit", func() any { return json.Number(fmt.Sprint(r.IntN(1000000))) })
	maybe(r, data, "beschaeftigteTeilzeit", func() any { return json.Number(fmt.Sprint(r.IntN(100))) })
	s := transform.Submission{
		ID:         fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), r.Uint64()&0xffffffffffff),
		Tenant:     "musterstadt",
		Procedure:  xgewerbe.Procedure,
		Applicant:  applicant,
		Data:       data,
		ReceivedAt: time.Unix(1_700_000_000+r.Int64N(400_000_000), 0),
	}
	if r.IntN(2) == 0 {
		s.Identity = &transform.Identity{Method: "servicekonto", Provider: "BundID", TrustLevel: "substantial"}
	} else if r.IntN(2) == 0 {
		s.Identity = &transform.Identity{Method: "none"}
	}
	return s
}

// TestMapRandomValid maps 20 random valid payloads: each must pass Validate,
// map without error, validate against Schema, use only element paths of the
// example instance, and keep its activity text (in NFC).
func TestMapRandomValid(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	xsd := schemaPath(t)
	example, err := os.ReadFile(filepath.Join(xoevtest.SchemaDir(t), "xgewerbeanzeige-2.2", "xgwa2.2-valid.xml"))
	if err != nil {
		t.Fatal(err)
	}
	known := elementPaths(t, example)
	r := rand.New(rand.NewPCG(2026, 1128))
	for i := range 20 {
		s := randomSubmission(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if errs := m.Validate(s); errs != nil {
				t.Fatalf("Validate: %+v", errs)
			}
			in := fullInput(s)
			doc, err := m.Map(in)
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			xoevtest.Validate(t, xsd, doc.XML)
			for p := range elementPaths(t, doc.XML) {
				if !known[p] {
					t.Errorf("element path %s does not occur in the example", p)
				}
			}
			parsed := etree.NewDocument()
			if err := parsed.ReadFromBytes(doc.XML); err != nil {
				t.Fatal(err)
			}
			want := transform.NormalizeText(s.Data["taetigkeit"].(map[string]any)["beschreibung"].(string))
			e := parsed.FindElement("//taetigkeitSchwerpunkt")
			if e == nil || e.Text() != want {
				t.Errorf("taetigkeitSchwerpunkt does not round-trip: want %q", want)
			}
		})
	}
}

// FuzzAnmeldung feeds request bodies to Validate and Map and checks what
// every mapper promises of any submission (mappertest.Suite.Check): neither
// panics; a body that passes Validate maps to well-formed XML, one that does
// not is refused by Map with a *transform.ValidationError whose pointers are
// RFC 6901 pointers into the body.
func FuzzAnmeldung(f *testing.F) {
	for _, name := range examples {
		raw, err := os.ReadFile(examplePath(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"tenant":"t","procedure":"gewerbe.anmeldung","applicant":{"art":"organisation"},"data":{}}`))
	f.Add([]byte(`{"applicant":{"art":"natuerlichePerson","vorname":"\u0000"},"data":{"beschaeftigteVollzeit":1e400}}`))
	check := suite(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := mappertest.DecodeSubmission(raw, true)
		if err != nil {
			return
		}
		s.ID = "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"
		s.ReceivedAt = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		check.Check(t, fullInput(s))
	})
}
