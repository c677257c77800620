package envelope_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/envelope"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// readSubmission decodes a portal request body from path the way the intake
// does: numbers as json.Number.
func readSubmission(t *testing.T, path string) transform.Submission {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Tenant    string         `json:"tenant"`
		Procedure string         `json:"procedure"`
		Applicant map[string]any `json:"applicant"`
		Data      map[string]any `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return transform.Submission{
		ID:         "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b",
		Tenant:     body.Tenant,
		Procedure:  body.Procedure,
		Applicant:  body.Applicant,
		Data:       body.Data,
		ReceivedAt: time.Date(2026, 11, 28, 9, 59, 58, 123456789, time.FixedZone("CET", 3600)),
	}
}

// fullInput returns an Input with every Nachrichtenkopf value set.
func fullInput(s transform.Submission) transform.Input {
	return transform.Input{
		Submission: s,
		MessageID:  "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6",
		Author: transform.Party{
			ID: "musterstadt-buergeramt", Name: "Stadt Musterstadt, Bürgeramt",
			Kennung: "psw:01234567", AGS: "01234567",
		},
		Reader: transform.Party{
			ID: "musterstadt-meldebehoerde", Name: "Stadt Musterstadt, Meldebehörde",
			Kennung: "psw:01234568",
		},
		Product:   transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "dev"},
		CreatedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
	}
}

func TestMapGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input func(t *testing.T) transform.Input
	}{
		{
			name: "demo",
			input: func(t *testing.T) transform.Input {
				return fullInput(readSubmission(t, "../../testdata/submissions/demo.json"))
			},
		},
		{
			name: "sonderzeichen",
			input: func(t *testing.T) transform.Input {
				in := fullInput(readSubmission(t, "testdata/sonderzeichen.json"))
				in.Author.Name = "Gemeinde Ae\u0301 & <Söhne> \"Ort\""
				in.Product.Version = "1.2.3-rc.1+g1234abc"
				return in
			},
		},
		{
			// Only what Map requires: no parties, no product, no AGS.
			name: "minimal",
			input: func(t *testing.T) transform.Input {
				return transform.Input{
					Submission: readSubmission(t, "testdata/minimal.json"),
					MessageID:  "5F2C8E1A-93B7-4D06-8E4F-A1B2C3D4E5F6",
					CreatedAt:  time.Date(2026, 11, 28, 10, 0, 0, 999999999, time.UTC),
				}
			},
		},
	}
	m := envelope.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := m.Map(tt.input(t))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if doc.MessageType != envelope.MessageType {
				t.Errorf("MessageType = %q, want %q", doc.MessageType, envelope.MessageType)
			}
			golden := filepath.Join("testdata", tt.name+".golden.xml")
			if *update {
				if err := os.WriteFile(golden, doc.XML, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(doc.XML, want) {
				t.Errorf("output differs from %s (run go test -update after checking the change):\n%s",
					golden, lineDiff(string(want), string(doc.XML)))
			}
			validateXML(t, doc.XML)
		})
	}
}

// lineDiff describes the first differing line of want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("first difference in line %d:\nwant: %q\n got: %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}

// validateXML validates doc against envelope.Schema with xmllint. Without
// xmllint the test is skipped, unless CI=true, where it fails.
func validateXML(t *testing.T, doc []byte) {
	t.Helper()
	if err := xmllint(t, doc); err != nil {
		t.Errorf("output does not validate against envelope.xsd: %v", err)
	}
}

func xmllint(t *testing.T, doc []byte) error {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found on PATH; CI must install it (apt-get install -y libxml2-utils)")
		}
		t.Skip("skipping schema validation: xmllint not found on PATH (apt-get install -y libxml2-utils)")
	}
	xsd := filepath.Join(t.TempDir(), "envelope.xsd")
	if err := os.WriteFile(xsd, envelope.Schema, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--noout", "--nonet", "--schema", xsd, "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

func TestSchemaRejectsInvalidDocuments(t *testing.T) {
	t.Parallel()
	m := envelope.New()
	doc, err := m.Map(fullInput(readSubmission(t, "../../testdata/submissions/demo.json")))
	if err != nil {
		t.Fatal(err)
	}
	valid := string(doc.XML)
	tests := []struct{ name, old, new string }{
		{"feld without name", `<ab:feld name="art">`, `<ab:feld>`},
		{"wrong nachrichtentyp", `<ab:nachrichtentyp>einreichung.0001<`, `<ab:nachrichtentyp>einreichung.0002<`},
		{"local time", `<ab:erstellungszeitpunkt>2026-11-28T10:00:00Z<`, `<ab:erstellungszeitpunkt>2026-11-28T11:00:00+01:00<`},
		{"message id not a UUID", `<ab:nachrichtenUUID>5f2c8e1a-`, `<ab:nachrichtenUUID>x5f2c8e1a-`},
		{"unknown element", `<ab:daten>`, `<ab:daten><ab:sonstiges/>`},
		{"wrong namespace", `xmlns:ab="urn:amtsbote:envelope:1"`, `xmlns:ab="urn:amtsbote:envelope:2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(valid, tt.old) {
				t.Fatalf("demo output does not contain %q", tt.old)
			}
			broken := strings.Replace(valid, tt.old, tt.new, 1)
			if err := xmllint(t, []byte(broken)); err == nil {
				t.Errorf("xmllint accepted the document with %s", tt.name)
			}
		})
	}
}

