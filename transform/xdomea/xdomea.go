package xdomea

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin without depending on the host's zoneinfo
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
)

// Names of the message.
const (
	// Namespace is the XML namespace of xdomea 3.0.0, bound to the prefix "xdomea".
	Namespace = "urn:xoev-de:xdomea:schema:3.0.0"
	// Nachricht is the name of the message and of its root element.
	Nachricht = "FVDaten.SGOAblegen.0605"
	// MessageType is the Document.MessageType of the messages.
	MessageType = "xdomea." + Nachricht
	// ErweiterungKennung identifies the AnwendungsspezifischeErweiterung in
	// which the application's metadata travel.
	ErweiterungKennung = "urn:amtsbote:xdomea:einreichung:1"
	// PrimaryMIMEType is the MIME type of the primary document.
	PrimaryMIMEType = "application/xml"
)

// Code values from the xdomea 3.0.0 code lists.
const (
	codeNachrichtentyp = "0605"
	codeDateiformatXML = "030" // Dateiformat 1.0: "xml - eXtensible Markup Language"
)

// listDateiformat is the xdomea code list Dateiformat 1.0.
var listDateiformat = xoev.CodeList{URI: "urn:xoev-de:xdomea:codeliste:dateiformat", Version: "1.0"}

// Metadata is what a filing destination adds to the Input: the names a
// human reader of the E-Akte needs and the DMS parameters of the destination.
type Metadata struct {
	// ProcedureName is the procedure's name for people, e.g.
	// "Gewerbeanmeldung"; the default Akte title and the fallback Betreff
	// start with it. Required.
	ProcedureName string
	// TenantName is the tenant's name for people, e.g. "Stadt Musterstadt". Required.
	TenantName string
	// Creator is the Erstellerkennung: the DMS user id under which Amtsbote
	// files documents at this destination. Required.
	Creator string
	// Container is the DMS id of the Akte to file the Vorgang into
	// (IDContainer); PlaceholderJahr in it stands for the year of receipt.
	// Empty: the message carries the Akte itself, described by Akte.
	Container string
	// ReceiptRequested asks the DMS for an Empfangsbestaetigung besides the
	// import confirmation.
	ReceiptRequested bool
	// Akte describes the Akte that holds the submission's Vorgang. With
	// Container set only its Betreff is written (as the Vorgang's
	// Aktenbetreff); config validation refuses the other fields there.
	Akte Akte
	// Ablageort is the directory (or URL) in which the DMS finds the files
	// the message names, for exchange through a shared directory or WebDAV;
	// empty writes no Ablageort (the files travel in the message's stream).
	Ablageort string
}

// Akte describes the Akte of a destination's Vorgänge. PlaceholderJahr in
// any field stands for the year of receipt (Europe/Berlin), which makes the
// Akte a yearly one: one Akte per year, whose Laufzeit is that year.
type Akte struct {
	// Betreff is the Aktentitel; empty means ProcedureName + " " + PlaceholderJahr.
	Betreff string
	// Aktenzeichen is the Kennzeichen of the Akte, e.g. "63.01.01-{jahr}"; optional.
	Aktenzeichen string
	// Aktenplankennzeichen is the Kennzeichen of the Aktenplaneinheit the
	// Akte belongs to, e.g. "63.01.01"; optional.
	Aktenplankennzeichen string
	// Typ is the kind of Akte, e.g. "Bauakte"; optional.
	Typ string
}

// PlaceholderJahr in the Akte's fields and the Container stands for the
// four-digit year in which the submission was received (Europe/Berlin).
const PlaceholderJahr = "{jahr}"

// File is a file that travels with the message in its ZIP container:
// generated content, or an attachment stored elsewhere.
type File struct {
	Name     string // file name in the container, as referenced by Primaerdokument/Dateiname
	MIMEType string
	Content  []byte // generated content; nil for an attachment
	// Attachment is the submission's attachment this file carries (its Ref
	// says where the content is stored); nil for generated content.
	Attachment *transform.Attachment
}

// Message is a built filing message with the files it references.
type Message struct {
	// Document is the message XML; Document.MessageType is MessageType.
	Document transform.Document
	// Name is the base name of the message file and of its ZIP container:
	// "<message id>_FVDaten.SGOAblegen.0605".
	Name string
	// Primary is the primary document: the inner XÖV document as <message id>.xml.
	Primary File
	// Attachments are the submission's attachments, filed as Anlagen of the
	// document, each as "<attachment id>_<file name>".
	Attachments []File
	// modified is the modification time of the files in the ZIP container.
	modified time.Time
}

