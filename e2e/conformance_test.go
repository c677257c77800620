package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beevik/etree"
	"go.yaml.in/yaml/v3"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
	"github.com/amtsbote/amtsbote/transform/xbau"
	"github.com/amtsbote/amtsbote/transform/xdomea"
	"github.com/amtsbote/amtsbote/transform/xgewerbe"
	"github.com/amtsbote/amtsbote/transform/xgewerbe/xgewerbetest"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// randomPerProcedure is how many random payloads of each procedure the
// conformance test submits.
const randomPerProcedure = 200

// conformanceProcedure is what the conformance test knows of a procedure:
// the mapper's Validate, its payload schema, and its property generator,
// where its mapper package exposes one in a test-support package.
type conformanceProcedure struct {
	mapper    transform.Mapper
	schema    []byte
	generator func(*rand.Rand) transform.Submission
	extremes  func() []xgewerbetest.Extreme
}

func conformanceProcedures(t *testing.T) map[string]conformanceProcedure {
	t.Helper()
	bau, err := xbau.New()
	if err != nil {
		t.Fatal(err)
	}
	meld, err := xmeld.New()
	if err != nil {
		t.Fatal(err)
	}
	gew, err := xgewerbe.New()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]conformanceProcedure{
		"bau.baugenehmigung":                   {mapper: bau, schema: xbau.PayloadSchema},
		"meldewesen.wohnungsgeberbestaetigung": {mapper: meld, schema: xmeld.PayloadJSONSchema},
		xgewerbe.Procedure: {mapper: gew, schema: xgewerbe.PayloadSchema,
			generator: xgewerbetest.Random, extremes: xgewerbetest.Extremes},
	}
}

// deliveredSchemas maps the namespace of a delivered document's root
// element to the XSD it must be valid against: the official XBau and xdomea
// schemas below AMTSBOTE_XOEV_SCHEMAS, Amtsbote's own XSDs where they stand
// in the module (their imports of the XÖV library resolved there).
func deliveredSchemas(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		xbau.Namespace:     xoevtest.Schema(t, "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd"),
		xdomea.Namespace:   xoevtest.Schema(t, "xdomea-3.0.0/schemes/xdomea_3.0.0/xdomea.xsd"),
		xmeld.Namespace:    xoevtest.InPlace(t, "transform/xmeld/wohnungsgeberbestaetigung.xsd"),
		xgewerbe.Namespace: xoevtest.InPlace(t, "transform/xgewerbe/gewerbemeldung.xsd"),
		envelope.Namespace: xoevtest.InPlace(t, "transform/envelope/envelope.xsd"),
	}
}

