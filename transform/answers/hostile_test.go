package answers_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/transform/answers"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
)

// errAny: the case must fail with an *answers.Error; which reason is not
// pinned.
var errAny = errors.New("any answer error")

// hostileFiles is what each file of testdata/answers/hostile must give.
// Every file there must be listed, so that none goes untested.
var hostileFiles = map[string]error{
	"xxe-file.xml":                            answers.ErrDTD,
	"xxe-http.xml":                            answers.ErrDTD,
	"xxe-parameter-entity.xml":                answers.ErrDTD,
	"xxe-external-dtd.xml":                    answers.ErrDTD,
	"billion-laughs.xml":                      answers.ErrDTD,
	"quadratic-blowup.xml":                    answers.ErrDTD,
	"doctype-empty.xml":                       answers.ErrDTD,
	"undeclared-entity.xml":                   errAny,
	"wrong-namespace-1120.xml":                answers.ErrUnknownType,
	"wrong-namespace-xdomea-2.4.xml":          answers.ErrUnknownType,
	"no-namespace-0201.xml":                   answers.ErrUnknownType,
	"unknown-type-0200.xml":                   answers.ErrUnknownType,
	"unknown-type-1100.xml":                   answers.ErrUnknownType,
	"type-code-mismatch-1120.xml":             answers.ErrUnknownType,
	"missing-bezug-1120.xml":                  answers.ErrNoReference,
	"bezug-without-reference-0201.xml":        answers.ErrNoReference,
	"missing-prozessid-0630.xml":              answers.ErrNoReference,
	"prozessid-not-uuid-0630.xml":             errAny,
	"missing-erfolgoder-misserfolg-0630.xml":  errAny,
	"referenz-not-uuid-1120.xml":              errAny,
	"missing-kopf-1120.xml":                   errAny,
	"missing-nachrichtenUUID-1120.xml":        errAny,
	"erstellungszeitpunkt-invalid-1120.xml":   errAny,
	"encoding-latin1.xml":                     errAny,
	"invalid-utf8.xml":                        errAny,
	"two-roots.xml":                           errAny,
	"trailing-text.xml":                       errAny,
	"truncated.xml":                           errAny,
	"mismatched-tags.xml":                     errAny,
	"missing-vorgang-1121.xml":                errAny,
	"missing-antragVollstaendig-0201.xml":     errAny,
	"antragVollstaendig-not-boolean-0201.xml": errAny,
	"befund-without-beschreibung-0201.xml":    errAny,
	"missing-anlagen-0205.xml":                errAny,
	"dateiname-path-0205.xml":                 errAny,
	"dateiname-control-char-0205.xml":         errAny,
	"mimetype-invalid-0205.xml":               errAny,
	"missing-tenor-0205.xml":                  errAny,
	"filesize-invalid-0205.xml":               errAny,
	"malformed.json":                          errAny,
	"duplicate-key.json":                      errAny,
	"unknown-type.json":                       answers.ErrUnknownType,
	"missing-reference.json":                  errAny,
	"reference-not-uuid.json":                 errAny,
	"unknown-member.json":                     errAny,
	"case-number-without-aktenzeichen.json":   errAny,
	"incomplete-without-findings.json":        errAny,
	"decided-without-outcome.json":            errAny,
	"attachment-filename-path.json":           errAny,
	"attachment-not-base64.json":              errAny,
	"top-level-array.json":                    errAny,
	"trailing-data.json":                      errAny,
	"sent-at-invalid.json":                    errAny,
	"huge-exponent.json":                      errAny,
	"id-with-spaces.json":                     errAny,
	"empty.txt":                               answers.ErrUnknownType,
	"plain-text.txt":                          answers.ErrUnknownType,
	"not-a-zip.zip":                           errAny,
}

// HostileDir returns testdata/answers/hostile.
func hostileDir(t *testing.T) string { return filepath.Join(answerstest.Dir(t), "hostile") }

func TestHostileCorpus(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(hostileDir(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		seen[name] = true
		want, ok := hostileFiles[name]
		if !ok {
			t.Errorf("%s is not in hostileFiles", name)
			continue
		}
		body, err := os.ReadFile(filepath.Join(hostileDir(t), name))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkRefused(t, body, "", want)
		})
	}
	for name := range hostileFiles {
		if !seen[name] {
			t.Errorf("hostileFiles names %s, which testdata/answers/hostile lacks", name)
		}
	}
}

// checkRefused parses body and requires an *answers.Error (wrapping want
// unless want is errAny) whose text quotes nothing of the body's personal
// data.
func checkRefused(t *testing.T, body []byte, contentType string, want error) {
	t.Helper()
	a, err := answers.Parse(body, contentType, answers.Limits{})
	if err == nil {
		t.Fatalf("accepted: %+v", a)
	}
	var ae *answers.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T %v, want *answers.Error", err, err)
	}
	if want != errAny && !errors.Is(err, want) {
		t.Errorf("err = %v, want it to wrap %v", err, want)
	}
	for _, secret := range []string{"Mustermann", "passwd", "169.254", "lol", "AAAA"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error quotes the body: %v", err)
		}
	}
	if ae.Reason == "" {
		t.Error("empty reason")
	}
}

// deepXML nests n elements inside a 1120's information.
func deepXML(n int) []byte {
	return []byte(`<?xml version="1.0"?><xbauk:prozessnachrichten.eingangsbestaetigung.1120 xmlns:xbauk="http://www.xleitstelle.de/xbau/kernmodul/1/3/0">` +
		strings.Repeat("<a>", n) + strings.Repeat("</a>", n) + `</xbauk:prozessnachrichten.eingangsbestaetigung.1120>`)
}

