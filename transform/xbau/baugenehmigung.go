package xbau

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
	"github.com/amtsbote/amtsbote/transform/xoev/din91379"
)

// Procedure is the procedure id of the building permit application.
const Procedure = "bau.baugenehmigung"

// Names of the message.
const (
	// Namespace is the XML namespace of XBau 2.6, bound to the prefix "xbau".
	Namespace = "http://www.xleitstelle.de/xbau/2/6"
	// Nachrichtentyp is the local name of the root element.
	Nachrichtentyp = "baugenehmigung.antrag.0200"
	// NachrichtentypCode is the code of the message in the code list
	// urn:xoev-de:xbau:codeliste:xbau-nachrichten.
	NachrichtentypCode = "0200"
	// MessageType is the Document.MessageType of the messages.
	MessageType = "xbau." + Nachrichtentyp
	// Standard and Version are the fixed values of the root attributes
	// standard and version.
	Standard = "XBau-Hochbau"
	Version  = "2.6"
)

// PayloadSchema is the JSON Schema (draft 2020-12) of the payload of
// Procedure: the members applicant, data and identity of the request body.
//
//go:embed baugenehmigung.schema.json
var PayloadSchema []byte

// Baugenehmigung is the transform.Mapper of Procedure: it turns a building
// permit application into an XBau 2.6 baugenehmigung.antrag.0200. Create it
// with New; it is safe for concurrent use.
type Baugenehmigung struct {
	schema *transform.PayloadSchema
}

var _ transform.ValidatedMapper = (*Baugenehmigung)(nil)

// New compiles the payload schema and returns the Mapper.
func New() (*Baugenehmigung, error) {
	s, err := transform.CompilePayloadSchema("baugenehmigung.schema.json", PayloadSchema)
	if err != nil {
		return nil, fmt.Errorf("xbau: %w", err)
	}
	return &Baugenehmigung{schema: s}, nil
}

// Validate reports every problem of s: violations of PayloadSchema, text that
// fails transform.CheckText or lies outside the DIN 91379 repertoire XBau
// requires, Anlagen whose dokumentId or dateiname repeats, Anlagen that are
// neither attached nor marked wirdNachgereicht, codes that are not values of
// their code list, and a Gebäudeklasse that contradicts the stated building
// data (MBO § 2 Abs. 3, see checkGebaeudeklasse). Problems are ordered by
// pointer.
func (b *Baugenehmigung) Validate(s transform.Submission) []transform.FieldError {
	payload := s.Payload()
	errs := b.schema.Validate(payload)
	for _, key := range []string{"applicant", "data", "identity"} {
		if v, ok := payload[key]; ok {
			errs = checkStrings(errs, "/"+key, v)
		}
	}
	errs = checkAnlagenUnique(errs, s.Data)
	errs = checkAttachments(errs, s.Data, s.Attachments)
	errs = checkAnlagenComplete(errs, s.Data, s.Attachments)
	errs = checkCodes(errs, s.Data)
	errs = checkKlassifikation(errs, s.Data)
	errs = checkBauvorhaben(errs, s.Data)
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b transform.FieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
	return slices.CompactFunc(errs, func(a, b transform.FieldError) bool {
		return a.Pointer == b.Pointer && a.Code == b.Code
	})
}

// checkStrings applies transform.CheckText (DIN SPEC 91379 datatype C, the
// type of nearly all XBau text) to every string below v, and to the
// Bezeichnung of an Anlage, which XBau types as datatype D, checkDatatypeD.
func checkStrings(errs []transform.FieldError, pointer string, v any) []transform.FieldError {
	switch v := v.(type) {
	case string:
		if e := transform.CheckText(pointer, v); e != nil {
			return append(errs, e...)
		}
		if strings.HasPrefix(pointer, "/data/anlagen/") && strings.HasSuffix(pointer, "/bezeichnung") {
			return append(errs, checkDatatypeD(pointer, v)...)
		}
		return errs
	case map[string]any:
		for k, e := range v {
			errs = checkStrings(errs, transform.AppendPointer(pointer, k), e)
		}
	case []any:
		for i, e := range v {
			errs = checkStrings(errs, transform.AppendPointer(pointer, strconv.Itoa(i)), e)
		}
	}
	return errs
}

