package transform

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestInlineDefinitions: a reference that stands alone (beside annotations)
// becomes its definition, recursively; a recursive one, one beside another
// assertion and one to a name that needs escaping stay references; the
// definitions stay in place.
func TestInlineDefinitions(t *testing.T) {
	t.Parallel()
	doc := unmarshalSchema(t, `{
	  "$id": "urn:test", "type": "object",
	  "properties": {
	    "a": {"description": "a name", "$ref": "#/$defs/name"},
	    "b": {"$ref": "#/$defs/name", "maxLength": 3},
	    "c": {"oneOf": [{"$ref": "#/$defs/person"}, {"$ref": "#/definitions/old"}]},
	    "d": {"$ref": "#/$defs/tree"},
	    "e": {"$ref": "#/$defs/a~1b"},
	    "f": {"type": "array", "items": {"$ref": "#/$defs/name"}, "enum": [{"$ref": "#/$defs/name"}]}
	  },
	  "$defs": {
	    "name": {"type": "string", "minLength": 1},
	    "person": {"type": "object", "properties": {"vorname": {"$ref": "#/$defs/name"}}},
	    "tree": {"type": "object", "properties": {"kinder": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}},
	    "a/b": {"type": "string"}
	  },
	  "definitions": {"old": {"type": "null"}}
	}`)
	got := inlineDefinitions(doc)
	want := unmarshalSchema(t, `{
	  "$id": "urn:test", "type": "object",
	  "properties": {
	    "a": {"type": "string", "minLength": 1},
	    "b": {"$ref": "#/$defs/name", "maxLength": 3},
	    "c": {"oneOf": [{"type": "object", "properties": {"vorname": {"type": "string", "minLength": 1}}}, {"type": "null"}]},
	    "d": {"type": "object", "properties": {"kinder": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}},
	    "e": {"$ref": "#/$defs/a~1b"},
	    "f": {"type": "array", "items": {"type": "string", "minLength": 1}, "enum": [{"$ref": "#/$defs/name"}]}
	  },
	  "$defs": {
	    "name": {"type": "string", "minLength": 1},
	    "person": {"type": "object", "properties": {"vorname": {"$ref": "#/$defs/name"}}},
	    "tree": {"type": "object", "properties": {"kinder": {"type": "array", "items": {"$ref": "#/$defs/tree"}}}},
	    "a/b": {"type": "string"}
	  },
	  "definitions": {"old": {"type": "null"}}
	}`)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("inlined:\n%s", g)
	}

	// Identifiers and anchors below the root, and dynamic references, tie
	// schemas to their place: such documents stay as they are.
	for _, s := range []string{
		`{"properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"$anchor": "x", "type": "string"}}}`,
		`{"properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"$id": "urn:x", "type": "string"}}}`,
		`{"properties": {"a": {"$ref": "#/$defs/x"}, "b": {"$dynamicRef": "#/$defs/x"}}, "$defs": {"x": {"type": "string"}}}`,
		`{"$schema": "http://json-schema.org/draft-04/schema#", "properties": {"a": {"$ref": "#/definitions/x"}}, "definitions": {"x": {"id": "x", "type": "string"}}}`,
	} {
		doc := unmarshalSchema(t, s)
		if got := inlineDefinitions(doc); !reflect.DeepEqual(got, unmarshalSchema(t, s)) {
			t.Errorf("%s changed", s)
		}
	}
}

