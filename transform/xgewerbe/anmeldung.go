package xgewerbe

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin without depending on the host's zoneinfo

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
)

// Procedure is the procedure id (the Registry key) of the Gewerbeanmeldung.
const Procedure = "gewerbe.anmeldung"

// Names of the message.
const (
	// Namespace is the XML namespace of XGewerbeanzeige 2.2, bound to the prefix "xga".
	Namespace = "http://www.xgewerbeanzeige.de/spezifikation/2.2"
	// RootElement is the local name of the root element.
	RootElement = "abh.gewerbemeldung.0500"
	// MessageType is the Document.MessageType of the messages.
	MessageType = "xgewerbeanzeige.gewerbemeldung.0500"
)

// Schema is the project's own XML Schema of the messages built by Map; see
// the package documentation.
//
//go:embed gewerbemeldung.xsd
var Schema []byte

// PayloadSchema is the JSON Schema (draft 2020-12) of the request payload:
// the members applicant, data and identity.
//
//go:embed anmeldung.schema.json
var PayloadSchema []byte

// Anmeldung is the transform.Mapper of the procedure gewerbe.anmeldung. Make
// one with New; it is safe for concurrent use.
type Anmeldung struct {
	payload *transform.PayloadSchema
	berlin  *time.Location
}

var _ transform.ValidatedMapper = (*Anmeldung)(nil)

