package xmeld

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
)

// Procedure is the procedure id (the Registry key) of the Wohnungsgeberbestätigung.
const Procedure = "meldewesen.wohnungsgeberbestaetigung"

// Names of the message.
const (
	// Namespace is the XML namespace of the message, bound to the prefix "xmeld".
	Namespace = "urn:amtsbote:xmeld:wohnungsgeberbestaetigung:1"
	// Nachrichtentyp is the local name of the root element and the code of
	// nachrichtenkopf/identifikation.nachricht/nachrichtentyp.
	Nachrichtentyp = "meldung.wohnungsgeberbestaetigung.0001"
	// MessageType is the Document.MessageType of the messages.
	MessageType = "xmeld.wohnungsgeberbestaetigung.0001"
)

// Amtsbote's own code lists (all in version "1"), as written in the listURI
// attributes of the codes.
const (
	ListNachrichtentyp            = "urn:xoev-de:amtsbote:codeliste:xmeld-nachrichten"
	ListMeldevorgang              = "urn:xoev-de:amtsbote:codeliste:meldevorgang"
	ListArtWohnungsgeber          = "urn:xoev-de:amtsbote:codeliste:art-wohnungsgeber"
	ListIdentifizierungsverfahren = "urn:xoev-de:amtsbote:codeliste:identifizierungsverfahren"
	ListVertrauensniveau          = "urn:xoev-de:amtsbote:codeliste:vertrauensniveau"
	// ListVersion is the listVersionID of every list above.
	ListVersion = "1"
)

// Schema is the XML Schema (XSD 1.0) of the messages. It imports
// xoev-code.xsd and din-norm-91379-datatypes.xsd from its own directory.
//
//go:embed wohnungsgeberbestaetigung.xsd
var Schema []byte

// PayloadJSONSchema is the JSON Schema (draft 2020-12) of the payload: the request
// members applicant, data and identity.
//
//go:embed wohnungsgeberbestaetigung.schema.json
var PayloadJSONSchema []byte

// Wohnungsgeberbestaetigung is the transform.Mapper of Procedure. It is safe
// for concurrent use; create it with New.
type Wohnungsgeberbestaetigung struct {
	payload *transform.PayloadSchema
}

var _ transform.Mapper = (*Wohnungsgeberbestaetigung)(nil)

// New compiles PayloadJSONSchema and returns the Mapper.
func New() (*Wohnungsgeberbestaetigung, error) {
	ps, err := transform.CompilePayloadSchema("wohnungsgeberbestaetigung.schema.json", PayloadJSONSchema)
	if err != nil {
		return nil, fmt.Errorf("xmeld: %w", err)
	}
	return &Wohnungsgeberbestaetigung{payload: ps}, nil
}