// checkDatatypeD reports the first character of value (in NFC) outside DIN
// SPEC 91379 datatype D, which unlike datatype C has no tab, line breaks or
// no-break space.
func checkDatatypeD(pointer, value string) []transform.FieldError {
	ok, pos, r := din91379.Check(transform.NormalizeText(value), din91379.D)
	if ok {
		return nil
	}
	return []transform.FieldError{{
		Pointer:   pointer,
		Code:      transform.CodeUnsupportedCharacter,
		Message:   fmt.Sprintf("character U+%04X at position %d is not permitted in the designation of an Anlage (DIN SPEC 91379, datatype D)", r, pos),
		MessageDE: fmt.Sprintf("Zeichen U+%04X an Position %d ist in der Bezeichnung einer Anlage nicht zulässig (DIN SPEC 91379, Datentyp D)", r, pos),
	}}
}

// checkAnlagenUnique reports a dokumentId or dateiname used by an earlier
// Anlage: XBau requires both to be unique within the message.
func checkAnlagenUnique(errs []transform.FieldError, data map[string]any) []transform.FieldError {
	anlagen, _ := data["anlagen"].([]any)
	seen := map[[2]string]bool{}
	for i, a := range anlagen {
		a, _ := a.(map[string]any)
		for _, key := range []string{"dokumentId", "dateiname"} {
			v, ok := a[key].(string)
			if !ok {
				continue
			}
			k := [2]string{key, strings.ToLower(transform.NormalizeText(v))}
			if seen[k] {
				errs = append(errs, transform.FieldError{
					Pointer:   "/data/anlagen/" + strconv.Itoa(i) + "/" + key,
					Code:      transform.CodeInvalid,
					Message:   "must differ from the " + key + " of every other Anlage",
					MessageDE: "muss sich vom Wert " + key + " jeder anderen Anlage unterscheiden",
				})
			}
			seen[k] = true
		}
	}
	return errs
}

// checkAttachments ties the files sent with the submission to the Anlagen
// that describe them: every attachment is described by the Anlage whose
// dokumentId is its id, with the same dateiname and mimeType, and that Anlage
// is not marked wirdNachgereicht.
func checkAttachments(errs []transform.FieldError, data map[string]any, attachments []transform.Attachment) []transform.FieldError {
	anlagen, _ := data["anlagen"].([]any)
	byID := map[string]int{}
	for i, a := range anlagen {
		if a, ok := a.(map[string]any); ok {
			if id, ok := a["dokumentId"].(string); ok {
				byID[strings.ToLower(id)] = i
			}
		}
	}
	for i, att := range attachments {
		j, ok := byID[strings.ToLower(att.ID)]
		if !ok {
			errs = append(errs, transform.FieldError{
				Pointer: "/attachments/" + strconv.Itoa(i) + "/id", Code: transform.CodeInvalid,
				Message:   "no Anlage in /data/anlagen has this dokumentId",
				MessageDE: "keine Anlage in /data/anlagen hat diese dokumentId",
			})
			continue
		}
		a := anlagen[j].(map[string]any)
		base := "/data/anlagen/" + strconv.Itoa(j) + "/"
		if name, _ := a["dateiname"].(string); transform.NormalizeText(name) != att.FileName {
			errs = append(errs, transform.FieldError{Pointer: base + "dateiname", Code: transform.CodeInvalid,
				Message:   "must equal the filename of the attachment with this dokumentId",
				MessageDE: "muss dem Dateinamen der Anlage mit dieser dokumentId entsprechen"})
		}
		if mt, _ := a["mimeType"].(string); !strings.EqualFold(mt, att.MIMEType) {
			errs = append(errs, transform.FieldError{Pointer: base + "mimeType", Code: transform.CodeInvalid,
				Message:   "must equal the mime_type of the attachment with this dokumentId",
				MessageDE: "muss dem mime_type der Anlage mit dieser dokumentId entsprechen"})
		}
		if later, _ := a["wirdNachgereicht"].(bool); later {
			errs = append(errs, transform.FieldError{Pointer: base + "wirdNachgereicht", Code: transform.CodeInvalid,
				Message:   "must not be true for an Anlage whose file is attached",
				MessageDE: "darf für eine Anlage, deren Datei beiliegt, nicht true sein"})
		}
	}
	return errs
}

