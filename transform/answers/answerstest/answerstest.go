// Package answerstest gives tests the golden answers of testdata/answers
// with real ids: Render replaces the placeholder ids of a golden answer,
// so that an end-to-end test can answer a message it really sent, and
// Container packs an XBau answer and its files into a ZIP container. What
// they return stays valid against the official schema.
package answerstest

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Placeholder ids of the golden answers.
const (
	// Reference is the message id of the original message (XBau
	// bezugNachricht/nachrichtenUUID, xdomea ProzessID, JSON reference).
	Reference = "11111111-1111-4111-8111-111111111111"
	// SubmissionID is the submission id (XBau bezug/referenz, JSON
	// submission_id).
	SubmissionID = "22222222-2222-4222-8222-222222222222"
)

// Golden answers by name: the file names in testdata/answers.
const (
	Eingangsbestaetigung = "prozessnachrichten.eingangsbestaetigung.1120.xml"
	Aktenzeichen         = "prozessnachrichten.aktenzeichen.1121.xml"
	FormellePruefung     = "baugenehmigung.formellePruefung.0201.xml"
	Bescheid             = "baugenehmigung.bescheid.0205.xml"
	EmpfangBestaetigen   = "FVDaten.EmpfangBestaetigen.0629.xml"
	ImportBestaetigen    = "FVDaten.ImportBestaetigen.0630.xml"
	JSONReceived         = "json.received.json"
	JSONCaseNumber       = "json.case_number.json"
	JSONIncomplete       = "json.incomplete.json"
	JSONDecided          = "json.decided.json"
	JSONRejected         = "json.rejected.json"
	// BescheidPDF is the document the Bescheid names (dateiname
	// baugenehmigung.pdf), a small valid PDF.
	BescheidPDF = "baugenehmigung.pdf"
)

// XML lists the golden XML answers, JSON the golden JSON answers.
var (
	XML  = []string{Eingangsbestaetigung, Aktenzeichen, FormellePruefung, Bescheid, EmpfangBestaetigen, ImportBestaetigen}
	JSON = []string{JSONReceived, JSONCaseNumber, JSONIncomplete, JSONDecided, JSONRejected}
)

// Dir returns the directory of the golden answers, testdata/answers at
// the module root.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "answers")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("answerstest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Read returns the golden file name of testdata/answers.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Refs are the ids Render puts into a golden answer.
type Refs struct {
	// MessageID is the answer's own id (XBau nachrichtenUUID, JSON id);
	// "" gives a new random UUID, so that each rendering is a new answer.
	// xdomea confirmations have no id of their own: it is ignored there.
	MessageID string
	// Reference is the message id of the message answered; "" removes it
	// (XBau bezugNachricht, JSON reference), except for xdomea, which
	// requires it (the test fails).
	Reference string
	// SubmissionID is the submission id; "" removes it (XBau
	// bezug/referenz, JSON submission_id).
	SubmissionID string
}

var (
	bezugNachricht = regexp.MustCompile(`(?s)\n\s*<bezugNachricht>.*?</bezugNachricht>`)
	referenz       = regexp.MustCompile(`\n\s*<referenz>` + SubmissionID + `</referenz>`)
	jsonMember     = func(name, value string) *regexp.Regexp {
		return regexp.MustCompile(`\n\s*"` + name + `": "` + value + `",`)
	}
	xbauID = regexp.MustCompile(`<nachrichtenUUID>[0-9a-f-]{36}</nachrichtenUUID>`)
	jsonID = regexp.MustCompile(`"id": "a7000000-[0-9a-f-]{27}"`)
)

// Render returns the golden answer name with the ids of r in place of the
// placeholders.
func Render(t testing.TB, name string, r Refs) []byte {
	t.Helper()
	s := string(Read(t, name))
	if r.MessageID == "" {
		r.MessageID = uuid.NewString()
	}
	switch {
	case strings.HasSuffix(name, ".json"):
		s = jsonID.ReplaceAllLiteralString(s, `"id": "`+r.MessageID+`"`)
		s = member(s, "reference", Reference, r.Reference)
		s = member(s, "submission_id", SubmissionID, r.SubmissionID)
	case strings.HasPrefix(name, "FVDaten."):
		if r.Reference == "" {
			t.Fatalf("answerstest: %s needs a Reference (the ProzessID)", name)
		}
		s = strings.ReplaceAll(s, Reference, r.Reference)
	default:
		// The first nachrichtenUUID is the answer's own (in the
		// Nachrichtenkopf); the one in bezugNachricht is the reference.
		loc := xbauID.FindStringIndex(s)
		s = s[:loc[0]] + "<nachrichtenUUID>" + r.MessageID + "</nachrichtenUUID>" + s[loc[1]:]
		if r.Reference == "" {
			s = bezugNachricht.ReplaceAllLiteralString(s, "")
		} else {
			s = strings.ReplaceAll(s, Reference, r.Reference)
		}
		if r.SubmissionID == "" {
			s = referenz.ReplaceAllLiteralString(s, "")
		} else {
			s = strings.ReplaceAll(s, SubmissionID, r.SubmissionID)
		}
	}
	return []byte(s)
}

// member replaces the placeholder value of a JSON member, or removes the
// member where value is "".
func member(s, name, placeholder, value string) string {
	if value == "" {
		return jsonMember(name, placeholder).ReplaceAllLiteralString(s, "")
	}
	return strings.ReplaceAll(s, `"`+name+`": "`+placeholder+`"`, `"`+name+`": "`+value+`"`)
}

// Entry is a file of a Container.
type Entry struct {
	Name string
	Data []byte
}

// Container returns a ZIP container holding the entries in order, as a
// Fachverfahren sends an answer with its documents (the message first).
func Container(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// BescheidContainer renders the golden Bescheid (0205) with r and packs it
// with its PDF into a ZIP container.
func BescheidContainer(t testing.TB, r Refs) []byte {
	t.Helper()
	return Container(t,
		Entry{Name: "baugenehmigung.bescheid.0205.xml", Data: Render(t, Bescheid, r)},
		Entry{Name: BescheidPDF, Data: Read(t, BescheidPDF)})
}