// TestConformance submits to the built binary, on the demo configuration
// (SQLite store, relay, file drop and xdomea E-Akte destinations), every
// example request in testdata/submissions, randomPerProcedure random valid
// payloads of each procedure and, where the mapper package provides them,
// its payloads at their extremes; then it validates with xmllint every
// document that arrived: each XML file, and each XML document inside each
// ZIP (the xdomea containers and the bundles of a message with its
// attachments). XML inside a ZIP that is no message of a known namespace
// is an attachment and skipped; a ZIP without any validated message fails.
//
// Random payloads: a procedure whose mapper package exports a property
// generator (xgewerbetest.Random) uses it; for the others, the examples
// without attachments are varied along their payload schema (mutate):
// optional members dropped, enumerated values chosen at random, free text
// replaced by random text up to its maximum length. Extremes: of every
// example without attachments a maximal variant (every member kept, every
// free text at its maximum length) and a minimal one (every optional member
// dropped), plus the mapper package's own extremes (xgewerbetest.Extremes:
// every code value, all optional blocks). Only variants that the mapper's
// Validate accepts are submitted, and each must then be accepted (202).
//
// Every destination of the demo configuration gets an HTTP twin
// (conformanceConfig), so each document arrives twice: as a file and as
// the body of a POST to a receiver in the test.
func TestConformance(t *testing.T) {
	t.Parallel()
	procedures := conformanceProcedures(t)
	schemas := deliveredSchemas(t)
	xoevtest.Xmllint(t)

	type request struct{ name, procedure string }
	var requests []request
	bodies := map[string][]byte{}
	add := func(name, procedure string, body []byte) {
		requests = append(requests, request{name, procedure})
		bodies[name] = body
	}

	examples, err := filepath.Glob("../testdata/submissions/*.json")
	if err != nil || len(examples) < 10 {
		t.Fatalf("examples: %v (%d found)", err, len(examples))
	}
	seeds := map[string][]map[string]any{}
	for _, path := range examples {
		body := readFile(t, path)
		var raw map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		procedure, _ := raw["procedure"].(string)
		if _, ok := procedures[procedure]; !ok {
			t.Fatalf("%s: procedure %q is unknown to the conformance test: add it to conformanceProcedures", path, procedure)
		}
		add("testdata/"+filepath.Base(path), procedure, body)
		if _, files := raw["attachments"]; !files {
			seeds[procedure] = append(seeds[procedure], raw)
		}
	}

	r := rand.New(rand.NewPCG(16, 7))
	rejected := map[string]int{}
	for _, procedure := range slices.Sorted(mapsKeys(procedures)) {
		p := procedures[procedure]
		for i, attempts := 0, 0; i < randomPerProcedure; attempts++ {
			if attempts > 20*randomPerProcedure {
				t.Fatalf("%s: only %d of %d variants pass Validate", procedure, i, attempts)
			}
			var s transform.Submission
			if p.generator != nil {
				s = p.generator(r)
			} else {
				if len(seeds[procedure]) == 0 {
					t.Fatalf("%s: neither a generator nor an example without attachments", procedure)
				}
				var err error
				s, err = mutate(r, seeds[procedure][r.IntN(len(seeds[procedure]))], p.schema, mutateRandom, nil)
				if err != nil {
					t.Fatal(err)
				}
			}
			if errs := p.mapper.Validate(s); errs != nil {
				if p.generator != nil {
					t.Fatalf("%s: the generator made a payload Validate refuses: %v", procedure, errs)
				}
				if rejected[procedure] == 0 {
					t.Logf("%s: first random variant refused by Validate: %v", procedure, errs)
				}
				rejected[procedure]++ // a variant that breaks a rule beyond the schema's shape
				continue
			}
			add(fmt.Sprintf("random/%s/%d", procedure, i), procedure, requestBody(t, s))
			i++
		}
		for k, seed := range seeds[procedure] {
			for mode, name := range map[mutation]string{mutateMaximal: "maximal", mutateMinimal: "minimal"} {
				// Members required by a rule beyond the schema's shape (Validate
				// names them) are kept on the next try.
				keep := map[string]bool{}
				var s transform.Submission
				var errs []transform.FieldError
				for range 5 {
					var err error
					if s, err = mutate(r, seed, p.schema, mode, keep); err != nil {
						t.Fatal(err)
					}
					if errs = p.mapper.Validate(s); errs == nil {
						break
					}
					for _, e := range errs {
						keep[e.Pointer] = true
					}
				}
				if errs != nil {
					t.Logf("%s: the %s variant of example %d is refused by Validate: %v", procedure, name, k, errs)
					rejected[procedure]++
					continue
				}
				add(fmt.Sprintf("extreme/%s/%s-%d", procedure, name, k), procedure, requestBody(t, s))
			}
		}
		if p.extremes != nil {
			for _, e := range p.extremes() {
				if errs := p.mapper.Validate(e.Submission); errs != nil {
					t.Fatalf("%s: extreme %s is invalid: %v", procedure, e.Name, errs)
				}
				add("extreme/"+procedure+"/"+e.Name, procedure, requestBody(t, e.Submission))
			}
		}
	}

	dir := t.TempDir()
	received := filepath.Join(dir, "received")
	receiver := httptest.NewServer(httpReceiver(t, received))
	defer receiver.Close()
	p := start(t, dir, nil, "--config", conformanceConfig(t, dir, receiver.URL))
	ids := make([]string, len(requests))
	var wg sync.WaitGroup
	errs := make([]string, len(requests))
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				code, resp := p.post(t, "demo-key", "", bodies[requests[i].name])
				if code != http.StatusAccepted {
					errs[i] = fmt.Sprintf("%s: POST %d %v", requests[i].name, code, resp)
					continue
				}
				ids[i] = resp["id"].(string)
			}
		}()
	}
	for i := range requests {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, id := range ids {
		p.awaitStatus(t, "demo-key", id, "delivered", 60*time.Second)
	}
	// An unknown code value is refused with 422 at its pointer.
	var bad map[string]any
	if err := json.Unmarshal(readFile(t, "../testdata/submissions/gewerbe.anmeldung-minimal.json"), &bad); err != nil {
		t.Fatal(err)
	}
	bad["data"].(map[string]any)["niederlassung"] = "filiale"
	badBody, _ := json.Marshal(bad)
	if code, resp := p.post(t, "demo-key", "", badBody); code != http.StatusUnprocessableEntity || !strings.Contains(toJSON(resp), `"/data/niederlassung"`) {
		t.Errorf("unknown code value: %d %v", code, resp)
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}

	// Collect every delivered document (file drops and HTTP), extracting the XML inside ZIPs.
	data := dir
	extracted := t.TempDir()
	bySchema := map[string][]string{}
	perProcedure := map[string]int{}
	docProcedure := map[string]string{}
	skipped, zips := 0, 0
	channel := map[string]int{}
	classify := func(procedure, path string, content []byte, inZIP bool) bool {
		ns, err := rootNamespace(content)
		xsd, known := schemas[ns]
		switch {
		case err == nil && known:
			bySchema[xsd] = append(bySchema[xsd], path)
			docProcedure[path] = procedure
			return true
		case inZIP:
			skipped++ // an attachment
		default:
			t.Errorf("%s: delivered document with root namespace %q (%v) has no schema", path, ns, err)
		}
		return false
	}
	err = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		if !strings.HasPrefix(rel, "amtsbote-data"+string(filepath.Separator)) && !strings.HasPrefix(rel, "received"+string(filepath.Separator)) {
			return nil // the database, the configuration
		}
		procedure := procedureOf(rel, procedures)
		if ext := filepath.Ext(path); ext == ".xml" || ext == ".zip" {
			channel[strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]]++
		}
		switch filepath.Ext(path) {
		case ".xml":
			classify(procedure, path, readFile(t, path), false)
		case ".zip":
			zips++
			validated := 0
			for name, content := range unzip(t, readFile(t, path)) {
				if !strings.HasSuffix(strings.ToLower(name), ".xml") {
					continue
				}
				out := filepath.Join(extracted, strings.NewReplacer("/", "_", "\\", "_").Replace(rel+"!"+name))
				if err := os.WriteFile(out, content, 0o600); err != nil {
					return err
				}
				if classify(procedure, out, content, true) {
					validated++
				}
			}
			if validated == 0 {
				t.Errorf("%s: a ZIP without any message", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	total := 0
	for xsd, files := range bySchema {
		for f, complaint := range xoevtest.CheckFiles(t, xsd, files) {
			t.Errorf("%s is not valid against %s:\n%s", f, filepath.Base(xsd), complaint)
		}
		for _, f := range files {
			perProcedure[docProcedure[f]]++
		}
		total += len(files)
	}
	submitted := map[string]int{}
	for _, req := range requests {
		submitted[req.procedure]++
	}
	for _, procedure := range slices.Sorted(mapsKeys(procedures)) {
		t.Logf("%s: %d submissions, %d delivered documents validated (%d random variants refused by Validate, not sent)",
			procedure, submitted[procedure], perProcedure[procedure], rejected[procedure])
		if perProcedure[procedure] < submitted[procedure] {
			t.Errorf("%s: %d documents validated for %d submissions", procedure, perProcedure[procedure], submitted[procedure])
		}
	}
	t.Logf("%d submissions, %d documents validated (%d ZIPs opened), %d attachments skipped; files: %d from the file drops, %d received by HTTP",
		len(requests), total, zips, skipped, channel["amtsbote-data"], channel["received"])
	if channel["amtsbote-data"] == 0 || channel["received"] == 0 {
		t.Errorf("a channel delivered nothing: %v", channel)
	}
}

// conformanceConfig writes the demo configuration (amtsbote demo-config)
// with a short relay poll interval and, beside each file drop destination,
// an HTTP destination of the same format posting to url/<procedure>; it
// returns the path of the file. The demo portal's key is "demo-key".
func conformanceConfig(t *testing.T, dir, url string) string {
	t.Helper()
	code, out, errOut := run(t, dir, []string{"AMTSBOTE_DEMO_PORTAL_KEY=demo-key"}, "",
		"demo-config", "--data-dir", filepath.Join(dir, "amtsbote-data"))
	if code != 0 {
		t.Fatalf("demo-config: %d %s", code, errOut)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["relay"].(map[string]any)["poll_interval"] = "200ms"
	added := 0
	for _, tenant := range cfg["tenants"].([]any) {
		for _, proc := range tenant.(map[string]any)["procedures"].([]any) {
			proc := proc.(map[string]any)
			var dests []any
			for _, d := range proc["destinations"].([]any) {
				d := d.(map[string]any)
				dests = append(dests, d)
				h := map[string]any{"id": d["id"].(string) + "-http", "type": "http", "format": d["format"],
					"http": map[string]any{"url": url + "/" + proc["procedure"].(string), "timeout": "10s"}}
				for _, k := range []string{"reader", "xdomea"} {
					if v, ok := d[k]; ok {
						h[k] = v
					}
				}
				dests = append(dests, h)
				added++
			}
			proc["destinations"] = dests
		}
	}
	if added == 0 {
		t.Fatal("the demo configuration has no destinations")
	}
	text, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, dir, string(text))
}

// httpReceiver stores what the HTTP destinations post below dir, as
// <procedure>/<message id>.xml or .zip: a plain XML body, the root part of
// a multipart/related body (a message with attachments; the files are
// counted, not stored), an application/zip body (an xdomea container).
func httpReceiver(t *testing.T, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		procedure := filepath.Base(r.URL.Path)
		id := r.Header.Get("X-Amtsbote-Message-Id")
		if id == "" || strings.ContainsAny(id, "/\\") || r.Header.Get("X-Amtsbote-Attachment-Id") != "" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var content []byte
		ext := ".xml"
		switch mediaType {
		case "application/xml", "text/xml":
			content, err = io.ReadAll(r.Body)
		case "application/zip":
			content, err = io.ReadAll(r.Body)
			ext = ".zip"
		case "multipart/related":
			mr := multipart.NewReader(r.Body, params["boundary"])
			var part *multipart.Part
			if part, err = mr.NextPart(); err == nil {
				content, err = io.ReadAll(part)
				for err == nil {
					if part, err = mr.NextPart(); err == nil {
						_, err = io.Copy(io.Discard, part)
					}
				}
				if err == io.EOF {
					err = nil
				}
			}
		default:
			err = fmt.Errorf("unexpected content type %s", mediaType)
		}
		if err == nil {
			err = os.MkdirAll(filepath.Join(dir, procedure), 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, procedure, id+ext), content, 0o600)
		}
		if err != nil {
			t.Errorf("receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
}

// procedureOf finds the procedure in the path of a delivered file (the
// destinations of the demo configuration write below <tenant>/<procedure>/).
func procedureOf(rel string, procedures map[string]conformanceProcedure) string {
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if _, ok := procedures[part]; ok {
			return part
		}
	}
	return "(unknown)"
}

func rootNamespace(doc []byte) (string, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return "", err
	}
	if d.Root() == nil {
		return "", fmt.Errorf("no root element")
	}
	return d.Root().NamespaceURI(), nil
}

// requestBody is the portal API request of s.
func requestBody(t *testing.T, s transform.Submission) []byte {
	t.Helper()
	body := map[string]any{"tenant": s.Tenant, "procedure": s.Procedure, "applicant": s.Applicant, "data": s.Data}
	if id := s.Identity; id != nil {
		m := map[string]any{"method": id.Method}
		for k, v := range map[string]string{"provider": id.Provider, "trust_level": id.TrustLevel, "postbox_reference": id.PostboxReference} {
			if v != "" {
				m[k] = v
			}
		}
		body["identity"] = m
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nameLetters are letters within DIN SPEC 91379 datatype A, the narrowest
// repertoire of names; nameText joins them with inner spaces and hyphens.
var nameLetters = []rune("abcxyzABCXYZäöüßÄÖÜéèçłŁøØåÅñšŠžŽőŐțȚ")

func nameText(r *rand.Rand, n int) string {
	out := make([]rune, n)
	for i := range out {
		out[i] = nameLetters[r.IntN(len(nameLetters))]
		if i > 0 && i < n-1 && out[i-1] != ' ' && out[i-1] != '-' && r.IntN(8) == 0 {
			out[i] = []rune(" -")[r.IntN(2)]
		}
	}
	return string(out)
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// mutate returns a variant of the example request raw (decoded with
// UseNumber) along the payload schema: applicant and data walked with
// their subschemas; see TestConformance.
func mutate(r *rand.Rand, raw map[string]any, schemaJSON []byte, mode mutation, keep map[string]bool) (transform.Submission, error) {
	var schema map[string]any
	if err := json.Unmarshal(schemaJSON, &schema); err != nil {
		return transform.Submission{}, err
	}
	body, err := json.Marshal(raw)
	if err != nil {
		return transform.Submission{}, err
	}
	s, err := mappertest.DecodeSubmission(body, false)
	if err != nil {
		return transform.Submission{}, err
	}
	m := mutator{r: r, root: schema, mode: mode, keep: keep}
	props := schema["properties"].(map[string]any)
	s.Applicant = m.value(s.Applicant, props["applicant"], "/applicant").(map[string]any)
	s.Data = m.value(s.Data, props["data"], "/data").(map[string]any)
	return s, nil
}

type mutator struct {
	r    *rand.Rand
	root map[string]any
	mode mutation
	keep map[string]bool // JSON pointers of values never dropped, with what is below them
}

// kept reports whether the member at ptr must stay: it is, or is below or
// on the way to, a pointer of keep.
func (m mutator) kept(ptr string) bool {
	for k := range m.keep {
		if ptr == k || strings.HasPrefix(ptr, k+"/") || strings.HasPrefix(k, ptr+"/") {
			return true
		}
	}
	return false
}

// mutation is what mutate does with a payload.
type mutation int

const (
	mutateRandom  mutation = iota // drop optional members, vary values, at random
	mutateMaximal                 // keep every member, every free text at its maximum length
	mutateMinimal                 // drop every optional member, keep the values
)

// resolve follows a $ref into $defs.
func (m mutator) resolve(s any) map[string]any {
	sch, _ := s.(map[string]any)
	for sch != nil {
		ref, ok := sch["$ref"].(string)
		if !ok {
			return sch
		}
		name := strings.TrimPrefix(ref, "#/$defs/")
		next, _ := m.root["$defs"].(map[string]any)[name].(map[string]any)
		merged := map[string]any{}
		for k, v := range next {
			merged[k] = v
		}
		for k, v := range sch {
			if k != "$ref" {
				merged[k] = v
			}
		}
		sch = merged
	}
	return nil
}

// branches are sch and the subschemas whose properties may apply.
func (m mutator) branches(sch map[string]any) []map[string]any {
	out := []map[string]any{sch}
	for _, key := range []string{"then", "else"} {
		if b := m.resolve(sch[key]); b != nil {
			out = append(out, m.branches(b)...)
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := sch[key].([]any)
		for _, b := range list {
			if b := m.resolve(b); b != nil {
				out = append(out, m.branches(b)...)
			}
		}
	}
	return out
}

func (m mutator) value(v any, schema any, ptr string) any {
	sch := m.resolve(schema)
	if sch == nil {
		return v
	}
	branches := m.branches(sch)
	switch v := v.(type) {
	case map[string]any:
		required := map[string]bool{}
		for _, b := range branches {
			list, _ := b["required"].([]any)
			for _, k := range list {
				required[k.(string)] = true
			}
		}
		out := map[string]any{}
		for _, k := range slices.Sorted(mapsKeys(v)) {
			if !required[k] && !m.kept(ptr+"/"+k) && (m.mode == mutateMinimal || m.mode == mutateRandom && m.r.IntN(4) == 0) {
				continue
			}
			var sub any
			for _, b := range branches {
				if props, ok := b["properties"].(map[string]any); ok && props[k] != nil {
					sub = props[k]
					break
				}
			}
			out[k] = m.value(v[k], sub, ptr+"/"+k)
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for i, e := range v {
			out = append(out, m.value(e, sch["items"], fmt.Sprint(ptr, "/", i)))
		}
		if minItems, _ := sch["minItems"].(float64); m.mode == mutateRandom && len(out) > max(1, int(minItems)) && m.r.IntN(4) == 0 {
			out = out[:len(out)-1]
		}
		return out
	case string:
		if m.mode == mutateMinimal {
			return v
		}
		if enum, ok := sch["enum"].([]any); ok && m.mode == mutateRandom {
			if s, ok := enum[m.r.IntN(len(enum))].(string); ok {
				return s
			}
			return v
		}
		maxLen, _ := sch["maxLength"].(float64)
		if sch["pattern"] != nil || sch["format"] != nil || sch["const"] != nil || maxLen == 0 {
			return v
		}
		n := int(maxLen)
		if m.mode == mutateRandom && m.r.IntN(3) > 0 {
			n = 1 + m.r.IntN(n)
		}
		return nameText(m.r, n)
	case bool:
		if m.mode == mutateRandom {
			return m.r.IntN(2) == 0
		}
	}
	return v
}