// Wrap builds the FVDaten.SGOAblegen.0605 message that files inner, the
// XÖV document generated for in.Submission, in the E-Akte. The message
// references inner as its primary document; use Build to get the file too.
func Wrap(in transform.Input, inner transform.Document, meta Metadata) (transform.Document, error) {
	m, err := Build(in, inner, meta)
	if err != nil {
		return transform.Document{}, err
	}
	return m.Document, nil
}

// Build is Wrap returning the whole Message: the message XML and the primary
// document file that xdomea 3.0.0 delivers alongside it.
func Build(in transform.Input, inner transform.Document, meta Metadata) (Message, error) {
	if err := check(in, inner, meta); err != nil {
		return Message{}, err
	}
	s := in.Submission
	primaryName := strings.ToLower(in.MessageID) + ".xml"

	doc := xoev.NewDocument()
	root := doc.CreateElement("xdomea:" + Nachricht)
	root.CreateAttr("xmlns:xdomea", Namespace)

	kopf := root.CreateElement("xdomea:Kopf")
	xoev.Text(kopf, "xdomea:ProzessID", in.MessageID)
	code(kopf, "xdomea:Nachrichtentyp", codeNachrichtentyp)
	xoev.Text(kopf, "xdomea:Erstellungszeitpunkt", xoev.Timestamp(in.CreatedAt))
	kontakt(kopf.CreateElement("xdomea:Absender"), in.Author)
	kontakt(kopf.CreateElement("xdomea:Empfaenger"), in.Reader)
	if in.Product.Name != "" || in.Product.Version != "" {
		sys := kopf.CreateElement("xdomea:SendendesSystem")
		xoev.OptionalText(sys, "xdomea:Produktname", in.Product.Name)
		xoev.OptionalText(sys, "xdomea:Version", in.Product.Version)
	}
	xoev.Text(kopf, "xdomea:Empfangsbestaetigung", boolean(meta.ReceiptRequested))
	xoev.Text(kopf, "xdomea:Importbestaetigung", "1")
	xoev.Text(kopf, "xdomea:Erstellerkennung", meta.Creator)
	xoev.Text(kopf, "xdomea:Stapel", "0")

	// One Vorgang per submission, inside the destination's Akte: the
	// Akte is in the message unless the DMS id of an existing one is
	// configured (IDContainer).
	received := s.ReceivedAt.In(berlin)
	eingang := received.Format(time.DateOnly)
	jahr := eingang[:4]
	akte := meta.Akte.resolve(meta.ProcedureName, jahr)
	betreff := Betreff(s, meta.ProcedureName)
	anlagenBetreffe := make([]string, len(s.Attachments))
	for i, a := range s.Attachments {
		anlagenBetreffe[i] = anlageBetreff(s.Data, a)
	}
	if err := checkBetreffe(betreff, anlagenBetreffe); err != nil {
		return Message{}, err
	}
	sgo := root.CreateElement("xdomea:SchriftgutobjektZumAblegen")
	xoev.Text(sgo, "xdomea:FachverfahrenObjektID", s.ID)
	var vorgang *etree.Element
	if meta.Container != "" {
		xoev.Text(sgo, "xdomea:IDContainer", fillJahr(meta.Container, jahr))
		vorgang = sgo.CreateElement("xdomea:Schriftgutobjekt").CreateElement("xdomea:Vorgang")
	} else {
		a := sgo.CreateElement("xdomea:Schriftgutobjekt").CreateElement("xdomea:Akte")
		xoev.Text(a.CreateElement("xdomea:Identifikation"), "xdomea:ID", akteID(s, akte))
		am := a.CreateElement("xdomea:AllgemeineMetadaten")
		xoev.Text(am, "xdomea:Betreff", akte.Betreff)
		xoev.OptionalText(am, "xdomea:Kennzeichen", akte.Aktenzeichen)
		if akte.Aktenplankennzeichen != "" {
			xoev.Text(am.CreateElement("xdomea:Aktenplaneinheit"), "xdomea:Kennzeichen", akte.Aktenplankennzeichen)
		}
		xoev.OptionalText(a, "xdomea:Typ", akte.Typ)
		if meta.Akte.yearly() {
			// The yearly Akte is open while its year runs: a DMS may read an
			// Ende as the Akte's closing (zdA), so the Laufzeit has only its
			// Beginn until the year is over when the message is created.
			lz := a.CreateElement("xdomea:Laufzeit")
			xoev.Text(lz, "xdomea:Beginn", jahr+"-01-01")
			if in.CreatedAt.In(berlin).Year() > received.Year() {
				xoev.Text(lz, "xdomea:Ende", jahr+"-12-31")
			}
		}
		vorgang = a.CreateElement("xdomea:Akteninhalt").CreateElement("xdomea:Vorgang")
	}
	xoev.Text(vorgang.CreateElement("xdomea:Identifikation"), "xdomea:ID", vorgangID(s.ID))
	xoev.Text(vorgang.CreateElement("xdomea:AllgemeineMetadaten"), "xdomea:Betreff", betreff)
	if meta.Container != "" {
		xoev.Text(vorgang, "xdomea:Aktenbetreff", akte.Betreff)
	}
	xoev.Text(vorgang, "xdomea:Typ", meta.ProcedureName)
	xoev.Text(vorgang.CreateElement("xdomea:Laufzeit"), "xdomea:Beginn", eingang)

	dok := vorgang.CreateElement("xdomea:Dokument")
	id := dok.CreateElement("xdomea:Identifikation")
	xoev.Text(id, "xdomea:ID", documentID(in.MessageID))
	xoev.Text(id, "xdomea:NummerImUebergeordnetenContainer", "1")
	xoev.Text(dok.CreateElement("xdomea:AllgemeineMetadaten"), "xdomea:Betreff", betreff)
	xoev.Text(dok, "xdomea:FremdesGeschaeftszeichen", s.ID)
	xoev.Text(dok, "xdomea:Posteingangsdatum", eingang)
	xoev.Text(dok, "xdomea:Typ", "Antrag")
	format := dok.CreateElement("xdomea:Version")
	xoev.Text(format, "xdomea:Nummer", "1")
	f := format.CreateElement("xdomea:Format")
	xoev.Code(f, "xdomea:Name", listDateiformat, codeDateiformatXML)
	xoev.Text(f, "xdomea:Version", "1.0")
	pd := f.CreateElement("xdomea:Primaerdokument")
	xoev.Text(pd, "xdomea:Dateiname", primaryName)
	xoev.OptionalText(pd, "xdomea:Ersteller", in.Product.Name)
	xoev.Text(pd, "xdomea:DatumUhrzeit", xoev.Timestamp(in.CreatedAt))

	var attachments []File
	for i := range s.Attachments {
		a := &s.Attachments[i]
		f := File{Name: strings.ToLower(a.ID) + "_" + a.FileName, MIMEType: a.MIMEType, Attachment: a}
		anlage(dok, *a, anlagenBetreffe[i], f.Name, i+1, in.CreatedAt)
		attachments = append(attachments, f)
	}

	ext := dok.CreateElement("xdomea:AnwendungsspezifischeErweiterung")
	xoev.Text(ext, "xdomea:Kennung", ErweiterungKennung)
	xoev.Text(ext, "xdomea:Name", "Amtsbote-Einreichung")
	for _, fld := range [][2]string{
		{"verfahren", s.Procedure},
		{"verfahrensname", meta.ProcedureName},
		{"mandant", s.Tenant},
		{"mandantenname", meta.TenantName},
		{"einreichungID", s.ID},
		{"eingangszeitpunkt", xoev.Timestamp(s.ReceivedAt)},
		{"nachrichtentyp", inner.MessageType},
	} {
		e := ext.CreateElement("xdomea:Feld")
		xoev.Text(e, "xdomea:Name", fld[0])
		xoev.Text(e, "xdomea:Wert", fld[1])
	}

	xoev.OptionalText(sgo, "xdomea:Ablageort", meta.Ablageort)

	out, err := xoev.WriteBytes(doc)
	if err != nil {
		return Message{}, fmt.Errorf("xdomea: write XML: %w", err)
	}
	return Message{
		Document:    transform.Document{XML: out, MessageType: MessageType},
		Name:        strings.ToLower(in.MessageID) + "_" + Nachricht,
		Primary:     File{Name: primaryName, MIMEType: PrimaryMIMEType, Content: inner.XML},
		Attachments: attachments,
		modified:    in.CreatedAt.UTC().Truncate(time.Second),
	}, nil
}