// Map builds the message of in. It returns a *transform.ValidationError when
// the submission does not pass Validate, and an error when in lacks what the
// Nachrichtenkopf requires: MessageID and Submission.ID as UUIDs, Author and
// Reader Kennung as "praefix:kennung", Product Name and Manufacturer,
// CreatedAt and Submission.ReceivedAt; names and product values must be DIN
// SPEC 91379 datatype B text.
func (w *Wohnungsgeberbestaetigung) Map(in transform.Input) (transform.Document, error) {
	if errs := w.Validate(in.Submission); errs != nil {
		return transform.Document{}, &transform.ValidationError{Errors: errs}
	}
	if err := checkInput(in); err != nil {
		return transform.Document{}, err
	}
	s := in.Submission

	doc := etree.NewDocument()
	doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("xmeld:" + Nachrichtentyp)
	root.CreateAttr("xmlns:xmeld", Namespace)
	root.CreateAttr("produkt", transform.NormalizeText(in.Product.Name))
	root.CreateAttr("produkthersteller", transform.NormalizeText(in.Product.Manufacturer))
	if in.Product.Version != "" {
		root.CreateAttr("produktversion", transform.NormalizeText(in.Product.Version))
	}

	kopf := el(root, "nachrichtenkopf")
	ident := el(kopf, "identifikation.nachricht")
	text(ident, "nachrichtenUUID", strings.ToLower(in.MessageID))
	code(ident, "nachrichtentyp", ListNachrichtentyp, ListVersion, Nachrichtentyp)
	text(ident, "erstellungszeitpunkt", timestamp(in.CreatedAt))
	behoerde(el(kopf, "leser"), in.Reader)
	behoerde(el(kopf, "autor"), in.Author)

	einreichung := el(root, "einreichung")
	text(einreichung, "einreichungID", strings.ToLower(s.ID))
	text(einreichung, "eingangszeitpunkt", timestamp(s.ReceivedAt))

	d := s.Data
	wgb := el(root, "wohnungsgeberbestaetigung")
	art := str(d, "art")
	code(wgb, "meldevorgang", ListMeldevorgang, ListVersion, art)
	if art == "einzug" {
		text(wgb, "einzugsdatum", str(d, "einzugsdatum"))
	} else {
		text(wgb, "auszugsdatum", str(d, "auszugsdatum"))
	}
	anschrift(el(wgb, "wohnung"), obj(d, "wohnung"))

	geber := person(wgb, "wohnungsgeber", s.Applicant)
	artWohnungsgeber := "beauftragter"
	if d["wohnungsgeberIstEigentuemer"] == true {
		artWohnungsgeber = "eigentuemer"
	}
	code(geber, "artWohnungsgeber", ListArtWohnungsgeber, ListVersion, artWohnungsgeber)
	if s.Identity != nil {
		identifizierung(el(geber, "identifizierung"), s.Identity)
	}
	if e := obj(d, "eigentuemer"); e != nil {
		person(wgb, "eigentuemer", e)
	}
	personen, _ := d["meldepflichtige"].([]any)
	for _, p := range personen {
		m, _ := p.(map[string]any)
		e := el(wgb, "meldepflichtigePerson")
		optText(e, "doktorgrad", str(m, "doktorgrad"))
		text(e, "familienname", str(m, "familienname"))
		optText(e, "vorname", str(m, "vorname"))
		optText(e, "geburtsname", str(m, "geburtsname"))
	}
	text(wgb, "bestaetigungsdatum", str(d, "bestaetigungsdatum"))

	doc.IndentWithSettings(&etree.IndentSettings{Spaces: 2, PreserveLeafWhitespace: true})
	out, err := doc.WriteToBytes()
	if err != nil {
		return transform.Document{}, fmt.Errorf("xmeld: write XML: %w", err)
	}
	return transform.Document{XML: out, MessageType: MessageType}, nil
}

// person writes a natural person or organisation (one with a "name") with
// Anschrift and Kommunikation as element tag of parent.
func person(parent *etree.Element, tag string, p map[string]any) *etree.Element {
	e := el(parent, tag)
	if name := str(p, "name"); name != "" {
		org := el(e, "organisation")
		text(org, "name", name)
		if ap := obj(p, "ansprechpartner"); ap != nil {
			nameNatuerlichePerson(el(org, "ansprechpartner"), ap)
		}
	} else {
		nameNatuerlichePerson(el(e, "natuerlichePerson"), p)
	}
	anschrift(el(e, "anschrift"), obj(p, "anschrift"))
	tel, mail := str(p, "telefon"), str(p, "email")
	if tel != "" || mail != "" {
		k := el(e, "kommunikation")
		optText(k, "telefon", tel)
		optText(k, "email", mail)
	}
	return e
}

func nameNatuerlichePerson(e *etree.Element, p map[string]any) {
	optText(e, "anrede", str(p, "anrede"))
	optText(e, "doktorgrad", str(p, "doktorgrad"))
	text(e, "familienname", str(p, "familienname"))
	optText(e, "vorname", str(p, "vorname"))
}

func anschrift(e *etree.Element, a map[string]any) {
	text(e, "strasse", str(a, "strasse"))
	optText(e, "hausnummer", str(a, "hausnummer"))
	optText(e, "adresszusatz", str(a, "adresszusatz"))
	text(e, "postleitzahl", str(a, "postleitzahl"))
	text(e, "ort", str(a, "ort"))
}

// Codes of the identification method and the trust level in Amtsbote's
// lists, by the values of transform.Identity.
var (
	verfahrenCodes = map[string]string{
		transform.IdentityNone:         "keine",
		transform.IdentityServicekonto: "servicekonto",
		transform.IdentityEID:          "eid",
	}
	vertrauensniveauCodes = map[string]string{
		transform.TrustBasic:       "niedrig",
		transform.TrustSubstantial: "substanziell",
		transform.TrustHigh:        "hoch",
	}
)

