package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
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
	"github.com/amtsbote/amtsbote/transform/xbau/xbautest"
	"github.com/amtsbote/amtsbote/transform/xdomea"
	"github.com/amtsbote/amtsbote/transform/xgewerbe"
	"github.com/amtsbote/amtsbote/transform/xgewerbe/xgewerbetest"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xmeld/xmeldtest"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
	"github.com/amtsbote/amtsbote/transform/xschule"
	"github.com/amtsbote/amtsbote/transform/xschule/xschuletest"
)

// randomPerProcedure is how many random payloads of each procedure the
// conformance test submits; at least as many must be accepted and delivered.
const randomPerProcedure = 200

// extreme is a named payload at an extreme of a procedure's payload.
type extreme struct {
	name       string
	submission transform.Submission
}

// conformanceProcedure is what the conformance test knows of a procedure:
// the mapper's Validate, its payload schema, and the property generator of
// its test-support package: random payloads and the payload's extremes.
type conformanceProcedure struct {
	mapper   transform.Mapper
	schema   []byte
	random   func() transform.Submission
	extremes func() []extreme
}

// conformanceProcedures returns the procedures of the demo configuration,
// their random payloads drawn from r; received is about when the test
// submits them (the dates of a Wohnungsgeberbestätigung are plausible only
// relative to the day of receipt).
func conformanceProcedures(t *testing.T, r *rand.Rand, received time.Time) map[string]conformanceProcedure {
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
	schule, err := xschule.New()
	if err != nil {
		t.Fatal(err)
	}
	bauGen := xbautest.New(r) // deals every code value before repeating one
	return map[string]conformanceProcedure{
		xbau.Procedure: {mapper: bau, schema: xbau.PayloadSchema, random: bauGen.Submission,
			extremes: func() []extreme {
				return extremesOf(xbautest.Extremes(), func(e xbautest.Extreme) (string, transform.Submission) { return e.Name, e.Submission })
			}},
		xmeld.Procedure: {mapper: meld, schema: xmeld.PayloadJSONSchema,
			random: func() transform.Submission { return xmeldtest.RandomAt(r, received) },
			extremes: func() []extreme {
				return extremesOf(xmeldtest.ExtremesAt(received), func(e xmeldtest.Extreme) (string, transform.Submission) { return e.Name, e.Submission })
			}},
		xgewerbe.Procedure: {mapper: gew, schema: xgewerbe.PayloadSchema,
			random: func() transform.Submission { return xgewerbetest.Random(r) },
			extremes: func() []extreme {
				return extremesOf(xgewerbetest.Extremes(), func(e xgewerbetest.Extreme) (string, transform.Submission) { return e.Name, e.Submission })
			}},
		xschule.Procedure: {mapper: schule, schema: xschule.PayloadJSONSchema,
			random: func() transform.Submission { return xschuletest.RandomAt(r, received) },
			extremes: func() []extreme {
				return extremesOf(xschuletest.ExtremesAt(received), func(e xschuletest.Extreme) (string, transform.Submission) { return e.Name, e.Submission })
			}},
	}
}

func extremesOf[E any](es []E, f func(E) (string, transform.Submission)) []extreme {
	out := make([]extreme, 0, len(es))
	for _, e := range es {
		name, s := f(e)
		out = append(out, extreme{name, s})
	}
	return out
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
		xschule.Namespace:  xoevtest.InPlace(t, "transform/xschule/procedure/xschule-anmeldung.xsd"),
	}
}