// TestPayloadSchemaInlined: the compiled schemas of the procedures visit a
// value once, without the node of the reference around it.
func TestPayloadSchemaInlined(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("xmeld", "wohnungsgeberbestaetigung.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := CompilePayloadSchema("xmeld.schema.json", data)
	if err != nil {
		t.Fatal(err)
	}
	applicant := ps.schema.Properties["applicant"]
	if applicant.Ref != nil || len(applicant.OneOf) != 2 || applicant.OneOf[0].Ref != nil {
		t.Fatalf("applicant is validated through references: %+v", applicant)
	}
	strasse := applicant.OneOf[0].Properties["anschrift"].Properties["strasse"]
	if strasse.Ref != nil || strasse.MaxLength == nil || *strasse.MaxLength != 100 {
		t.Fatalf("strasse is validated through a reference: %+v", strasse)
	}
}

// TestPayloadSchemaInlinedAgrees validates the payloads of the examples,
// and mutations of them, with every payload schema of the repository
// compiled as written and with its definitions inlined: the violations must
// be the same, in the same order, with the same messages.
func TestPayloadSchemaInlinedAgrees(t *testing.T) {
	t.Parallel()
	schemas := payloadSchemaPairs(t)
	payloads := examplePayloads(t)
	r := rand.New(rand.NewPCG(20, 1))
	perSchema := 3000
	if testing.Short() {
		perSchema = 300
	}
	for _, s := range schemas {
		t.Run(s.name, func(t *testing.T) {
			var own []map[string]any
			for _, p := range payloads {
				if s.compare(t, p) == 0 {
					own = append(own, p)
				}
			}
			if len(own) == 0 {
				t.Fatalf("no example is valid under %s", s.name)
			}
			var mutants []map[string]any
			for _, p := range own {
				mutants = append(mutants, mutations(p)...)
			}
			r.Shuffle(len(mutants), func(i, j int) { mutants[i], mutants[j] = mutants[j], mutants[i] })
			invalid := 0
			for _, m := range mutants[:min(perSchema, len(mutants))] {
				if s.compare(t, m) > 0 {
					invalid++
				}
			}
			if invalid == 0 {
				t.Fatal("no mutation was invalid: the comparison compared nothing")
			}
		})
	}
}

// FuzzPayloadSchemaInlined is TestPayloadSchemaInlinedAgrees on any JSON
// object.
func FuzzPayloadSchemaInlined(f *testing.F) {
	for _, p := range examplePayloads(f) {
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	schemas := payloadSchemaPairs(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var p map[string]any
		if d.Decode(&p) != nil || p == nil {
			return
		}
		for _, s := range schemas {
			s.compare(t, p)
		}
	})
}

// schemaPair is one payload schema compiled as written and inlined.
type schemaPair struct {
	name            string
	written, inline *PayloadSchema
}

// compare validates p with both and fails t where they differ; it returns
// the number of violations.
func (s schemaPair) compare(t testing.TB, p map[string]any) int {
	t.Helper()
	want, got := s.written.Validate(p), s.inline.Validate(p)
	if !reflect.DeepEqual(got, want) {
		b, _ := json.Marshal(p)
		t.Fatalf("%s: payload %s:\ninlined %+v\nwritten %+v", s.name, b, got, want)
	}
	return len(got)
}

// payloadSchemaPairs compiles every payload schema of the repository both
// ways; each with references must have had some to inline.
func payloadSchemaPairs(t testing.TB) []schemaPair {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*/*.schema.json", "*/procedure/schema.json", "declarative/testdata/*/schema.json",
		"../testdata/procedures/*/schema.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 6 {
		t.Fatalf("found only the payload schemas %v", files)
	}
	var out []schemaPair
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inline, err := CompilePayloadSchema(f, data)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(`"$ref"`)) && reflect.DeepEqual(inlineDefinitions(doc), doc) {
			t.Fatalf("%s: nothing inlined", f)
		}
		written, err := compileSchema("urn:amtsbote:schema:"+f, doc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, schemaPair{name: f, written: &PayloadSchema{schema: written}, inline: inline})
	}
	return out
}

// examplePayloads are the payloads of the example requests and answers of
// the repository: the members applicant, data and identity of a request
// (as Submission.Payload), or the whole object otherwise.
func examplePayloads(t testing.TB) []map[string]any {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../testdata/submissions/*.json", "../testdata/answers/*.json", "*/procedure/examples/*.json",
		"declarative/testdata/*/examples/*.json", "../testdata/procedures/*/examples/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var out []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var req map[string]any
		if err := d.Decode(&req); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		p := req
		if _, ok := req["data"]; ok {
			p = map[string]any{}
			for _, k := range []string{"applicant", "data", "identity"} {
				if v, ok := req[k]; ok {
					p[k] = v
				}
			}
		}
		out = append(out, p)
	}
	if len(out) < 20 {
		t.Fatalf("found only %d example payloads", len(out))
	}
	return out
}

// mutationValues replace a value in mutations: every JSON type, strings at
// and beyond the usual limits and formats, numbers beyond math/big.
var mutationValues = []any{
	"", " ", "x", "einzug", strings.Repeat("ä", 121), strings.Repeat("x", 1001), "2026-02-30", "2026-12-01", "a@b", "Иван", "x\ty",
	json.Number("0"), json.Number("-1.5"), json.Number("1e400"), json.Number("1e100000000000"), true, false, nil,
	map[string]any{}, []any{}, []any{"x"}, []any{map[string]any{}},
}

// mutations returns copies of p with one change each: a member or element
// removed, a value replaced by each of mutationValues, an unknown member
// added to an object.
func mutations(p map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(v any, set func(any) map[string]any)
	walk = func(v any, set func(any) map[string]any) {
		for _, r := range mutationValues {
			out = append(out, set(r))
		}
		switch v := v.(type) {
		case map[string]any:
			with := func(k string, e any, del bool) any {
				c := make(map[string]any, len(v)+1)
				for kk, ee := range v {
					c[kk] = ee
				}
				if del {
					delete(c, k)
				} else {
					c[k] = e
				}
				return c
			}
			out = append(out, set(with("unbekannt", "x", false)))
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				out = append(out, set(with(k, nil, true)))
				walk(v[k], func(e any) map[string]any { return set(with(k, e, false)) })
			}
		case []any:
			for i := range v {
				out = append(out, set(slices.Delete(slices.Clone(v), i, i+1)))
				walk(v[i], func(e any) map[string]any {
					c := slices.Clone(v)
					c[i] = e
					return set(c)
				})
			}
			out = append(out, set(append(slices.Clone(v), v...)))
		}
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		walk(p[k], func(e any) map[string]any {
			c := make(map[string]any, len(p))
			for kk, ee := range p {
				c[kk] = ee
			}
			c[k] = e
			return c
		})
	}
	return out
}

func unmarshalSchema(t *testing.T, s string) any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