// Map builds the baugenehmigung.antrag.0200 of in. It returns a
// *transform.ValidationError when the submission does not pass Validate, and
// an error when in lacks what the message requires: MessageID and
// Submission.ID as UUIDs, CreatedAt and Submission.ReceivedAt, Kennung and
// Name of Author and Reader, Product.Name and Product.Manufacturer, all of
// them within DIN 91379 datatypeC.
func (b *Baugenehmigung) Map(in transform.Input) (transform.Document, error) {
	if errs := b.Validate(in.Submission); errs != nil {
		return transform.Document{}, &transform.ValidationError{Errors: errs}
	}
	return b.MapValidated(in)
}

// MapValidated is Map without Validate, for a submission that passed it
// (transform.ValidatedMapper).
func (b *Baugenehmigung) MapValidated(in transform.Input) (transform.Document, error) {
	if err := checkInput(in); err != nil {
		return transform.Document{}, err
	}
	doc := xoev.NewDocument()
	buildMessage(doc, in)
	out, err := xoev.WriteBytes(doc)
	if err != nil {
		return transform.Document{}, fmt.Errorf("xbau: write XML: %w", err)
	}
	return transform.Document{XML: out, MessageType: MessageType}, nil
}

func checkInput(in transform.Input) error {
	errs := xoev.CheckInput(in)
	for _, f := range []struct{ what, value string }{
		{"author kennung", in.Author.Kennung},
		{"author name", in.Author.Name},
		{"reader kennung", in.Reader.Kennung},
		{"reader name", in.Reader.Name},
		{"product name", in.Product.Name},
		{"product manufacturer", in.Product.Manufacturer},
		{"product version", in.Product.Version},
	} {
		switch {
		case f.value == "" && f.what != "product version":
			errs = append(errs, fmt.Errorf("%s is empty", f.what))
		case f.value == "":
		case transform.CheckText("", f.value) != nil:
			errs = append(errs, fmt.Errorf("%s has characters outside DIN 91379 datatypeC", f.what))
		}
	}
	if errs != nil {
		return fmt.Errorf("xbau: incomplete input: %w", errors.Join(errs...))
	}
	return nil
}

// Roles name the derived ids of the Akteure (see derivedID).
const (
	roleAntragsteller        = "antragsteller"
	roleBauherr              = "bauherr"
	roleGebuehrenpflichtiger = "gebuehrenpflichtiger"
	roleEntwurfsverfasser    = "entwurfsverfasser"
)

// derivedID is the id of the Akteur in role, or of the building
// "gebaeude/<n>": a name-based UUID (version 5) in the namespace of the
// submission id, so that the same submission always gives the same ids.
func derivedID(submissionID, role string) string {
	ns := uuid.MustParse(submissionID) // checked by checkInput
	return uuid.NewSHA1(ns, []byte(role)).String()
}

