package answers

import (
	"time"
)

// Kind is what an answer tells about the submission it refers to; the
// answer service turns it into a state of the submission's timeline.
type Kind string

// Kinds of answers.
const (
	// KindReceived: the authority received the application
	// (XBau prozessnachrichten.eingangsbestaetigung.1120; JSON "received").
	KindReceived Kind = "received"
	// KindCaseNumber: the authority assigned an Aktenzeichen
	// (XBau prozessnachrichten.aktenzeichen.1121; JSON "case_number").
	KindCaseNumber Kind = "case_number"
	// KindIncomplete: the formelle Prüfung found documents missing or
	// faulty, listed in Findings (XBau baugenehmigung.formellePruefung.0201
	// with antragVollstaendig false; JSON "incomplete").
	KindIncomplete Kind = "incomplete"
	// KindComplete: the formelle Prüfung found the application complete
	// (XBau baugenehmigung.formellePruefung.0201 with antragVollstaendig
	// true; JSON "complete").
	KindComplete Kind = "complete"
	// KindDecided: the authority decided, see Decision (XBau
	// baugenehmigung.bescheid.0205, approving or denying; JSON "decided").
	KindDecided Kind = "decided"
	// KindRejected: the authority refuses to process the application
	// without a decision on its merits (for example not responsible;
	// JSON "rejected"). Decision holds the reason.
	KindRejected Kind = "rejected"
	// KindDMSReceived: the DMS received the filing message
	// (xdomea FVDaten.EmpfangBestaetigen.0629).
	KindDMSReceived Kind = "dms_received"
	// KindFiled: the DMS imported the record, DMSID is its id
	// (xdomea FVDaten.ImportBestaetigen.0630 reporting success).
	KindFiled Kind = "filed"
	// KindFilingFailed: the DMS could not import the record
	// (xdomea FVDaten.ImportBestaetigen.0630 reporting failure); Findings
	// hold the DMS's codes.
	KindFilingFailed Kind = "filing_failed"
)

// Message types of Answer.Type.
const (
	TypeEingangsbestaetigung = "prozessnachrichten.eingangsbestaetigung.1120"
	TypeAktenzeichen         = "prozessnachrichten.aktenzeichen.1121"
	TypeFormellePruefung     = "baugenehmigung.formellePruefung.0201"
	TypeBescheid             = "baugenehmigung.bescheid.0205"
	TypeEmpfangBestaetigen   = "FVDaten.EmpfangBestaetigen.0629"
	TypeImportBestaetigen    = "FVDaten.ImportBestaetigen.0630"
	TypeJSON                 = "json"
)

// Answer is a parsed answer from the authority: what it says and what it
// refers to. Parse returns one only when every required part is present.
type Answer struct {
	// MessageID is the answer's own message id, the key that makes
	// receiving it idempotent, in lower case: XBau
	// nachrichtenkopf.g2g/identifikation.nachricht/nachrichtenUUID; JSON
	// "id". xdomea gives a confirmation no id of its own (its Kopf carries
	// the ProzessID of the message it confirms), so for 0629 and 0630 it is
	// a name-based UUID (version 5) of the message type and the ProzessID:
	// one receipt and one import confirmation per filing message.
	MessageID string
	// Type is the message type, one of the Type constants.
	Type string
	// Kind is what the answer tells.
	Kind Kind
	// Reference is the id of the original message Amtsbote sent, in lower
	// case, or "": XBau bezug/bezugNachricht/nachrichtenUUID (the 0200's
	// nachrichtenUUID, which is the outbox message id); xdomea
	// Kopf/ProzessID (the ProzessID of the 0605, which is the outbox
	// message id); JSON "reference".
	Reference string
	// SubmissionReference is the referenzAntragsservice of the original
	// message, in lower case, or "": Amtsbote writes its submission id
	// there. XBau bezug/referenz; JSON "submission_id". XBau says the
	// 1121 carries no bezugNachricht, so it refers by this alone. At least
	// one of Reference and SubmissionReference is set.
	SubmissionReference string
	// SentAt is when the authority created the answer: XBau
	// identifikation.nachricht/erstellungszeitpunkt, xdomea
	// Kopf/Erstellungszeitpunkt, JSON "sent_at".
	SentAt time.Time
	// Aktenzeichen is the authority's case number, where the answer names
	// it: XBau bezug/vorgang; JSON "aktenzeichen".
	Aktenzeichen string
	// DMSID is the record's id in the DMS (0630:
	// ErfolgOderMisserfolg/Rueckgabeparameter/IDSGO).
	DMSID string
	// Findings are the Befundliste of a formelle Prüfung (missing or
	// faulty documents), or the DMS's error codes of a failed import.
	Findings []Finding
	// Frist is the deadline the authority sets for the missing documents
	// (0201 befundFrist/frist), or zero.
	Frist time.Time
	// Decision is the decision of a Bescheid (KindDecided) or the reason of
	// a rejection (KindRejected); nil otherwise.
	Decision *Decision
	// Information is the authority's explanatory text, where the answer
	// has one (1120 information, 0201 anschreiben, JSON "text"),
	// paragraphs joined by blank lines.
	Information string
	// Attachments are the documents of the answer (0205 anlagen; JSON
	// "attachments"), in document order.
	Attachments []Attachment
}