func identifizierung(e *etree.Element, id *transform.Identity) {
	code(e, "verfahren", ListIdentifizierungsverfahren, ListVersion, verfahrenCodes[id.Method])
	optText(e, "anbieter", id.Provider)
	if id.TrustLevel != "" {
		code(e, "vertrauensniveau", ListVertrauensniveau, ListVersion, vertrauensniveauCodes[id.TrustLevel])
	}
	optText(e, "postfachreferenz", id.PostboxReference)
}

func behoerde(e *etree.Element, p transform.Party) {
	praefix, kennung, _ := strings.Cut(p.Kennung, ":")
	bk := el(e, "behoerdenkennung")
	code(bk, "kennung", "", "", kennung)
	code(bk, "praefix", "", "", praefix)
	optText(e, "name", p.Name)
}

// el creates the child local of parent in Namespace.
func el(parent *etree.Element, local string) *etree.Element {
	return parent.CreateElement("xmeld:" + local)
}

// text creates the child local of parent with the NFC form of value.
func text(parent *etree.Element, local, value string) {
	el(parent, local).SetText(transform.NormalizeText(value))
}

// optText is text for an optional element: nothing for an empty value.
func optText(parent *etree.Element, local, value string) {
	if value != "" {
		text(parent, local, value)
	}
}

// code writes an XÖV Code: <tag listURI=".." listVersionID=".."><code>value</code></tag>,
// the attributes only when listURI is set.
func code(parent *etree.Element, local, listURI, listVersionID, value string) *etree.Element {
	e := el(parent, local)
	if listURI != "" {
		e.CreateAttr("listURI", listURI)
		e.CreateAttr("listVersionID", listVersionID)
	}
	e.CreateElement("code").SetText(value)
	return e
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkInput checks what Map takes from in besides the submission.
func checkInput(in transform.Input) error {
	var errs []error
	if !isUUID(in.MessageID) {
		errs = append(errs, errors.New("message id is not a UUID"))
	}
	if !isUUID(in.Submission.ID) {
		errs = append(errs, errors.New("submission id is not a UUID"))
	}
	if in.CreatedAt.IsZero() {
		errs = append(errs, errors.New("creation time is zero"))
	}
	if in.Submission.ReceivedAt.IsZero() {
		errs = append(errs, errors.New("receipt time is zero"))
	}
	for _, p := range []struct {
		role  string
		party transform.Party
	}{{"author", in.Author}, {"reader", in.Reader}} {
		if !isKennung(p.party.Kennung) {
			errs = append(errs, fmt.Errorf("%s kennung is not of the form praefix:kennung", p.role))
		}
		if p.party.Name != "" && !isText(p.party.Name, 200) {
			errs = append(errs, fmt.Errorf("%s name is not DIN SPEC 91379 datatype B text of at most 200 characters", p.role))
		}
	}
	for _, v := range []struct {
		what, value string
		required    bool
	}{
		{"product name", in.Product.Name, true},
		{"product manufacturer", in.Product.Manufacturer, true},
		{"product version", in.Product.Version, false},
	} {
		if (v.required || v.value != "") && !isText(v.value, 0) {
			errs = append(errs, fmt.Errorf("%s is empty or not DIN SPEC 91379 datatype B text", v.what))
		}
	}
	if errs != nil {
		return fmt.Errorf("xmeld: incomplete input: %w", errors.Join(errs...))
	}
	return nil
}

// isKennung reports whether s is "praefix:kennung" as the XSD's Code.Praefix
// and Code.Kennung allow.
func isKennung(s string) bool {
	praefix, kennung, ok := strings.Cut(s, ":")
	if !ok || len(praefix) < 1 || len(praefix) > 20 || len(kennung) < 1 || len(kennung) > 100 {
		return false
	}
	for _, c := range []byte(praefix) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	for _, c := range []byte(kennung) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isText reports whether the NFC form of s is non-blank text of datatype B
// with at most maxLen characters (0: no limit).
func isText(s string, maxLen int) bool {
	if transform.CheckText("", s) != nil {
		return false
	}
	n, blank := 0, true
	for _, r := range transform.NormalizeText(s) {
		n++
		if !textRune(r) {
			return false
		}
		if r != ' ' {
			blank = false
		}
	}
	return !blank && (maxLen == 0 || n <= maxLen)
}

// isUUID reports whether s has the 8-4-4-4-12 hex form of a UUID.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
