package xmeld

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
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

// Code lists of the message: Amtsbote's own lists above, each in ListVersion.
var (
	listArtWohnungsgeber          = xoev.CodeList{URI: ListArtWohnungsgeber, Version: ListVersion}
	listIdentifizierungsverfahren = xoev.CodeList{URI: ListIdentifizierungsverfahren, Version: ListVersion}
	listMeldevorgang              = xoev.CodeList{URI: ListMeldevorgang, Version: ListVersion}
	listNachrichtentyp            = xoev.CodeList{URI: ListNachrichtentyp, Version: ListVersion}
	listVertrauensniveau          = xoev.CodeList{URI: ListVertrauensniveau, Version: ListVersion}
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

var _ transform.ValidatedMapper = (*Wohnungsgeberbestaetigung)(nil)

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
	return w.MapValidated(in)
}

// MapValidated is Map without Validate, for a submission that passed it
// (transform.ValidatedMapper).
func (w *Wohnungsgeberbestaetigung) MapValidated(in transform.Input) (transform.Document, error) {
	if err := checkInput(in); err != nil {
		return transform.Document{}, err
	}
	s := in.Submission

	doc := xoev.NewDocument()
	root := doc.CreateElement("xmeld:" + Nachrichtentyp)
	root.CreateAttr("xmlns:xmeld", Namespace)
	xoev.ProductAttrs(root, in.Product) // produkt and produkthersteller: required by checkInput

	kopf := el(root, "nachrichtenkopf")
	xoev.IdentifikationNachricht(kopf, "xmeld:", strings.ToLower(in.MessageID), listNachrichtentyp, Nachrichtentyp, in.CreatedAt)
	behoerde(el(kopf, "leser"), in.Reader)
	behoerde(el(kopf, "autor"), in.Author)

	einreichung := el(root, "einreichung")
	xoev.Text(einreichung, "xmeld:einreichungID", strings.ToLower(s.ID))
	xoev.Text(einreichung, "xmeld:eingangszeitpunkt", xoev.Timestamp(s.ReceivedAt))

	d := s.Data
	wgb := el(root, "wohnungsgeberbestaetigung")
	art := str(d, "art")
	xoev.Code(wgb, "xmeld:meldevorgang", listMeldevorgang, art)
	if art == "einzug" {
		xoev.Text(wgb, "xmeld:einzugsdatum", str(d, "einzugsdatum"))
	} else {
		xoev.Text(wgb, "xmeld:auszugsdatum", str(d, "auszugsdatum"))
	}
	anschrift(el(wgb, "wohnung"), obj(d, "wohnung"))

	geber := person(wgb, "wohnungsgeber", s.Applicant)
	artWohnungsgeber := "beauftragter"
	if d["wohnungsgeberIstEigentuemer"] == true {
		artWohnungsgeber = "eigentuemer"
	}
	xoev.Code(geber, "xmeld:artWohnungsgeber", listArtWohnungsgeber, artWohnungsgeber)
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
		xoev.OptionalText(e, "xmeld:doktorgrad", str(m, "doktorgrad"))
		xoev.Text(e, "xmeld:familienname", str(m, "familienname"))
		xoev.OptionalText(e, "xmeld:vorname", str(m, "vorname"))
		xoev.OptionalText(e, "xmeld:geburtsname", str(m, "geburtsname"))
	}
	xoev.Text(wgb, "xmeld:bestaetigungsdatum", str(d, "bestaetigungsdatum"))
	xoev.OptionalText(wgb, "xmeld:zuordnungsmerkmal", str(d, "zuordnungsmerkmal"))

	out, err := xoev.WriteBytes(doc)
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
		xoev.Text(org, "xmeld:name", name)
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
		xoev.OptionalText(k, "xmeld:telefon", tel)
		xoev.OptionalText(k, "xmeld:email", mail)
	}
	return e
}

func nameNatuerlichePerson(e *etree.Element, p map[string]any) {
	xoev.OptionalText(e, "xmeld:anrede", str(p, "anrede"))
	xoev.OptionalText(e, "xmeld:doktorgrad", str(p, "doktorgrad"))
	xoev.Text(e, "xmeld:familienname", str(p, "familienname"))
	xoev.OptionalText(e, "xmeld:vorname", str(p, "vorname"))
}

func anschrift(e *etree.Element, a map[string]any) {
	xoev.Text(e, "xmeld:strasse", str(a, "strasse"))
	xoev.OptionalText(e, "xmeld:hausnummer", str(a, "hausnummer"))
	xoev.OptionalText(e, "xmeld:adresszusatz", str(a, "adresszusatz"))
	xoev.Text(e, "xmeld:postleitzahl", str(a, "postleitzahl"))
	xoev.Text(e, "xmeld:ort", str(a, "ort"))
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
	xoev.Code(e, "xmeld:verfahren", listIdentifizierungsverfahren, verfahrenCodes[id.Method])
	xoev.OptionalText(e, "xmeld:anbieter", id.Provider)
	if id.TrustLevel != "" {
		xoev.Code(e, "xmeld:vertrauensniveau", listVertrauensniveau, vertrauensniveauCodes[id.TrustLevel])
	}
	xoev.OptionalText(e, "xmeld:postfachreferenz", id.PostboxReference)
}

func behoerde(e *etree.Element, p transform.Party) {
	praefix, kennung, _ := strings.Cut(p.Kennung, ":")
	bk := el(e, "behoerdenkennung")
	xoev.Code(bk, "xmeld:kennung", xoev.CodeList{}, kennung)
	xoev.Code(bk, "xmeld:praefix", xoev.CodeList{}, praefix)
	xoev.OptionalText(e, "xmeld:name", p.Name)
}

// el creates the child local of parent in Namespace: CreateElement of
// "xmeld:"+local, without building that name to split it again.
func el(parent *etree.Element, local string) *etree.Element {
	e := &etree.Element{Space: "xmeld", Tag: local}
	parent.AddChild(e)
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

// checkInput checks what Map takes from in besides the submission.
func checkInput(in transform.Input) error {
	errs := xoev.CheckInput(in)
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