// Files lists the files of m's transport container in order: the message
// as Name+".xml", the primary document, then the attachments. The
// container is assembled where the attachments' content is (the outbox
// streams it into a ZIP at delivery), with Modified as modification time.
func (m Message) Files() []File {
	return append([]File{{Name: m.Name + ".xml", MIMEType: PrimaryMIMEType, Content: m.Document.XML}, m.Primary},
		m.Attachments...)
}

// Modified is the modification time of the files in the container: the
// creation time in whole seconds.
func (m Message) Modified() time.Time { return m.modified }

// dateiformate maps media types to codes of the xdomea code list Dateiformat 1.0.
var dateiformate = map[string]string{
	"application/pdf": "018",
	"image/jpeg":      "010",
	"image/png":       "019",
	"image/tiff":      "024",
	"application/xml": codeDateiformatXML,
	"text/xml":        codeDateiformatXML,
	"text/plain":      "045",
}

// codeDateiformatSonstiges is "Sonstiges": a format the code list lacks,
// named in SonstigerName.
const codeDateiformatSonstiges = "100"

// anlage files attachment a as the n-th Anlage of the document dok.
func anlage(dok *etree.Element, a transform.Attachment, betreff, fileName string, n int, created time.Time) {
	e := dok.CreateElement("xdomea:Anlage")
	xoev.Text(e.CreateElement("xdomea:Identifikation"), "xdomea:ID", strings.ToLower(a.ID))
	xoev.Text(e.CreateElement("xdomea:AllgemeineMetadaten"), "xdomea:Betreff", betreff)
	xoev.Text(e, "xdomea:Typ", "Anlage")
	v := e.CreateElement("xdomea:Version")
	xoev.Text(v, "xdomea:Nummer", "1")
	f := v.CreateElement("xdomea:Format")
	codeValue, known := dateiformate[a.MIMEType]
	if !known {
		codeValue = codeDateiformatSonstiges
	}
	xoev.Code(f, "xdomea:Name", listDateiformat, codeValue)
	if !known {
		xoev.Text(f, "xdomea:SonstigerName", a.MIMEType)
	}
	xoev.Text(f, "xdomea:Version", "1.0")
	pd := f.CreateElement("xdomea:Primaerdokument")
	xoev.Text(pd, "xdomea:Dateiname", fileName)
	xoev.Text(pd, "xdomea:DateinameOriginal", a.FileName) // as uploaded; the Betreff may be the bezeichnung
	xoev.Text(pd, "xdomea:DatumUhrzeit", xoev.Timestamp(created))
	xoev.Text(e, "xdomea:Nummer", strconv.Itoa(n))
}