// New compiles the payload schema and returns the Mapper.
func New() (*Anmeldung, error) {
	ps, err := transform.CompilePayloadSchema("gewerbe.anmeldung.schema.json", PayloadSchema)
	if err != nil {
		return nil, fmt.Errorf("xgewerbe: %w", err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return nil, fmt.Errorf("xgewerbe: load time zone: %w", err)
	}
	return &Anmeldung{payload: ps, berlin: berlin}, nil
}

// Validate reports every problem of s: violations of PayloadSchema and the
// characters outside DIN SPEC 91379: names (of persons, places, streets and
// the firm, see nameMembers) must pass transform.CheckName (datatype B),
// every other string transform.CheckText (datatype C). Each problem carries
// the JSON pointer of the value in the request body; they are ordered by
// pointer.
func (a *Anmeldung) Validate(s transform.Submission) []transform.FieldError {
	p := s.Payload()
	errs := a.payload.Validate(p)
	var texts []transform.FieldError
	checkStrings("", "", p, &texts)
	errs = append(errs, texts...)
	slices.SortStableFunc(errs, func(x, y transform.FieldError) int { return strings.Compare(x.Pointer, y.Pointer) })
	return errs
}

// nameMembers are the object members whose strings are names, checked with
// transform.CheckName.
var nameMembers = map[string]bool{
	"vorname": true, "familienname": true, "geburtsname": true, "geburtsort": true, "geburtsland": true,
	"name": true, "strasse": true, "hausnummer": true, "postleitzahl": true, "ort": true,
}

// checkStrings checks every string below v, which is the member key of its
// object (or "" in arrays and at the top).
func checkStrings(pointer, key string, v any, errs *[]transform.FieldError) {
	switch v := v.(type) {
	case string:
		if nameMembers[key] && !strings.HasPrefix(pointer, "/identity/") {
			*errs = append(*errs, transform.CheckName(pointer, v)...)
		} else {
			*errs = append(*errs, transform.CheckText(pointer, v)...)
		}
	case map[string]any:
		for k, e := range v {
			checkStrings(transform.AppendPointer(pointer, k), k, e, errs)
		}
	case []any:
		for i, e := range v {
			checkStrings(transform.AppendPointer(pointer, strconv.Itoa(i)), "", e, errs)
		}
	}
}

// Map builds the abh.gewerbemeldung.0500 message of in. It returns a
// *transform.ValidationError when the submission does not pass Validate, and
// an error when in lacks what the message requires: MessageID and
// Submission.ID as UUIDs, CreatedAt and Submission.ReceivedAt, and party
// Kennungen of the form "praefix:kennung".
func (a *Anmeldung) Map(in transform.Input) (transform.Document, error) {
	if errs := a.Validate(in.Submission); errs != nil {
		return transform.Document{}, &transform.ValidationError{Errors: errs}
	}
	return a.MapValidated(in)
}

// MapValidated is Map without Validate, for a submission that passed it
// (transform.ValidatedMapper).
func (a *Anmeldung) MapValidated(in transform.Input) (transform.Document, error) {
	if err := checkInput(in); err != nil {
		return transform.Document{}, err
	}
	s := in.Submission

	doc := xoev.NewDocument()
	root := doc.CreateElement("xga:" + RootElement)
	root.CreateAttr("xmlns:xga", Namespace)
	xoev.ProductAttrs(root, in.Product)
	root.CreateAttr("standard", "XGewerbeanzeige")
	root.CreateAttr("version", "2.2")

	kopf := root.CreateElement("xga:nachrichtenkopf")
	xoev.IdentifikationNachricht(kopf, "xga:", in.MessageID, xoev.CodeList{}, codeNachrichtentyp, in.CreatedAt)
	party(kopf.CreateElement("xga:leser"), in.Reader)
	party(kopf.CreateElement("xga:autor"), in.Author)

	anm := root.CreateElement("xga:satz").CreateElement("xga:anmeldung")
	xoev.Text(anm, "xga:satzErstellung", xoev.Timestamp(in.CreatedAt))
	xoev.Text(anm, "xga:ereigniszeitpunkt", xoev.Timestamp(s.ReceivedAt))
	code(anm, "xga:istKorrektur", codeNein)
	if in.Author.AGS != "" {
		listCode(anm, "xga:gemeindeSchluessel", listGemeindeschluessel, in.Author.AGS)
	}
	xoev.Text(anm, "xga:uuid", s.ID)

	applicant, data := s.Applicant, s.Data
	gew := anm.CreateElement("xga:gewerbe")
	// The Betrieb: an organisation's firm, or the registered firm of a
	// natural person (an e. K., as in the 2.2 example), who is its Inhaber.
	org := str(applicant, "art") == "organisation"
	if org {
		betrieb(gew, applicant)
	} else if b := obj(applicant, "betrieb"); b != nil {
		betrieb(gew, b)
	}
	if n, ok := data["beschaeftigteVollzeit"].(json.Number); ok {
		xoev.Text(gew, "xga:anzahlVollzeitBeschaeftigte", integer(n))
	}
	if n, ok := data["beschaeftigteTeilzeit"].(json.Number); ok {
		xoev.Text(gew, "xga:anzahlTeilzeitBeschaeftigte", integer(n))
	}
	arten := gew.CreateElement("xga:betriebArt")
	chosen := arr(data, "betriebArt")
	for _, art := range betriebsArten {
		code(arten, "xga:"+art, jaNein(slices.Contains(chosen, any(art))))
	}
	code(gew, "xga:niederlassungArt", niederlassungsArten[str(data, "niederlassung")])
	if reise, ok := data["reisegewerbe"].(bool); ok {
		code(gew, "xga:istReisegewerbe", jaNein(reise))
	}
	if neben, ok := data["nebenerwerb"].(bool); ok {
		code(gew, "xga:istNebenerwerb", jaNein(neben))
	}
	if hk := obj(data, "handwerkskarte"); hk != nil {
		e := gew.CreateElement("xga:handwerkskarte")
		code(e, "xga:status", codeStatusLiegtVor)
		xoev.Text(e, "xga:ausgestelltAm", str(hk, "ausgestelltAm"))
		if von := obj(hk, "ausgestelltVon"); von != nil {
			xoev.Text(e, "xga:ausgestelltVonPLZ", str(von, "postleitzahl"))
			xoev.Text(e, "xga:ausgestelltVonOrt", str(von, "ort"))
			if k := str(von, "schluessel"); k != "" {
				code(e, "xga:ausgestelltVonSchluessel", k)
			}
		}
	}
	anschrift(gew, obj(data, "betriebsstaette"))
	if org {
		for _, v := range arr(applicant, "vertreter") {
			person(gew, codeFunktionVertreter, v.(map[string]any))
		}
	} else {
		person(gew, codeFunktionInhaber, applicant)
	}

	xoev.Text(anm, "xga:gueltigAb", str(data, "beginn"))
	xoev.Text(anm, "xga:datumMeldung", s.ReceivedAt.In(a.berlin).Format(time.DateOnly))
	t := obj(data, "taetigkeit")
	tg := anm.CreateElement("xga:taetigkeitenGesamt")
	sp := tg.CreateElement("xga:schwerpunkt")
	xoev.Text(sp, "xga:taetigkeitSchwerpunkt", str(t, "beschreibung"))
	xoev.OptionalText(sp, "xga:taetigkeitSchluessel", str(t, "wirtschaftszweig"))
	xoev.OptionalText(sp, "xga:stichwort", str(t, "stichwort"))
	if w := str(t, "weitereTaetigkeiten"); w != "" {
		xoev.Text(tg.CreateElement("xga:weitereTaetigkeiten"), "xga:taetigkeitenZusammengefasst", w)
	}
	code(anm, "xga:grundAnmeldungSchluessel", anmeldegruende[str(data, "anmeldegrund")])

	out, err := xoev.WriteBytes(doc)
	if err != nil {
		return transform.Document{}, fmt.Errorf("xgewerbe: write XML: %w", err)
	}
	return transform.Document{XML: out, MessageType: MessageType}, nil
}

// betrieb writes the betrieb from b's name, rechtsform and registereintrag:
// an organisation applicant, or the betrieb member of a natural person.
func betrieb(parent *etree.Element, b map[string]any) {
	e := parent.CreateElement("xga:betrieb")
	xoev.Text(e, "xga:ID", "1") // the only Betrieb of the message
	xoev.Text(e, "xga:eingetragenerName", str(b, "name"))
	if reg := obj(b, "registereintrag"); reg != nil {
		xoev.Text(e, "xga:eintragungNr", str(reg, "nummer"))
		xoev.Text(e, "xga:eintragungOrt", str(reg, "ort"))
		xoev.OptionalText(e, "xga:eintragungPLZ", str(reg, "postleitzahl"))
		code(e, "xga:eintragungArt", registerArten[str(reg, "register")])
		if g := str(reg, "gericht"); g != "" {
			listCode(e, "xga:gerichtSchluessel", listRegistergerichte, g)
		}
	}
	code(e, "xga:rechtsformSchluessel", str(b, "rechtsform"))
}

// person writes one beteiligtePerson from a natural person or representative.
func person(parent *etree.Element, funktion string, p map[string]any) {
	e := parent.CreateElement("xga:beteiligtePerson")
	code(e, "xga:personFunktion", funktion)
	xoev.Text(e, "xga:familienname", str(p, "familienname"))
	xoev.Text(e, "xga:vorname", str(p, "vorname"))
	if g := str(p, "geschlecht"); g != "" {
		listCode(e, "xga:geschlecht", listGeschlecht, geschlechter[g])
	}
	xoev.OptionalText(e, "xga:geburtsname", str(p, "geburtsname"))
	if d, err := time.Parse(time.DateOnly, str(p, "geburtsdatum")); err == nil {
		xoev.Text(e, "xga:geburtsdatum", d.Format("02012006")) // TTMMJJJJ, as in the example
	}
	xoev.OptionalText(e, "xga:geburtsort", str(p, "geburtsort"))
	xoev.OptionalText(e, "xga:geburtsland", str(p, "geburtsland"))
	if sa := str(p, "staatsangehoerigkeit"); sa != "" {
		listCode(e.CreateElement("xga:staatangehoerigkeiten"), "xga:staatsangehoerigkeitSchluessel", listStaatsangehoerigkeit, sa)
	}
	if an := obj(p, "anschrift"); an != nil {
		anschrift(e, an)
	}
	if m := str(p, "email"); m != "" {
		erreichbarkeit(e, codeKanalEMail, m)
	}
	if tel := str(p, "telefon"); tel != "" {
		erreichbarkeit(e, codeKanalTelefon, tel)
	}
	if at := obj(p, "aufenthaltstitel"); at != nil {
		t := e.CreateElement("xga:aufenthaltstitel")
		code(t, "xga:status", codeStatusLiegtVor)
		xoev.Text(t, "xga:ausgestelltAm", str(at, "ausgestelltAm"))
		von := obj(at, "ausgestelltVon")
		xoev.Text(t, "xga:ausgestelltVonName", str(von, "name"))
		xoev.OptionalText(t, "xga:ausgestelltVonPLZ", str(von, "postleitzahl"))
		xoev.OptionalText(t, "xga:ausgestelltVonOrt", str(von, "ort"))
	}
}

// anschrift writes an address; its nationSchluessel is the member staat,
// Germany where the address names no state (the Betriebsstätte never does).
func anschrift(parent *etree.Element, a map[string]any) {
	e := parent.CreateElement("xga:anschrift")
	xoev.Text(e, "xga:strasse", str(a, "strasse"))
	xoev.Text(e, "xga:hausNrVon", str(a, "hausnummer"))
	xoev.Text(e, "xga:ort", str(a, "ort"))
	xoev.Text(e, "xga:plz", str(a, "postleitzahl"))
	nation := str(a, "staat")
	if nation == "" {
		nation = codeNationDeutschland
	}
	listCode(e, "xga:nationSchluessel", listStaat, nation)
}

func erreichbarkeit(parent *etree.Element, kanal, kennung string) {
	e := parent.CreateElement("xga:erreichbarkeit")
	code(e, "xga:kanal", kanal)
	xoev.Text(e, "xga:kennung", kennung)
}

// party writes the Autor or Leser of the Nachrichtenkopf.
func party(e *etree.Element, p transform.Party) {
	if p.Kennung != "" {
		praefix, kennung, _ := strings.Cut(p.Kennung, ":")
		bk := e.CreateElement("xga:behoerdenkennung")
		listCode(bk, "xga:praefix", listPraefix, praefix)
		listCode(bk, "xga:kennung", kennungLists[strings.ToLower(praefix)], kennung)
	}
	xoev.OptionalText(e, "xga:behoerdenname", p.Name)
}

func checkInput(in transform.Input) error {
	errs := append(xoev.CheckInput(in), xoev.CheckBehoerdenkennungen(in)...)
	if ags := in.Author.AGS; ags != "" && !digits(ags, 8) {
		errs = append(errs, errors.New("author AGS is not 8 digits"))
	}
	for _, p := range []struct{ role, kennung string }{{"author", in.Author.Kennung}, {"reader", in.Reader.Kennung}} {
		if praefix, kennung, _ := strings.Cut(p.kennung, ":"); strings.EqualFold(praefix, praefixAGS) && !digits(kennung, 8) {
			errs = append(errs, fmt.Errorf("%s kennung with praefix %s is not an AGS of 8 digits", p.role, praefix))
		}
	}
	if errs != nil {
		return fmt.Errorf("xgewerbe: incomplete input: %w", errors.Join(errs...))
	}
	return nil
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// integer returns the canonical decimal form of a JSON integer the schema
// accepted (which may be written as 2.0 or 2e0).
func integer(n json.Number) string {
	if i, err := n.Int64(); err == nil {
		return strconv.FormatInt(i, 10)
	}
	f, _ := n.Float64()
	return strconv.FormatInt(int64(f), 10)
}

func jaNein(b bool) string {
	if b {
		return codeJa
	}
	return codeNein
}

func str(m map[string]any, key string) string { s, _ := m[key].(string); return s }

func obj(m map[string]any, key string) map[string]any { o, _ := m[key].(map[string]any); return o }

func arr(m map[string]any, key string) []any { a, _ := m[key].([]any); return a }

// code writes a code element of a code type whose list the schema fixes:
// no listURI or listVersionID, value in an unqualified code child.
func code(parent *etree.Element, tag, value string) {
	xoev.Code(parent, tag, xoev.CodeList{}, value)
}

// listCode writes a code element with the listVersionID of its list (see
// codes.go).
func listCode(parent *etree.Element, tag string, list xoev.CodeList, value string) {
	xoev.Code(parent, tag, list, value)
}