// buildMessage writes the root element and everything below it.
func buildMessage(doc *etree.Document, in transform.Input) {
	s := in.Submission
	root := doc.CreateElement("xbau:" + Nachrichtentyp)
	root.CreateAttr("xmlns:xbau", Namespace)
	xoev.ProductAttrs(root, in.Product) // produkt and produkthersteller: required by checkInput
	root.CreateAttr("standard", Standard)
	root.CreateAttr("version", Version)

	kopf := root.CreateElement("nachrichtenkopf.g2g")
	xoev.IdentifikationNachricht(kopf, "", strings.ToLower(in.MessageID), listNachrichten, NachrichtentypCode, in.CreatedAt)
	behoerde(kopf.CreateElement("leser"), in.Reader)
	behoerde(kopf.CreateElement("autor"), in.Author)

	xoev.Text(root.CreateElement("xbau:referenzAntragsservice"), "referenzAntragsservice", strings.ToLower(s.ID))

	data := s.Data
	antragstellerID := derivedID(s.ID, roleAntragsteller)
	akteur(root.CreateElement("xbau:antragsteller"), antragstellerID, s.Applicant)

	if pm := object(data, "prozessmerkmale"); pm != nil {
		prozessmerkmale(root.CreateElement("xbau:prozessmerkmale"), pm)
	}

	bv := object(data, "bauvorhaben")
	vorhaben := root.CreateElement("xbau:bauvorhaben")
	xoev.Text(vorhaben, "xbau:bezeichnungDesBauvorhabens", str(bv, "bezeichnung"))

	beteiligte := vorhaben.CreateElement("xbau:beteiligte")
	bauherr, bauherrID := s.Applicant, antragstellerID
	if o := object(data, "bauherr"); o != nil {
		bauherr, bauherrID = o, derivedID(s.ID, roleBauherr)
	}
	bh := beteiligte.CreateElement("xbau:bauherr")
	akteur(bh.CreateElement("xbau:bauherr"), bauherrID, bauherr)
	if art := str(data, "artDesBauherrn"); art != "" {
		xoev.Code(bh, "xbau:artDesBauherrn", codesBauherrArt.CodeList, art)
	}
	if o := object(data, "entwurfsverfasser"); o != nil {
		ev := beteiligte.CreateElement("xbau:entwurfsverfasser")
		akteur(ev.CreateElement("xbau:personendaten"), derivedID(s.ID, roleEntwurfsverfasser), o)
		if b := object(data, "bauvorlageberechtigung"); b != nil {
			berechtigung(ev.CreateElement("xbau:berechtigung"), b)
		}
	}
	gp, gpID := bauherr, bauherrID
	if o := object(data, "gebuehrenpflichtiger"); o != nil {
		gp, gpID = o, derivedID(s.ID, roleGebuehrenpflichtiger)
	}
	akteur(beteiligte.CreateElement("xbau:gebuehrenpflichtiger"), gpID, gp)

	gegenstand := vorhaben.CreateElement("xbau:gegenstand")
	anzahl := gegenstand.CreateElement("xbau:anzahlDerGebaeude")
	xoev.Text(anzahl, "xbau:anzahlDerGebaeudeImBauvorhaben", number(bv, "anzahlGebaeude"))
	for i, name := range gebaeudeBezeichnungen(bv) {
		ident := anzahl.CreateElement("xbau:identifikationGebaeude")
		xoev.Text(ident, "xbau:uuidGebaeude", derivedID(s.ID, "gebaeude/"+strconv.Itoa(i+1)))
		xoev.Text(ident, "xbau:gebaeudeBezeichnung", name)
	}
	for _, code := range array(bv, "artDerMassnahme") {
		xoev.Code(gegenstand, "xbau:artDerMassnahme", codesBaumassnahmeArt.CodeList, code.(string))
	}
	if a := object(bv, "artDerBaulichenAnlage"); a != nil {
		artDerBaulichenAnlage(gegenstand.CreateElement("xbau:artDerBaulichenAnlage"), a)
	}
	if n := object(bv, "nutzungsaenderung"); n != nil {
		zweck := gegenstand.CreateElement("xbau:zweckDerNutzungsaenderung")
		artDerBaulichenAnlage(zweck.CreateElement("xbau:bisherigeNutzung"), object(n, "bisherigeNutzung"))
		artDerBaulichenAnlage(zweck.CreateElement("xbau:beabsichtigteNutzung"), object(n, "beabsichtigteNutzung"))
	}
	if k := object(bv, "klassifikation"); k != nil {
		klassifikation(gegenstand.CreateElement("xbau:bauordnungsrechtlicheKlassifikation"), k)
	}
	if ne := array(bv, "nutzungseinheiten"); ne != nil {
		nutzungen(gegenstand.CreateElement("xbau:bauvorhabenDatenblatt").CreateElement("xbau:nutzungen"), ne)
	}

	gs := object(data, "baugrundstueck")
	grundstueck := vorhaben.CreateElement("xbau:verortung").CreateElement("xbau:baugrundstueck").CreateElement("xbau:grundstueck")
	if a := object(gs, "anschrift"); a != nil {
		anschrift(grundstueck.CreateElement("xbau:anschrift"), a)
	}
	for _, f := range array(gs, "flurstuecke") {
		flurstueck(grundstueck.CreateElement("xbau:flurstueck"), f.(map[string]any))
	}
	if w := str(bv, "weitereAngaben"); w != "" {
		xoev.Text(vorhaben, "xbau:weitereAngaben", w)
	}

	anlagen := root.CreateElement("xbau:anlagen")
	eingang := s.ReceivedAt.UTC().Format(time.DateOnly)
	for _, a := range array(data, "anlagen") {
		anlage(anlagen.CreateElement("anlage"), a.(map[string]any), eingang, s.Attachments)
	}
}

