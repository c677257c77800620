package answers_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform/answers"
	"github.com/amtsbote/amtsbote/transform/answers/answerstest"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// schemaOf names the official XSD each golden XML answer is valid against.
var schemaOf = map[string]string{
	answerstest.Eingangsbestaetigung: "xbau-2.6/xsd_dev/xbau-kernmodul-prozessnachrichten.xsd",
	answerstest.Aktenzeichen:         "xbau-2.6/xsd_dev/xbau-kernmodul-prozessnachrichten.xsd",
	answerstest.FormellePruefung:     "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd",
	answerstest.Bescheid:             "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd",
	answerstest.EmpfangBestaetigen:   "xdomea-3.0.0/schemes/xdomea_3.0.0/xdomea.xsd",
	answerstest.ImportBestaetigen:    "xdomea-3.0.0/schemes/xdomea_3.0.0/xdomea.xsd",
}

func TestGoldenAnswersAreSchemaValid(t *testing.T) {
	t.Parallel()
	for _, name := range answerstest.XML {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			xoevtest.Validate(t, xoevtest.Schema(t, schemaOf[name]), answerstest.Read(t, name))
		})
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	ref = answerstest.Reference
	sub = answerstest.SubmissionID
)

// golden is what each golden answer parses to (attachment data apart).
var golden = map[string]answers.Answer{
	answerstest.Eingangsbestaetigung: {
		MessageID: "a1120000-0000-4000-8000-000000001120", Type: answers.TypeEingangsbestaetigung, Kind: answers.KindReceived,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-07T09:30:00Z"),
		Information: "Ihr Antrag ist eingegangen und wird bearbeitet.",
	},
	answerstest.Aktenzeichen: {
		MessageID: "a1121000-0000-4000-8000-000000001121", Type: answers.TypeAktenzeichen, Kind: answers.KindCaseNumber,
		SubmissionReference: sub, SentAt: at("2026-12-07T09:30:00Z"), Aktenzeichen: "63-BG-2026-0815",
	},
	answerstest.FormellePruefung: {
		MessageID: "a0201000-0000-4000-8000-000000000201", Type: answers.TypeFormellePruefung, Kind: answers.KindIncomplete,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-07T09:30:00Z"), Aktenzeichen: "63-BG-2026-0815",
		Findings: []answers.Finding{
			{Code: "02", Document: "0000", Text: "Der Lageplan fehlt."},
			{Code: "03", Document: "Baubeschreibung", Text: "Die Baubeschreibung ist nicht unterschrieben."},
		},
		Frist:       day("2027-01-15"),
		Information: "Bitte reichen Sie die fehlenden Unterlagen nach.",
	},
	answerstest.Bescheid: {
		MessageID: "a0205000-0000-4000-8000-000000000205", Type: answers.TypeBescheid, Kind: answers.KindDecided,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-07T09:30:00Z"), Aktenzeichen: "63-BG-2026-0815",
		Decision: &answers.Decision{Outcome: answers.OutcomeApproved, Text: "Die Baugenehmigung wird erteilt.", Date: at("2026-12-07T09:30:00Z")},
		Attachments: []answers.Attachment{{
			ID: "urn:uuid:b0205000-0000-4000-8000-000000000001", Title: "Baugenehmigung",
			FileName: "baugenehmigung.pdf", MediaType: "application/pdf",
		}},
	},
	answerstest.EmpfangBestaetigen: {
		MessageID: "", Type: answers.TypeEmpfangBestaetigen, Kind: answers.KindDMSReceived,
		Reference: ref, SentAt: at("2026-12-07T10:00:00Z"),
	},
	answerstest.ImportBestaetigen: {
		MessageID: "", Type: answers.TypeImportBestaetigen, Kind: answers.KindFiled,
		Reference: ref, SentAt: at("2026-12-07T10:00:00Z"), DMSID: "d0630000-0000-4000-8000-000000000630",
	},
	answerstest.JSONReceived: {
		MessageID: "a7000000-0000-4000-8000-000000000001", Type: answers.TypeJSON, Kind: answers.KindReceived,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-07T09:30:00Z"), Information: "Ihr Antrag ist eingegangen.",
	},
	answerstest.JSONCaseNumber: {
		MessageID: "a7000000-0000-4000-8000-000000000002", Type: answers.TypeJSON, Kind: answers.KindCaseNumber,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-07T09:45:00Z"), Aktenzeichen: "32-GEW-2026-4711",
	},
	answerstest.JSONIncomplete: {
		MessageID: "a7000000-0000-4000-8000-000000000003", Type: answers.TypeJSON, Kind: answers.KindIncomplete,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-08T10:00:00Z"), Aktenzeichen: "32-GEW-2026-4711",
		Information: "Bitte reichen Sie die fehlenden Unterlagen nach.",
		Findings: []answers.Finding{
			{Code: "missing", Document: "Führungszeugnis", Text: "Das Führungszeugnis fehlt."},
			{Code: "faulty", Document: "Personalausweis", Text: "Die Kopie ist nicht lesbar."},
		},
		Frist: day("2027-01-15"),
	},
	answerstest.JSONDecided: {
		MessageID: "a7000000-0000-4000-8000-000000000004", Type: answers.TypeJSON, Kind: answers.KindDecided,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-10T14:00:00Z"), Aktenzeichen: "32-GEW-2026-4711",
		Decision: &answers.Decision{Outcome: answers.OutcomeApproved, Text: "Die Erlaubnis wird erteilt.", Date: day("2026-12-10")},
		Attachments: []answers.Attachment{{
			ID: "bescheid-4711", Title: "Bescheid", FileName: "bescheid.pdf", MediaType: "application/pdf",
		}},
	},
	answerstest.JSONRejected: {
		MessageID: "a7000000-0000-4000-8000-000000000005", Type: answers.TypeJSON, Kind: answers.KindRejected,
		Reference: ref, SubmissionReference: sub, SentAt: at("2026-12-07T10:00:00Z"),
		Decision: &answers.Decision{Outcome: answers.OutcomeRejected, Text: "Für das Vorhaben ist die Behörde nicht zuständig.", Date: at("2026-12-07T10:00:00Z")},
	},
}

