package xbau_test

import (
	"encoding/json"
	"fmt"
	"maps"
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
	"github.com/amtsbote/amtsbote/transform/xbau/xbautest"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// TestPropertyRandomPayloads maps 250 random valid payloads and validates
// every output against the official XSD (in one run of xmllint); then breaks
// each payload in one random place and expects exactly that problem. The
// payloads use every value of every code list Validate checks.
func TestPropertyRandomPayloads(t *testing.T) {
	t.Parallel()
	const runs = 250
	m := newMapper(t)
	schema := xoevtest.Schema(t, xsd)
	r := rand.New(rand.NewPCG(2026, 1128))
	g := xbautest.New(r)
	docs := make([][]byte, runs)
	t.Run("payloads", func(t *testing.T) {
		for i := range runs {
			s := g.Submission()
			// Mutations are drawn before the subtest runs, so that the sequence
			// of random numbers does not depend on scheduling.
			mut := mutations[r.IntN(len(mutations))]
			k := r.IntN(len(s.Data["baugrundstueck"].(map[string]any)["flurstuecke"].([]any)))
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
	for name, values := range g.Unused() {
		t.Errorf("code list %s: %d of %d values unused (%v); raise the runs or the odds", name, len(values), len(xbau.CodeLists[name]), values)
	}
	validateAll(t, schema, docs)
}

// TestExtremes maps the payloads of xbautest.Extremes (every text at its
// maximum length and every list at its maximum count, only the required
// members, every value of every code list) and validates them against the
// official XSD.
func TestExtremes(t *testing.T) {
	t.Parallel()
	m := newMapper(t)
	schema := xoevtest.Schema(t, xsd)
	var docs [][]byte
	used := map[string]map[string]bool{}
	for _, e := range xbautest.Extremes() {
		if errs := m.Validate(e.Submission); errs != nil {
			t.Errorf("%s: Validate: %+v", e.Name, errs)
			continue
		}
		doc, err := m.Map(fullInput(e.Submission))
		if err != nil {
			t.Errorf("%s: Map: %v", e.Name, err)
			continue
		}
		docs = append(docs, doc.XML)
		collectCodes(e.Submission.Data, used)
	}
	for name, values := range xbau.CodeLists {
		for _, v := range values {
			if !used[name][v] {
				t.Errorf("code list %s: value %s in no extreme payload", name, v)
			}
		}
	}
	validateAll(t, schema, docs)
}

// collectCodes records the codes of data by code list.
func collectCodes(data map[string]any, used map[string]map[string]bool) {
	use := func(list string, v any) {
		if s, ok := v.(string); ok {
			if used[list] == nil {
				used[list] = map[string]bool{}
			}
			used[list][s] = true
		}
	}
	obj := func(m map[string]any, key string) map[string]any { o, _ := m[key].(map[string]any); return o }
	arr := func(m map[string]any, key string) []any { a, _ := m[key].([]any); return a }
	use("bauherrodereigentuemerart", data["artDesBauherrn"])
	b := obj(data, "bauvorlageberechtigung")
	use("bauvorlageberechtigungsachverhalt", b["grundlage"])
	use("kammer", b["kammer"])
	bv := obj(data, "bauvorhaben")
	for _, a := range arr(bv, "artDerMassnahme") {
		use("baumassnahmeart", a)
	}
	nae := obj(bv, "nutzungsaenderung")
	for _, a := range []map[string]any{obj(bv, "artDerBaulichenAnlage"), obj(nae, "bisherigeNutzung"), obj(nae, "beabsichtigteNutzung")} {
		use("wohngebaeudeart", a["wohngebaeudeArt"])
		use("nichtwohngebaeudeart", a["nichtwohngebaeudeArt"])
	}
	k := obj(bv, "klassifikation")
	use("gebaeudeklasse", k["gebaeudeklasse"])
	use("mbogaragentyp", k["garage"])
	for _, a := range arr(data, "anlagen") {
		if a, ok := a.(map[string]any); ok {
			use("anlagen", a["anlageart"])
		}
	}
}

// TestGeneratorCodeLists checks that the code lists of xbautest, generated
// from the data files, are those Validate checks.
func TestGeneratorCodeLists(t *testing.T) {
	t.Parallel()
	if !maps.EqualFunc(xbautest.CodeLists, xbau.CodeLists, slices.Equal) {
		t.Errorf("xbautest.CodeLists differ from the code lists of xbau: run go generate ./transform/xbau/xbautest")
	}
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
	{"Gebäudeklasse below the height's", func(s *transform.Submission, _ int) problem {
		bv := s.Data["bauvorhaben"].(map[string]any)
		bv["anzahlGebaeude"] = json.Number("1")
		delete(bv, "gebaeude")
		bv["klassifikation"] = map[string]any{"gebaeudeklasse": "4", "hoeheNachMBO": json.Number("13.25"), "istFreistehend": false}
		return problem{"/data/bauvorhaben/klassifikation/gebaeudeklasse", transform.CodeInvalid}
	}},
	{"Nutzungsänderung without Nutzungen", func(s *transform.Submission, _ int) problem {
		bv := s.Data["bauvorhaben"].(map[string]any)
		bv["artDerMassnahme"] = []any{"14"}
		if bv["anzahlGebaeude"] == json.Number("0") {
			bv["anzahlGebaeude"] = json.Number("1")
			delete(bv, "gebaeude")
		}
		delete(bv, "nutzungsaenderung")
		return problem{"/data/bauvorhaben/nutzungsaenderung", transform.CodeRequired}
	}},
	{"more Gebäude named than counted", func(s *transform.Submission, _ int) problem {
		bv := s.Data["bauvorhaben"].(map[string]any)
		bv["anzahlGebaeude"] = json.Number("3")
		bv["gebaeude"] = []any{map[string]any{"bezeichnung": "Haus A"}}
		bv["artDerMassnahme"] = []any{"10"} // not a Nutzungsänderung, which of buildings needs its Nutzungen
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