// gebaeudeBezeichnungen returns the Bezeichnung of each building, one
// identifikationGebaeude each: those of gebaeude, or, for a Bauvorhaben of
// one building that names none, the Bezeichnung of the Bauvorhaben on one
// line, as XBau says identifikationGebaeude "muss" be given once per
// building. With more buildings and no gebaeude nothing is written: the
// payload does not tell them apart.
func gebaeudeBezeichnungen(bv map[string]any) []string {
	var out []string
	for _, g := range array(bv, "gebaeude") {
		out = append(out, str(g.(map[string]any), "bezeichnung"))
	}
	if out == nil && number(bv, "anzahlGebaeude") == "1" {
		out = append(out, strings.Join(strings.Fields(str(bv, "bezeichnung")), " "))
	}
	return out
}

// behoerde writes a Leser or Autor of the Nachrichtenkopf: a DVDV entry.
func behoerde(e *etree.Element, p transform.Party) {
	xoev.Code(e, "verzeichnisdienst", listVerzeichnisdienst, "DVDV")
	xoev.Text(e, "kennung", p.Kennung)
	xoev.Text(e, "name", p.Name)
}

// akteur writes an xbauk:Akteur: a natuerlichePerson or an organisation.
func akteur(e *etree.Element, id string, a map[string]any) {
	if _, person := a["familienname"]; person {
		p := e.CreateElement("natuerlichePerson")
		xoev.Text(p, "id", id)
		personName(p.CreateElement("name"), a)
		anschrift(p.CreateElement("anschrift"), object(a, "anschrift"))
		kommunikation(p, a)
		return
	}
	o := e.CreateElement("organisation")
	xoev.Text(o, "id", id)
	n := o.CreateElement("name")
	xoev.Text(n, "name", str(a, "name"))
	xoev.OptionalText(n, "kurzbezeichnung", str(a, "kurzbezeichnung"))
	anschrift(o.CreateElement("anschrift"), object(a, "anschrift"))
	kommunikation(o, a)
	if ap := object(a, "ansprechpartner"); ap != nil {
		ape := o.CreateElement("ansprechpartner")
		personName(ape.CreateElement("name"), ap)
		xoev.OptionalText(ape, "funktion", str(ap, "funktion"))
	}
}

// personName writes an xbauk:NameNatuerlichePerson. A missing vorname is
// stated as nichtVorhanden.
func personName(e *etree.Element, a map[string]any) {
	xoev.OptionalText(e, "titel", str(a, "titel"))
	xoev.OptionalText(e, "anrede", str(a, "anrede"))
	xoev.Text(e.CreateElement("familienname"), "name", str(a, "familienname"))
	vorname := e.CreateElement("vorname")
	if v := str(a, "vorname"); v != "" {
		xoev.Text(vorname, "name", v)
	} else {
		xoev.Text(vorname, "nichtVorhanden", "true")
	}
}

// anschrift writes an xbauk:Anschrift or its restriction
// xbau:AnschriftGrundstueck (the children are the same).
func anschrift(e *etree.Element, a map[string]any) {
	xoev.OptionalText(e, "strasse", str(a, "strasse"))
	xoev.OptionalText(e, "hausnummer", str(a, "hausnummer"))
	xoev.OptionalText(e, "postleitzahl", str(a, "postleitzahl"))
	xoev.OptionalText(e, "ort", str(a, "ort"))
	xoev.OptionalText(e, "ortsteil", str(a, "ortsteil"))
	xoev.OptionalText(e, "zusatz", str(a, "zusatz"))
}