// TestConformance submits to the built binary, on the demo configuration
// (SQLite store, relay, file drop and xdomea E-Akte destinations, each with
// an HTTP twin), for every procedure:
//
//   - every example request in testdata/submissions;
//   - randomPerProcedure random payloads of its property generator
//     (xbautest, xmeldtest, xgewerbetest: the generators of the mappers' own
//     property tests), with their attachments;
//   - the generator's extremes: every value of every code list, every text
//     at its maximum length, every optional block present and absent;
//   - of every example without attachments a maximal variant (every member
//     kept, every free text at its maximum length along the payload schema)
//     and a minimal one (every optional member dropped): they vary the
//     examples' own data, which the generators do not draw from.
//
// Every payload is checked with the mapper's Validate first (a generated
// one that fails is a bug of the generator) and must then be accepted (202)
// and delivered; the test fails unless at least randomPerProcedure random
// payloads of each procedure were accepted and delivered. Then it validates
// with xmllint every document that arrived: each XML file, and each XML
// document inside each ZIP (the xdomea containers and the bundles of a
// message with its attachments). XML inside a ZIP that is no message of a
// known namespace is an attachment and skipped; a ZIP without any
// validated message fails. Each document arrives twice: as a file and as
// the body of a POST to a receiver in the test (conformanceConfig).
func TestConformance(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(16, 7))
	procedures := conformanceProcedures(t, r, time.Now())
	schemas := deliveredSchemas(t)
	xoevtest.Xmllint(t)

	// kind of a request: what the test counts separately.
	const (
		kindExample = "testdata"
		kindRandom  = "random"
		kindExtreme = "extreme"
	)
	type request struct{ name, procedure, kind string }
	var requests []request
	bodies := map[string][]byte{}
	add := func(kind, name, procedure string, body []byte) {
		name = kind + "/" + name
		if _, dup := bodies[name]; dup {
			t.Fatalf("request %s twice", name)
		}
		requests = append(requests, request{name, procedure, kind})
		bodies[name] = body
	}
	valid := func(what string, p conformanceProcedure, s transform.Submission) {
		t.Helper()
		if errs := p.mapper.Validate(s); errs != nil {
			t.Fatalf("%s: Validate refuses a generated payload: %v", what, errs)
		}
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
		add(kindExample, filepath.Base(path), procedure, body)
		if _, files := raw["attachments"]; !files {
			seeds[procedure] = append(seeds[procedure], raw)
		}
	}

	refused := map[string]int{}
	for _, procedure := range slices.Sorted(mapsKeys(procedures)) {
		p := procedures[procedure]
		for i := range randomPerProcedure {
			s := p.random()
			valid(fmt.Sprintf("%s: random payload %d", procedure, i), p, s)
			add(kindRandom, fmt.Sprintf("%s/%d", procedure, i), procedure, requestBody(t, s))
		}
		for _, e := range p.extremes() {
			valid(procedure+": extreme "+e.name, p, e.submission)
			add(kindExtreme, procedure+"/"+e.name, procedure, requestBody(t, e.submission))
		}
		for k, seed := range seeds[procedure] {
			for _, mode := range []mutation{mutateMaximal, mutateMinimal} {
				name := map[mutation]string{mutateMaximal: "maximal", mutateMinimal: "minimal"}[mode]
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
					t.Logf("%s: the %s variant of example %d is refused by Validate, not sent: %v", procedure, name, k, errs)
					refused[procedure]++
					continue
				}
				add(kindExtreme, fmt.Sprintf("%s/example-%d-%s", procedure, k, name), procedure, requestBody(t, s))
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
	// delivered counts the submissions accepted (202) and delivered, by
	// procedure and kind.
	delivered := map[string]map[string]int{}
	for i, id := range ids {
		if id == "" {
			continue // refused: reported above
		}
		p.awaitStatus(t, "demo-key", id, "delivered", 60*time.Second)
		req := requests[i]
		if delivered[req.procedure] == nil {
			delivered[req.procedure] = map[string]int{}
		}
		delivered[req.procedure][req.kind]++
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
	zipsPer := map[string]int{}
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
			zipsPer[procedure]++
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
	for _, procedure := range slices.Sorted(mapsKeys(procedures)) {
		d := delivered[procedure]
		n := d[kindExample] + d[kindRandom] + d[kindExtreme]
		t.Logf("%s: %d submissions accepted and delivered (%d testdata, %d random, %d extremes; %d example variants refused by Validate, not sent); %d delivered documents validated, %d ZIPs opened",
			procedure, n, d[kindExample], d[kindRandom], d[kindExtreme], refused[procedure], perProcedure[procedure], zipsPer[procedure])
		if d[kindRandom] < randomPerProcedure {
			t.Errorf("%s: %d random payloads accepted and delivered, want at least %d", procedure, d[kindRandom], randomPerProcedure)
		}
		// Each submission reaches a file drop and its HTTP twin at least.
		if perProcedure[procedure] < 2*n {
			t.Errorf("%s: %d documents validated for %d delivered submissions, want at least two each", procedure, perProcedure[procedure], n)
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
	// The Bauaufsicht also takes the media types of xbautest's Anlagen.
	for _, proc := range cfg["procedures"].([]any) {
		if proc := proc.(map[string]any); proc["id"] == xbau.Procedure {
			limits, _ := proc["attachments"].(map[string]any)
			if limits == nil {
				limits = map[string]any{}
				proc["attachments"] = limits
			}
			limits["mime_types"] = xbautest.MIMETypes
		}
	}
	// Every procedure is also filed in the E-Akte, so that every message is
	// validated inside an xdomea container too (the demo files the
	// Wohnungsgeberbestätigung in none).
	var eakte map[string]any
	for _, tenant := range cfg["tenants"].([]any) {
		for _, proc := range tenant.(map[string]any)["procedures"].([]any) {
			for _, d := range proc.(map[string]any)["destinations"].([]any) {
				if d := d.(map[string]any); d["format"] == "xdomea" && eakte == nil {
					eakte = d
				}
			}
		}
	}
	if eakte == nil {
		t.Fatal("the demo configuration has no xdomea destination")
	}
	added := 0
	for _, tenant := range cfg["tenants"].([]any) {
		for _, proc := range tenant.(map[string]any)["procedures"].([]any) {
			proc := proc.(map[string]any)
			if !slices.ContainsFunc(proc["destinations"].([]any), func(d any) bool { return d.(map[string]any)["format"] == "xdomea" }) {
				proc["destinations"] = append(proc["destinations"].([]any), maps.Clone(eakte))
			}
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

// requestBody is the portal API request of s. The content of each
// attachment is a few bytes that start with the signature of its media
// type, which the portal API checks; its size is what it is, not s's.
func requestBody(t *testing.T, s transform.Submission) []byte {
	t.Helper()
	body := map[string]any{"tenant": s.Tenant, "procedure": s.Procedure, "applicant": s.Applicant, "data": s.Data}
	var attachments []any
	for _, a := range s.Attachments {
		content := attachmentSignatures[a.MIMEType] + "conformance test " + a.ID + "\n"
		attachments = append(attachments, map[string]any{"id": a.ID, "filename": a.FileName, "mime_type": a.MIMEType,
			"content": base64.StdEncoding.EncodeToString([]byte(content))})
	}
	if attachments != nil {
		body["attachments"] = attachments
	}
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

// attachmentSignatures are the first bytes of a file of a media type.
var attachmentSignatures = map[string]string{
	"application/pdf":          "%PDF-1.7\n",
	"image/png":                "\x89PNG\r\n\x1a\n",
	"image/jpeg":               "\xff\xd8\xff\xe0",
	"image/tiff":               "II*\x00",
	"application/vnd.ms-excel": "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
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
	mutateMaximal mutation = iota // keep every member, every free text at its maximum length
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
			if !required[k] && !m.kept(ptr+"/"+k) && m.mode == mutateMinimal {
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
		return out
	case string:
		if m.mode == mutateMinimal {
			return v
		}
		maxLen, _ := sch["maxLength"].(float64)
		if sch["enum"] != nil || sch["pattern"] != nil || sch["format"] != nil || sch["const"] != nil || maxLen == 0 {
			return v
		}
		return nameText(m.r, int(maxLen))
	}
	return v
}