func TestParseGolden(t *testing.T) {
	t.Parallel()
	pdf := answerstest.Read(t, answerstest.BescheidPDF)
	names := append(append([]string{}, answerstest.XML...), answerstest.JSON...)
	if len(names) != len(golden) {
		t.Fatalf("%d golden answers, %d expectations", len(names), len(golden))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ct := "application/xml"
			if strings.HasSuffix(name, ".json") {
				ct = "application/json"
			}
			for _, ct := range []string{ct, ""} {
				got, err := answers.Parse(answerstest.Read(t, name), ct, answers.Limits{})
				if err != nil {
					t.Fatalf("content type %q: %v", ct, err)
				}
				want := golden[name]
				if want.MessageID == "" { // xdomea: derived from type and ProzessID
					if len(got.MessageID) != 36 || got.MessageID == ref {
						t.Errorf("MessageID = %q, want a derived UUID", got.MessageID)
					}
					want.MessageID = got.MessageID
				}
				if name == answerstest.JSONDecided {
					if len(got.Attachments) != 1 || string(got.Attachments[0].Data) != string(pdf) {
						t.Fatalf("attachment data differs from %s", answerstest.BescheidPDF)
					}
					got.Attachments[0].Data = nil
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("content type %q:\n got %+v\nwant %+v", ct, got, want)
				}
			}
		})
	}
}

// The xdomea confirmations get distinct, stable ids: one per type and
// ProzessID.
func TestXdomeaMessageIDs(t *testing.T) {
	t.Parallel()
	id := func(name, ref string) string {
		a, err := answers.Parse(answerstest.Render(t, name, answerstest.Refs{Reference: ref}), "", answers.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return a.MessageID
	}
	other := "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	ids := map[string]bool{
		id(answerstest.EmpfangBestaetigen, ref): true, id(answerstest.ImportBestaetigen, ref): true,
		id(answerstest.EmpfangBestaetigen, other): true, id(answerstest.ImportBestaetigen, other): true,
	}
	if len(ids) != 4 {
		t.Errorf("ids are not distinct: %v", ids)
	}
	if id(answerstest.ImportBestaetigen, other) != id(answerstest.ImportBestaetigen, strings.ToUpper(other)) {
		t.Error("the id depends on the case of the ProzessID")
	}
}