// kommunikation writes the telephone number and e-mail address of a, if any.
func kommunikation(e *etree.Element, a map[string]any) {
	for _, k := range []struct{ key, kanal string }{{"telefon", "02"}, {"email", "01"}} {
		if v := str(a, k.key); v != "" {
			ke := e.CreateElement("kommunikation")
			xoev.Code(ke, "kanal", listErreichbarkeit, k.kanal)
			xoev.Text(ke, "kennung", v)
		}
	}
}

// flurstueck writes an xbauk:Flurstueckskennzeichen.
func flurstueck(e *etree.Element, f map[string]any) {
	xoev.Code(e, "bundesland", listBundesland, str(f, "bundesland"))
	k := e.CreateElement("kodierungFlurstueck")
	g, gemarkung := k.CreateElement("gemarkung"), object(f, "gemarkung")
	if n := str(gemarkung, "nummer"); n != "" {
		xoev.Text(g, "nummer", n)
	} else {
		xoev.Text(g, "bezeichnung", str(gemarkung, "bezeichnung"))
	}
	xoev.OptionalText(k, "flur", str(f, "flur"))
	xoev.Text(k, "zaehler", str(f, "zaehler"))
	xoev.OptionalText(k, "nenner", str(f, "nenner"))
}

// anlage writes an xbau:MetadatenAnlageErweitert. Without datum, the date of
// receipt is used; without versionsnummer, 1. An attached file is an anhang
// (with its size from the attachment); a file marked wirdNachgereicht has no
// anhang yet, and as XBau requires anhangOderVerlinkung it is named by a
// verlinkung to its future document id, urn:uuid:<dokumentId>.
func anlage(e *etree.Element, a map[string]any, eingang string, attachments []transform.Attachment) {
	xoev.Text(e, "bezeichnung", str(a, "bezeichnung"))
	version := "1"
	if _, ok := a["versionsnummer"]; ok {
		version = number(a, "versionsnummer")
	}
	xoev.Text(e, "versionsnummer", version)
	datum := str(a, "datum")
	if datum == "" {
		datum = eingang
	}
	xoev.Text(e, "datum", datum)
	xoev.Code(e, "anlageart", codesAnlageArt.CodeList, str(a, "anlageart"))
	xoev.Code(e, "mimeType", listMimeType, str(a, "mimeType"))
	id := "urn:uuid:" + strings.ToLower(str(a, "dokumentId"))
	later, _ := a["wirdNachgereicht"].(bool)
	if later {
		v := e.CreateElement("anhangOderVerlinkung").CreateElement("verlinkung")
		xoev.Text(v, "uriVerlinkung", id)
		xoev.Text(v, "dateiname", str(a, "dateiname"))
		xoev.Text(e, "xbau:wirdNachgereicht", "true")
		return
	}
	anhang := e.CreateElement("anhangOderVerlinkung").CreateElement("anhang")
	if att := attachmentOf(attachments, str(a, "dokumentId")); att != nil && att.Size > 0 {
		anhang.CreateAttr("filesize", strconv.FormatInt(att.Size, 10))
	}
	xoev.Text(anhang, "dokumentid", id)
	xoev.Text(anhang, "dateiname", str(a, "dateiname"))
	if _, ok := a["wirdNachgereicht"]; ok {
		xoev.Text(e, "xbau:wirdNachgereicht", "false")
	}
}

// prozessmerkmale writes an xbau:Prozessmerkmale: the Verfahrensart.
func prozessmerkmale(e *etree.Element, pm map[string]any) {
	if v := object(pm, "verfahrensart"); v != nil {
		fremderCode(e, "xbau:verfahrensart", v)
	}
}

// fremderCode writes a code of a list XBau leaves open (type 3), with the
// listURI and listVersionID the payload states.
func fremderCode(parent *etree.Element, tag string, c map[string]any) {
	xoev.Code(parent, tag, xoev.CodeList{URI: str(c, "listURI"), Version: str(c, "listVersionID")}, str(c, "code"))
}