// Finding is one entry of a Befundliste: a missing or faulty document.
type Finding struct {
	// Code is the kind of finding: XBau artDesBefundes/code (code list
	// xbau-formelle-befunde-art), xdomea the Rueckmeldung's code; JSON
	// "code".
	Code string
	// Document names the document concerned, where the finding names one:
	// XBau betroffeneAnlage/code (an Anlageart code) or refAnlage; JSON
	// "document".
	Document string
	// Text describes the finding: XBau beschreibung; JSON "text".
	Text string
}

// Decision outcomes of Decision.Outcome.
const (
	OutcomeApproved = "approved" // Genehmigung (0205 tenor/istGenehmigung true)
	OutcomeDenied   = "denied"   // Ablehnung (0205 tenor/istGenehmigung false)
	OutcomeRejected = "rejected" // KindRejected: not decided on the merits
)

// Decision is the decision of a Bescheid, or the reason of a rejection.
type Decision struct {
	// Outcome is one of the Outcome constants.
	Outcome string
	// Text is the decision's text (0205 tenor/kommentareFachrecht, JSON
	// "decision.text"), paragraphs joined by blank lines.
	Text string
	// Date is the date of the decision: the answer's creation time for
	// XBau (the Bescheid is issued by sending it), JSON "decision.date".
	Date time.Time
}

// Attachment is a document of an answer.
type Attachment struct {
	// ID is the document's id: XBau anhang/dokumentid (an URI, e.g.
	// "urn:uuid:..."); JSON "id".
	ID string
	// Title is its Bezeichnung (XBau anlage/bezeichnung; JSON "title").
	Title string
	// FileName is a plain file name (XBau anhang/dateiname; JSON
	// "filename").
	FileName string
	// MediaType is its MIME type (XBau mimeType/code; JSON "media_type").
	MediaType string
	// Data is the content, or nil where the answer only names the
	// document: an XBau message sent as plain XML carries no files (they
	// travel in a ZIP container beside it), and a verlinkung points
	// elsewhere (URI).
	Data []byte
	// URI is the link of an XBau anhangOderVerlinkung/verlinkung, or "".
	URI string
	// Size is the size the answer states (XBau anhang/@filesize), or 0.
	// Parse checks it against Data where the file came with the answer.
	Size int64
}

// Default limits of Limits.
const (
	DefaultMaxBytes   int64 = 20 << 20 // 20 MiB
	DefaultMaxDepth         = 64
	DefaultMaxEntries       = 100
)

// Limits bound what Parse reads. The zero value of a field means its
// default.
type Limits struct {
	// MaxBytes is the largest body accepted, and for a ZIP container also
	// the most it may unpack to in total. Default DefaultMaxBytes.
	MaxBytes int64
	// MaxDepth is the deepest nesting of XML elements or JSON values
	// accepted. Default DefaultMaxDepth.
	MaxDepth int
	// MaxEntries is the most files a ZIP container may hold. Default
	// DefaultMaxEntries.
	MaxEntries int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// Error is a body that is not an acceptable answer. Its fields are those of
// intake.AnswerError, which the answer service wraps it in (transform does
// not import intake).
type Error struct {
	// Path locates the problem: an element path such as
	// "/xbauk:prozessnachrichten.aktenzeichen.1121/bezug/referenz" for
	// XML, an RFC 6901 JSON pointer for JSON, "zip:<entry>" followed by an
	// element path inside a ZIP container, or "" for the whole body.
	Path string
	// Reason says what is wrong, without echoing the body's content.
	Reason string
	// Err, optional, is the underlying error; it never holds the body's
	// content either.
	Err error
}

// Error returns the path and the reason.
func (e *Error) Error() string {
	if e.Path == "" {
		return "invalid answer: " + e.Reason
	}
	return "invalid answer at " + e.Path + ": " + e.Reason
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
