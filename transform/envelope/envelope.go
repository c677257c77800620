package envelope

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
)

// Schema is the XML Schema (XSD 1.0) of the messages built by Mapper.
//
//go:embed envelope.xsd
var Schema []byte

// Names of the message.
const (
	// Namespace is the XML namespace of the envelope, bound to the prefix "ab".
	Namespace = "urn:amtsbote:envelope:1"
	// Nachrichtentyp is the content of nachrichtenkopf/nachrichtentyp and the
	// local name of the root element.
	Nachrichtentyp = "einreichung.0001"
	// MessageType is the Document.MessageType of the messages.
	MessageType = "amtsbote." + Nachrichtentyp
)

// Limits of Validate.
const (
	// MaxDepth is how deeply objects and arrays may nest; the applicant and
	// data objects are level 1.
	MaxDepth = 16
	// MaxKeyLength is the longest object key, in characters.
	MaxKeyLength = 128
)

// Mapper is the generic transform.Mapper. The zero value is ready to use and
// safe for concurrent use.
type Mapper struct{}

var _ transform.ValidatedMapper = (*Mapper)(nil)

// New returns the generic Mapper.
func New() *Mapper { return &Mapper{} }

// Validate reports every problem of s: the applicant must be a non-empty
// object and data an object (a nil map is an absent or null member); below
// them keys must be non-empty, at most MaxKeyLength characters, pass
// transform.CheckText and be unique after NFC normalisation; string values
// must pass transform.CheckText; nesting may not exceed MaxDepth. The values
// of a member with an invalid key are not examined.
func (m *Mapper) Validate(s transform.Submission) []transform.FieldError {
	var v validator
	switch {
	case s.Applicant == nil:
		v.add("/applicant", transform.CodeRequired, "applicant must be a JSON object",
			"applicant muss ein JSON-Objekt sein")
	case len(s.Applicant) == 0:
		v.add("/applicant", transform.CodeRequired, "applicant must not be empty",
			"applicant darf nicht leer sein")
	default:
		v.object("/applicant", s.Applicant, 1)
	}
	if s.Data == nil {
		v.add("/data", transform.CodeRequired, "data must be a JSON object",
			"data muss ein JSON-Objekt sein")
	} else {
		v.object("/data", s.Data, 1)
	}
	// Members are walked in the order of their NFC keys (the order of the
	// elements), but pointers name the keys as sent: order the problems by
	// pointer, as every mapper does.
	slices.SortStableFunc(v.errs, func(a, b transform.FieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
	return v.errs
}

type validator struct {
	errs []transform.FieldError
}

// add reports a problem with its message in English and German.
func (v *validator) add(pointer, code, message, messageDE string) {
	v.errs = append(v.errs, transform.FieldError{Pointer: pointer, Code: code, Message: message, MessageDE: messageDE})
}

// tooDeep reports nesting beyond MaxDepth at pointer.
func (v *validator) tooDeep(pointer string) {
	v.add(pointer, transform.CodeTooDeep,
		fmt.Sprintf("objects and arrays nest deeper than %d levels", MaxDepth),
		fmt.Sprintf("Objekte und Arrays sind tiefer als %d Ebenen verschachtelt", MaxDepth))
}

func (v *validator) value(pointer string, val any, depth int) {
	switch val := val.(type) {
	case nil, bool:
	case string:
		v.errs = append(v.errs, transform.CheckText(pointer, val)...)
	case json.Number:
		if !jsonNumber.MatchString(string(val)) {
			v.add(pointer, transform.CodeInvalidNumber, "not a JSON number", "keine JSON-Zahl")
		}
	case map[string]any:
		v.object(pointer, val, depth)
	case []any:
		if depth > MaxDepth {
			v.tooDeep(pointer)
			return
		}
		for i, item := range val {
			v.value(transform.AppendPointer(pointer, strconv.Itoa(i)), item, depth+1)
		}
	default:
		v.add(pointer, transform.CodeType, fmt.Sprintf("unsupported value of Go type %T", val),
			fmt.Sprintf("nicht unterstützter Wert des Go-Typs %T", val))
	}
}

func (v *validator) object(pointer string, obj map[string]any, depth int) {
	if depth > MaxDepth {
		v.tooDeep(pointer)
		return
	}
	var prev string // NFC key of the previous valid member
	for _, mem := range members(obj) {
		p := transform.AppendPointer(pointer, mem.raw)
		switch n := utf8.RuneCountInString(mem.key); {
		case mem.raw == "":
			v.add(p, transform.CodeInvalidKey, "object key must not be empty", "Objektschlüssel darf nicht leer sein")
			continue
		case n > MaxKeyLength:
			v.add(p, transform.CodeInvalidKey,
				fmt.Sprintf("object key has %d characters, at most %d are allowed", n, MaxKeyLength),
				fmt.Sprintf("Objektschlüssel hat %d Zeichen, höchstens %d sind zulässig", n, MaxKeyLength))
			continue
		}
		if errs := transform.CheckText(p, mem.raw); errs != nil {
			for _, e := range errs {
				v.add(e.Pointer, transform.CodeInvalidKey, "object key: "+e.Message, "Objektschlüssel: "+e.Localized("de"))
			}
			continue
		}
		if mem.key == prev {
			v.add(p, transform.CodeDuplicateKey, "object key equals another key after Unicode NFC normalisation",
				"Objektschlüssel gleicht nach Unicode-NFC-Normalisierung einem anderen Schlüssel")
			continue
		}
		prev = mem.key
		v.value(p, mem.val, depth+1)
	}
}

// jsonNumber is the number grammar of RFC 8259.
var jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$`)

// member is one member of a JSON object.
type member struct {
	key string // NFC form of raw
	raw string
	val any
}

// members returns the members of obj ordered by NFC key, then raw key.
func members(obj map[string]any) []member {
	ms := make([]member, 0, len(obj))
	for raw, val := range obj {
		ms = append(ms, member{key: transform.NormalizeText(raw), raw: raw, val: val})
	}
	slices.SortFunc(ms, func(a, b member) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.raw, b.raw)
	})
	return ms
}

// Map builds the message of in. It returns a *transform.ValidationError when
// the submission does not pass Validate, and an error when in lacks what the
// Nachrichtenkopf or the Vorgang require: MessageID and Submission.ID as
// UUIDs, Submission.Tenant and Submission.Procedure, CreatedAt and
// Submission.ReceivedAt.
func (m *Mapper) Map(in transform.Input) (transform.Document, error) {
	if errs := m.Validate(in.Submission); errs != nil {
		return transform.Document{}, &transform.ValidationError{Errors: errs}
	}
	return m.MapValidated(in)
}

// MapValidated is Map without Validate, for a submission that passed it
// (transform.ValidatedMapper).
func (m *Mapper) MapValidated(in transform.Input) (transform.Document, error) {
	if err := checkInput(in); err != nil {
		return transform.Document{}, err
	}

	doc := xoev.NewDocument()
	root := doc.CreateElement("ab:" + Nachrichtentyp)
	root.CreateAttr("xmlns:ab", Namespace)
	xoev.ProductAttrs(root, in.Product)

	kopf := root.CreateElement("ab:nachrichtenkopf")
	xoev.Text(kopf, "ab:nachrichtenUUID", in.MessageID)
	xoev.Text(kopf, "ab:nachrichtentyp", Nachrichtentyp)
	xoev.Text(kopf, "ab:erstellungszeitpunkt", xoev.Timestamp(in.CreatedAt))
	party(kopf.CreateElement("ab:autor"), in.Author)
	party(kopf.CreateElement("ab:leser"), in.Reader)

	s := in.Submission
	vorgang := root.CreateElement("ab:vorgang")
	xoev.Text(vorgang, "ab:einreichungID", s.ID)
	xoev.Text(vorgang, "ab:verfahren", s.Procedure)
	xoev.Text(vorgang, "ab:mandant", s.Tenant)
	if in.Author.AGS != "" {
		xoev.Text(vorgang, "ab:ags", in.Author.AGS)
	}
	xoev.Text(vorgang, "ab:eingangszeitpunkt", xoev.Timestamp(s.ReceivedAt))

	writeMembers(root.CreateElement("ab:antragsteller"), s.Applicant)
	writeMembers(root.CreateElement("ab:daten"), s.Data)

	out, err := xoev.WriteBytes(doc)
	if err != nil {
		return transform.Document{}, fmt.Errorf("envelope: write XML: %w", err)
	}
	return transform.Document{XML: out, MessageType: MessageType}, nil
}

func checkInput(in transform.Input) error {
	if errs := xoev.CheckVorgangInput(in); errs != nil {
		return fmt.Errorf("envelope: incomplete input: %w", errors.Join(errs...))
	}
	return nil
}

func party(e *etree.Element, p transform.Party) {
	xoev.OptionalText(e, "ab:kennung", p.Kennung)
	xoev.OptionalText(e, "ab:name", p.Name)
}

// writeMembers writes the members of obj as children of e.
func writeMembers(e *etree.Element, obj map[string]any) {
	for _, mem := range members(obj) {
		var child *etree.Element
		switch mem.val.(type) {
		case map[string]any:
			child = e.CreateElement("ab:gruppe")
		case []any:
			child = e.CreateElement("ab:liste")
		default:
			child = e.CreateElement("ab:feld")
		}
		child.CreateAttr("name", mem.key)
		content(child, mem.val)
	}
}

// content writes val into e, which is its feld, gruppe, liste or eintrag.
func content(e *etree.Element, val any) {
	switch val := val.(type) {
	case nil:
		e.CreateAttr("nil", "true")
	case bool:
		e.SetText(transform.NormalizeText(strconv.FormatBool(val)))
	case string:
		e.SetText(transform.NormalizeText(val))
	case json.Number:
		e.SetText(transform.NormalizeText(string(val)))
	case map[string]any:
		writeMembers(e, val)
	case []any:
		for _, item := range val {
			content(e.CreateElement("ab:eintrag"), item)
		}
	}
}