func TestMapDeterministic(t *testing.T) {
	t.Parallel()
	m := envelope.New()
	in := fullInput(readSubmission(t, "testdata/sonderzeichen.json"))
	first, err := m.Map(in)
	if err != nil {
		t.Fatal(err)
	}
	// Go randomises map iteration, so repeated runs would expose any
	// dependence on it.
	for i := range 50 {
		doc, err := m.Map(in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc.XML, first.XML) {
			t.Fatalf("run %d differs from the first:\n%s", i+2, lineDiff(string(first.XML), string(doc.XML)))
		}
	}
}

// TestMapRoundTrip parses the output back and checks that text survives
// escaping and indentation unchanged (in NFC).
func TestMapRoundTrip(t *testing.T) {
	t.Parallel()
	s := readSubmission(t, "testdata/minimal.json")
	values := map[string]string{
		"xml":                             `<a href="x">&amp; 'q'</a>`,
		"zeilen":                          "Zeile 1\r\nZeile 2\rZeile 3\n",
		"tab":                             "\tvorne und hinten\t",
		"leerzeichen":                     "   ",
		"nfd":                             "Rene\u0301 Mu\u0308ller",
		"schlüssel\tmit\r\nsteuerzeichen": "wert",
	}
	s.Data = map[string]any{}
	for k, v := range values {
		s.Data[k] = v
	}
	doc, err := envelope.New().Map(fullInput(s))
	if err != nil {
		t.Fatal(err)
	}
	parsed := etree.NewDocument()
	if err := parsed.ReadFromBytes(doc.XML); err != nil {
		t.Fatalf("parse output: %v", err)
	}
	daten := parsed.FindElement("/einreichung.0001/daten")
	if daten == nil {
		t.Fatal("no daten element")
	}
	got := map[string]string{}
	for _, f := range daten.SelectElements("feld") {
		got[f.SelectAttrValue("name", "")] = f.Text()
	}
	for k, v := range values {
		k, v = transform.NormalizeText(k), transform.NormalizeText(v)
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("feld %q = %q (present %v), want %q", k, g, ok, v)
		}
	}
	if bytes.Contains(doc.XML, []byte("e\u0301")) || !bytes.Contains(doc.XML, []byte("René Müller")) {
		t.Error("text is not written in NFC")
	}
}

func TestMapErrors(t *testing.T) {
	t.Parallel()
	valid := fullInput(readSubmission(t, "testdata/minimal.json"))
	tests := []struct {
		name    string
		modify  func(in *transform.Input)
		invalid bool   // a *transform.ValidationError is expected
		want    string // part of the error message
	}{
		{"invalid submission", func(in *transform.Input) { in.Submission.Applicant = map[string]any{"name": "Иван"} }, true, `"/applicant/name" unsupported_character`},
		{"no data", func(in *transform.Input) { in.Submission.Data = nil }, true, `"/data" required`},
		{"message id", func(in *transform.Input) { in.MessageID = "../../etc/passwd" }, false, "message id is not a UUID"},
		{"empty message id", func(in *transform.Input) { in.MessageID = "" }, false, "message id is not a UUID"},
		{"submission id", func(in *transform.Input) { in.Submission.ID = "0b0f1c6e7d4a4f5e9a513c2d1e0f9a8b" }, false, "submission id is not a UUID"},
		{"tenant", func(in *transform.Input) { in.Submission.Tenant = "" }, false, "tenant is empty"},
		{"procedure", func(in *transform.Input) { in.Submission.Procedure = "" }, false, "procedure is empty"},
		{"created", func(in *transform.Input) { in.CreatedAt = time.Time{} }, false, "creation time is zero"},
		{"received", func(in *transform.Input) { in.Submission.ReceivedAt = time.Time{} }, false, "receipt time is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := valid
			tt.modify(&in)
			doc, err := envelope.New().Map(in)
			if err == nil {
				t.Fatalf("Map succeeded, want an error; output:\n%s", doc.XML)
			}
			var verr *transform.ValidationError
			if got := errors.As(err, &verr); got != tt.invalid {
				t.Errorf("errors.As(%v, *ValidationError) = %v, want %v", err, got, tt.invalid)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if doc.XML != nil {
				t.Errorf("Map returned XML with an error")
			}
		})
	}
}