func TestParseBescheidContainer(t *testing.T) {
	t.Parallel()
	r := answerstest.Refs{MessageID: "5d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", Reference: "7c9e6679-7425-40de-944b-e07fc1f90ae7", SubmissionID: "0b7c6f0e-1d2a-4c3b-8e9f-112233445566"}
	a, err := answers.Parse(answerstest.BescheidContainer(t, r), "application/zip", answers.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if a.MessageID != r.MessageID || a.Reference != r.Reference || a.SubmissionReference != r.SubmissionID || a.Kind != answers.KindDecided {
		t.Errorf("got %+v", a)
	}
	if len(a.Attachments) != 1 || string(a.Attachments[0].Data) != string(answerstest.Read(t, answerstest.BescheidPDF)) {
		t.Errorf("attachment data not read from the container")
	}
	// The Amtsbote naming <uuid>_<dateiname> is found too.
	xml := answerstest.Render(t, answerstest.Bescheid, r)
	zipped := answerstest.Container(t,
		answerstest.Entry{Name: "b0205000-0000-4000-8000-000000000001_baugenehmigung.pdf", Data: []byte("%PDF-1.4 x")},
		answerstest.Entry{Name: "answer.xml", Data: xml})
	if a, err := answers.Parse(zipped, "", answers.Limits{}); err != nil || string(a.Attachments[0].Data) != "%PDF-1.4 x" {
		t.Errorf("uuid-prefixed entry: %v", err)
	}
}

// Render keeps every golden answer schema-valid and puts the ids where
// Parse finds them; an empty id removes the reference.
func TestRender(t *testing.T) {
	t.Parallel()
	full := answerstest.Refs{MessageID: "5d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", Reference: "7c9e6679-7425-40de-944b-e07fc1f90ae7", SubmissionID: "0b7c6f0e-1d2a-4c3b-8e9f-112233445566"}
	for _, name := range append(append([]string{}, answerstest.XML...), answerstest.JSON...) {
		for _, r := range []answerstest.Refs{full, {Reference: full.Reference}, {SubmissionID: full.SubmissionID}} {
			xdomea := strings.HasPrefix(name, "FVDaten.")
			if xdomea && r.Reference == "" {
				continue
			}
			body := answerstest.Render(t, name, r)
			if s, ok := schemaOf[name]; ok {
				xoevtest.Validate(t, xoevtest.Schema(t, s), body)
			}
			a, err := answers.Parse(body, "", answers.Limits{})
			if name == answerstest.Aktenzeichen && r.SubmissionID == "" {
				// The 1121 refers by referenz alone.
				if !errors.Is(err, answers.ErrNoReference) {
					t.Errorf("%s without referenz: err = %v, want ErrNoReference", name, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %+v: %v", name, r, err)
			}
			wantRef := r.Reference
			if name == answerstest.Aktenzeichen {
				wantRef = ""
			}
			wantSub := r.SubmissionID
			if xdomea {
				wantSub = ""
			}
			if a.Reference != wantRef || a.SubmissionReference != wantSub {
				t.Errorf("%s %+v: Reference %q, SubmissionReference %q", name, r, a.Reference, a.SubmissionReference)
			}
			if !xdomea && r.MessageID != "" && a.MessageID != r.MessageID {
				t.Errorf("%s: MessageID %q, want %q", name, a.MessageID, r.MessageID)
			}
			if !xdomea && r.MessageID == "" && (len(a.MessageID) != 36 || a.MessageID == golden[name].MessageID) {
				t.Errorf("%s: MessageID %q, want a fresh UUID", name, a.MessageID)
			}
		}
	}
}