// berechtigung writes the xbau:Berechtigung of the Entwurfsverfasser: the
// Sachverhalt of the Bauvorlageberechtigung, the chamber entry and the
// Berufsbezeichnung.
func berechtigung(e *etree.Element, b map[string]any) {
	if g := str(b, "grundlage"); g != "" {
		xoev.Code(e.CreateElement("xbau:grundlageBauvorlageBerechtigung"), "xbau:grundlageBauvorlageBerechtigung",
			codesBauvorlageberechtigungSachverhalt.CodeList, g)
	}
	if k := str(b, "kammer"); k != "" {
		n := e.CreateElement("xbau:mitgliedschaftInland").CreateElement("xbau:nummernKammer")
		xoev.OptionalText(n, "xbau:mitgliedsnummer", str(b, "mitgliedsnummer"))
		xoev.OptionalText(n, "xbau:personennummer", str(b, "personennummer"))
		xoev.Code(n, "xbau:kammer", codesKammer.CodeList, k)
	}
	if v := str(b, "berufsbezeichnung"); v != "" {
		xoev.Text(e.CreateElement("xbau:berufsbezeichnung"), "xbau:berufsbezeichnung", v)
	}
}

// artDerBaulichenAnlage writes an xbau:ArtDerBaulichenAnlage: the code of
// a Wohngebäude or of a Nichtwohngebäude.
func artDerBaulichenAnlage(e *etree.Element, a map[string]any) {
	if c := str(a, "wohngebaeudeArt"); c != "" {
		xoev.Code(e, "xbau:artDesWohngebaeudes", codesWohngebaeudeArt.CodeList, c)
		return
	}
	xoev.Code(e, "xbau:artDesNichtwohngebaeudes", codesNichtwohngebaeudeArt.CodeList, str(a, "nichtwohngebaeudeArt"))
}

// klassifikation writes an xbau:BauordnungsrechtlicheKlassifikation.
func klassifikation(e *etree.Element, k map[string]any) {
	if gk := str(k, "gebaeudeklasse"); gk != "" {
		xoev.Code(e, "xbau:gebaeudeklasse", codesGebaeudeklasse.CodeList, gk)
	}
	if _, ok := k["hoeheNachMBO"]; ok {
		xoev.Text(e, "xbau:hoeheNachMBO", decimal(k["hoeheNachMBO"]))
	}
	if f, ok := k["istFreistehend"].(bool); ok {
		xoev.Text(e, "xbau:istFreistehend", strconv.FormatBool(f))
	}
	for _, c := range array(k, "sonderbau") {
		fremderCode(e, "xbau:sonderbau", c.(map[string]any))
	}
	if g, ok := k["mittelOderGrossGarage"].(bool); ok {
		xoev.Text(e, "xbau:mittelOderGrossGarage", strconv.FormatBool(g))
	}
	if g := str(k, "garage"); g != "" {
		xoev.Code(e, "xbau:garage", codesGaragentyp.CodeList, g)
	}
}

// nutzungen writes the xbau:Nutzungen of the Datenblatt: their number and
// each Nutzungseinheit with its Beschreibung and Fläche.
func nutzungen(e *etree.Element, ne []any) {
	xoev.Text(e, "xbau:anzahlDerNutzungseinheiten", strconv.Itoa(len(ne)))
	for _, n := range ne {
		n := n.(map[string]any)
		x := e.CreateElement("xbau:nutzungseinheit")
		xoev.OptionalText(x, "xbau:beschreibungDerNutzungseinheit", str(n, "beschreibung"))
		xoev.Text(x, "xbau:flaecheDerNutzungseinheit", decimal(n["flaeche"]))
	}
}

// Accessors of the validated payload: absent members give zero values.

func object(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func array(m map[string]any, key string) []any {
	a, _ := m[key].([]any)
	return a
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// number returns the integer member key in decimal, as validated by the
// schema (json.Number, or a float64 or int from other decoders).
func number(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		if f, err := v.Float64(); err == nil {
			return strconv.FormatFloat(f, 'f', 0, 64)
		}
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}