// berlin is the time zone of Posteingangsdatum. time/tzdata is linked in,
// so loading cannot fail for a valid name.
var berlin = mustLoad("Europe/Berlin")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// documentNamespace is the namespace of the name-based Dokument ids.
var documentNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:amtsbote:xdomea:dokument"))

func documentID(messageID string) string {
	return uuid.NewSHA1(documentNamespace, []byte(strings.ToLower(messageID))).String()
}

// vorgangNamespace and akteNamespace are the namespaces of the name-based
// Vorgang and Akte ids.
var (
	vorgangNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:amtsbote:xdomea:vorgang"))
	akteNamespace    = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:amtsbote:xdomea:akte"))
)

// vorgangID is the Vorgang's id: one per submission, the same for every
// destination and retry.
func vorgangID(submissionID string) string {
	return uuid.NewSHA1(vorgangNamespace, []byte(strings.ToLower(submissionID))).String()
}

// akteID is the Akte's id, derived from the tenant, the procedure and the
// resolved Akte: every Vorgang of the same Akte names the same id, which
// xdomea has both systems keep as the external id of the Akte.
func akteID(s transform.Submission, a Akte) string {
	name := strings.Join([]string{s.Tenant, s.Procedure, a.Aktenplankennzeichen, a.Aktenzeichen, a.Betreff}, "\x00")
	return uuid.NewSHA1(akteNamespace, []byte(name)).String()
}

// resolve returns a with its default Betreff and PlaceholderJahr replaced by jahr.
func (a Akte) resolve(procedureName, jahr string) Akte {
	if a.Betreff == "" {
		a.Betreff = procedureName + " " + PlaceholderJahr
	}
	a.Betreff = fillJahr(a.Betreff, jahr)
	a.Aktenzeichen = fillJahr(a.Aktenzeichen, jahr)
	a.Aktenplankennzeichen = fillJahr(a.Aktenplankennzeichen, jahr)
	a.Typ = fillJahr(a.Typ, jahr)
	return a
}