func zipOf(t *testing.T, files ...answerstest.Entry) []byte {
	return answerstest.Container(t, files...)
}

func TestHostileGenerated(t *testing.T) {
	t.Parallel()
	bescheid := answerstest.Read(t, answerstest.Bescheid)
	pdf := answerstest.Read(t, answerstest.BescheidPDF)
	bomb := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("baugenehmigung.bescheid.0205.xml")
		w.Write(bescheid)
		w, _ = zw.Create("baugenehmigung.pdf")
		zero := make([]byte, 1<<20)
		for range 24 { // 24 MiB of zeros, a few KiB deflated
			w.Write(zero)
		}
		zw.Close()
		return buf.Bytes()
	}
	many := func() []byte {
		var e []answerstest.Entry
		for i := range answers.DefaultMaxEntries + 1 {
			e = append(e, answerstest.Entry{Name: "f" + strconv.Itoa(i) + ".txt", Data: []byte("x")})
		}
		return zipOf(t, e...)
	}
	cases := []struct {
		name        string
		body        func() []byte
		contentType string
		want        error
	}{
		{"xml 10k deep", func() []byte { return deepXML(10000) }, "", answers.ErrTooDeep},
		{"xml 65 deep", func() []byte { return deepXML(answers.DefaultMaxDepth) }, "", answers.ErrTooDeep},
		{"json 10k deep", func() []byte { return []byte(strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)) }, "", answers.ErrTooDeep},
		{"json 10k deep arrays", func() []byte { return []byte(`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "}") }, "", answers.ErrTooDeep},
		{"100 MB body", func() []byte { return bytes.Repeat([]byte("<"), 100<<20) }, "application/xml", answers.ErrTooLarge},
		{"limit plus one", func() []byte {
			return append(bytes.Repeat([]byte(" "), int(answers.DefaultMaxBytes)-len(bescheid)+1), bescheid...)
		}, "", answers.ErrTooLarge},
		{"zip bomb", bomb, "application/zip", answers.ErrTooLarge},
		{"zip too many entries", many, "", answers.ErrTooLarge},
		{"zip slip", func() []byte {
			return zipOf(t, answerstest.Entry{Name: "../../evil.xml", Data: bescheid})
		}, "", errAny},
		{"zip absolute", func() []byte {
			return zipOf(t, answerstest.Entry{Name: "/etc/cron.d/x.xml", Data: bescheid})
		}, "", errAny},
		{"zip without xml", func() []byte {
			return zipOf(t, answerstest.Entry{Name: "baugenehmigung.pdf", Data: pdf})
		}, "", answers.ErrUnknownType},
		{"zip attachment missing", func() []byte {
			return zipOf(t, answerstest.Entry{Name: "a.xml", Data: bescheid})
		}, "", errAny},
		{"zip duplicate entries", func() []byte {
			return zipOf(t, answerstest.Entry{Name: "a.xml", Data: bescheid}, answerstest.Entry{Name: "baugenehmigung.pdf", Data: pdf}, answerstest.Entry{Name: "baugenehmigung.pdf", Data: []byte("x")})
		}, "", errAny},
		{"zip with a DTD inside", func() []byte {
			return zipOf(t, answerstest.Entry{Name: "a.xml", Data: []byte(`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`)})
		}, "", answers.ErrDTD},
		{"zip filesize mismatch", func() []byte {
			x := bytes.Replace(bescheid, []byte("<anhang>"), []byte(`<anhang filesize="7">`), 1)
			return zipOf(t, answerstest.Entry{Name: "a.xml", Data: x}, answerstest.Entry{Name: "baugenehmigung.pdf", Data: pdf})
		}, "", errAny},
		{"xml sent as json", func() []byte { return bescheid }, "application/json", errAny},
		{"json sent as xml", func() []byte { return answerstest.Read(t, answerstest.JSONReceived) }, "text/xml", errAny},
		{"unsupported media type", func() []byte { return bescheid }, "text/plain", answers.ErrUnknownType},
		{"media type that does not parse", func() []byte { return bescheid }, "application/xml; ;;", answers.ErrUnknownType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkRefused(t, c.body(), c.contentType, c.want)
		})
	}
}

// The limits hold at their edge: a body of exactly MaxBytes and a depth of
// exactly MaxDepth are accepted.
func TestLimitsEdge(t *testing.T) {
	t.Parallel()
	body := answerstest.Read(t, answerstest.Aktenzeichen)
	if _, err := answers.Parse(body, "", answers.Limits{MaxBytes: int64(len(body))}); err != nil {
		t.Errorf("body of exactly MaxBytes: %v", err)
	}
	if _, err := answers.Parse(body, "", answers.Limits{MaxBytes: int64(len(body)) - 1}); !errors.Is(err, answers.ErrTooLarge) {
		t.Errorf("one byte over: %v", err)
	}
	if _, err := answers.Parse(body, "", answers.Limits{MaxDepth: 5}); err != nil {
		t.Errorf("depth 5 (the 1121's deepest element): %v", err)
	}
	if _, err := answers.Parse(body, "", answers.Limits{MaxDepth: 4}); !errors.Is(err, answers.ErrTooDeep) {
		t.Errorf("depth 4: %v", err)
	}
}