// yearly reports whether a, with its default Betreff, is one Akte per year.
func (a Akte) yearly() bool {
	return a.Betreff == "" || strings.Contains(a.Betreff+a.Aktenzeichen+a.Aktenplankennzeichen+a.Typ, PlaceholderJahr)
}

func fillJahr(s, jahr string) string { return strings.ReplaceAll(s, PlaceholderJahr, jahr) }

func check(in transform.Input, inner transform.Document, meta Metadata) error {
	errs := append(xoev.CheckVorgangInput(in), xoev.CheckBehoerdenkennungen(in)...)
	if len(inner.XML) == 0 {
		errs = append(errs, errors.New("inner document is empty"))
	} else if !utf8.Valid(inner.XML) {
		errs = append(errs, errors.New("inner document is not UTF-8"))
	}
	if inner.MessageType == "" {
		errs = append(errs, errors.New("inner message type is empty"))
	}
	for i, a := range in.Submission.Attachments {
		switch {
		case !xoev.IsUUID(a.ID):
			errs = append(errs, fmt.Errorf("attachment %d: id is not a UUID", i))
		case a.FileName == "" || strings.ContainsAny(a.FileName, `/\`):
			errs = append(errs, fmt.Errorf("attachment %d: file name is empty or has a path", i))
		case a.MIMEType == "":
			errs = append(errs, fmt.Errorf("attachment %d: media type is empty", i))
		}
	}
	for _, f := range []struct {
		name, value string
		required    bool
	}{
		{"procedure name", meta.ProcedureName, true},
		{"tenant name", meta.TenantName, true},
		{"creator", meta.Creator, true},
		{"container", meta.Container, false},
		{"akte betreff", meta.Akte.Betreff, false},
		{"aktenzeichen", meta.Akte.Aktenzeichen, false},
		{"aktenplankennzeichen", meta.Akte.Aktenplankennzeichen, false},
		{"akte typ", meta.Akte.Typ, false},
		{"ablageort", meta.Ablageort, false},
		{"author name", in.Author.Name, false},
		{"reader name", in.Reader.Name, false},
		{"author kennung", in.Author.Kennung, false},
		{"reader kennung", in.Reader.Kennung, false},
		{"product name", in.Product.Name, false},
		{"product version", in.Product.Version, false},
		{"tenant", in.Submission.Tenant, false},
		{"procedure", in.Submission.Procedure, false},
		{"inner message type", inner.MessageType, false},
	} {
		switch {
		case f.value == "" && f.required:
			errs = append(errs, fmt.Errorf("metadata: %s is empty", f.name))
		case f.value != "":
			if fe := transform.CheckText("", f.value); fe != nil {
				errs = append(errs, fmt.Errorf("%s: %s", f.name, fe[0].Message))
			}
		}
	}
	if errs != nil {
		return fmt.Errorf("xdomea: invalid input: %w", errors.Join(errs...))
	}
	return nil
}

// checkBetreffe checks the texts taken from the payload (a mapper has
// validated it, but Build does not rely on that): no control characters,
// nothing outside DIN SPEC 91379 datatype C.
func checkBetreffe(betreff string, anlagen []string) error {
	var errs []error
	if fe := transform.CheckText("", betreff); fe != nil {
		errs = append(errs, fmt.Errorf("betreff: %s", fe[0].Message))
	}
	for i, b := range anlagen {
		if fe := transform.CheckText("", b); fe != nil {
			errs = append(errs, fmt.Errorf("attachment %d: betreff: %s", i, fe[0].Message))
		}
	}
	if errs != nil {
		return fmt.Errorf("xdomea: invalid input: %w", errors.Join(errs...))
	}
	return nil
}

func boolean(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// kontakt writes the Absender or Empfaenger of the Kopf.
func kontakt(e *etree.Element, p transform.Party) {
	if p.Kennung != "" {
		praefix, kennung, _ := strings.Cut(p.Kennung, ":")
		bk := e.CreateElement("xdomea:Behoerdenkennung")
		code(bk, "xdomea:Behoerdenschluessel", kennung)
		code(bk, "xdomea:Praefix", praefix)
	}
	if p.Name != "" {
		xoev.Text(e.CreateElement("xdomea:Institution"), "xdomea:Name", p.Name)
	}
}

// code writes a code element whose list the schema fixes: no listURI or
// listVersionID, the NFC form of value in an unqualified code child.
func code(parent *etree.Element, tag, value string) {
	xoev.Code(parent, tag, xoev.CodeList{}, transform.NormalizeText(value))
}
