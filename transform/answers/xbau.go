package answers

import (
	"strconv"
	"strings"
	"time"
)

// Namespaces of the answers.
const (
	nsXBau   = "http://www.xleitstelle.de/xbau/2/6"
	nsXBauK  = "http://www.xleitstelle.de/xbau/kernmodul/1/3/0"
	nsBnG2G  = "http://xoev.de/schemata/basisnachricht/g2g/1_1"
	nsXdomea = "urn:xoev-de:xdomea:schema:3.0.0"
)

func init() { prefixes[nsBnG2G] = "bn-g2g" }

// xmlType is a supported XML answer: its root element and how to read it.
type xmlType struct {
	space, local string
	code         string // nachrichtentyp code in the Nachrichtenkopf (XBau) or Kopf (xdomea)
	read         func(root *node, a *Answer) error
}

// xmlTypes is the registry of XML answers, keyed by root element local name.
var xmlTypes = map[string]xmlType{
	TypeEingangsbestaetigung: {nsXBauK, TypeEingangsbestaetigung, "1120", readEingangsbestaetigung},
	TypeAktenzeichen:         {nsXBauK, TypeAktenzeichen, "1121", readAktenzeichen},
	TypeFormellePruefung:     {nsXBau, TypeFormellePruefung, "0201", readFormellePruefung},
	TypeBescheid:             {nsXBau, TypeBescheid, "0205", readBescheid},
	TypeEmpfangBestaetigen:   {nsXdomea, TypeEmpfangBestaetigen, "0629", readEmpfangBestaetigen},
	TypeImportBestaetigen:    {nsXdomea, TypeImportBestaetigen, "0630", readImportBestaetigen},
}

// parseXML reads an XML answer from its tree.
func parseXML(root *node) (Answer, error) {
	t, ok := xmlTypes[root.local]
	if !ok {
		return Answer{}, &Error{Path: "/", Reason: "the root element is no supported answer (XBau 1120, 1121, 0201, 0205; xdomea 0629, 0630)", Err: ErrUnknownType}
	}
	if root.space != t.space {
		return Answer{}, &Error{Path: "/", Reason: "the root element " + t.local + " is not in its namespace " + t.space, Err: ErrUnknownType}
	}
	root.path = "/" + qualified(root.space, root.local)
	a := Answer{Type: t.local}
	if err := t.read(root, &a); err != nil {
		return Answer{}, err
	}
	if a.Reference == "" && a.SubmissionReference == "" {
		return Answer{}, &Error{Path: root.path, Reason: "the answer does not refer to the original message", Err: ErrNoReference}
	}
	return a, nil
}

// missing is the error of a required element.
func missing(path string) error {
	return &Error{Path: path, Reason: "is required"}
}

// requireText returns the trimmed text of the child path of n, or an error
// naming it where it is missing or empty.
func requireText(n *node, locals ...string) (string, error) {
	v := n.get(locals...).value()
	if v == "" {
		return "", missing(n.childPath(locals...))
	}
	return v, nil
}

// uuidAt reads an optional UUID at the child path of n, in lower case.
func uuidAt(n *node, locals ...string) (string, error) {
	c := n.get(locals...)
	if c == nil {
		return "", nil
	}
	v := c.value()
	if !isUUID(v) {
		return "", &Error{Path: c.path, Reason: "is not a UUID"}
	}
	return strings.ToLower(v), nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
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

// dateTime parses an xs:dateTime; a value without zone is read as UTC.
func dateTime(n *node) (time.Time, error) {
	v := n.value()
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &Error{Path: n.path, Reason: "is not an xs:dateTime"}
}

// date parses an xs:date (a zone suffix is ignored).
func date(n *node) (time.Time, error) {
	v := n.value()
	if len(v) >= 10 {
		if t, err := time.Parse(time.DateOnly, v[:10]); err == nil && (len(v) == 10 || zoneSuffix(v[10:])) {
			return t, nil
		}
	}
	return time.Time{}, &Error{Path: n.path, Reason: "is not an xs:date"}
}

func zoneSuffix(s string) bool {
	if s == "Z" {
		return true
	}
	_, err := time.Parse("-07:00", s)
	return err == nil
}

// paragraphs joins the textabsatz children of an xbauk:Text (or the text
// of a leaf) with blank lines.
func paragraphs(n *node) string {
	if n == nil {
		return ""
	}
	ps := n.all("", "textabsatz")
	if len(ps) == 0 {
		return n.value()
	}
	var out []string
	for _, p := range ps {
		if v := p.value(); v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, "\n\n")
}

// readKopf reads the nachrichtenkopf.g2g of an XBau answer: the answer's
// nachrichtenUUID, its type code (which must match the root) and time.
func readKopf(root *node, a *Answer, code string) error {
	kopf := root.child("", "nachrichtenkopf.g2g")
	if kopf == nil {
		return missing(root.childPath("nachrichtenkopf.g2g"))
	}
	ident := kopf.child("", "identifikation.nachricht")
	if ident == nil {
		return missing(kopf.childPath("identifikation.nachricht"))
	}
	id, err := requireText(ident, "nachrichtenUUID")
	if err != nil {
		return err
	}
	if !isUUID(id) {
		return &Error{Path: ident.childPath("nachrichtenUUID"), Reason: "is not a UUID"}
	}
	a.MessageID = strings.ToLower(id)
	typ, err := requireText(ident, "nachrichtentyp", "code")
	if err != nil {
		return err
	}
	if typ != code {
		return &Error{Path: ident.childPath("nachrichtentyp", "code"), Reason: "is not " + code + ", the code of " + root.local, Err: ErrUnknownType}
	}
	ts := ident.child("", "erstellungszeitpunkt")
	if ts == nil {
		return missing(ident.childPath("erstellungszeitpunkt"))
	}
	a.SentAt, err = dateTime(ts)
	return err
}

// readBezug reads the bezug (xbauk:BezugErweitert) of an XBau answer:
// referenz (the referenzAntragsservice of the 0200, Amtsbote's submission
// id), vorgang (the Aktenzeichen) and bezugNachricht/nachrichtenUUID (the
// 0200's nachrichtenUUID, Amtsbote's message id).
func readBezug(root *node, a *Answer) (*node, error) {
	// The 1120 and 1121 declare bezug in the Kernmodul (unqualified), the
	// 0201 and 0205 in XBau (qualified); its children are the Kernmodul's.
	space, name := "", "bezug"
	if root.space == nsXBau {
		space, name = nsXBau, "xbau:bezug"
	}
	b := root.child(space, "bezug")
	if b == nil {
		return nil, &Error{Path: root.childPath(name), Reason: "is required: it refers to the original message", Err: ErrNoReference}
	}
	var err error
	if a.SubmissionReference, err = uuidAt(b, "referenz"); err != nil {
		return nil, err
	}
	a.Aktenzeichen = b.get("vorgang").value()
	if bn := b.child("", "bezugNachricht"); bn != nil {
		u := bn.child(nsBnG2G, "nachrichtenUUID")
		if u == nil {
			return nil, missing(bn.childPath("bn-g2g:nachrichtenUUID"))
		}
		if !isUUID(u.value()) {
			return nil, &Error{Path: u.path, Reason: "is not a UUID"}
		}
		a.Reference = strings.ToLower(u.value())
	}
	if a.Reference == "" && a.SubmissionReference == "" {
		return nil, &Error{Path: b.path, Reason: "names neither referenz nor bezugNachricht/nachrichtenUUID: the answer refers to no message", Err: ErrNoReference}
	}
	return b, nil
}

func readEingangsbestaetigung(root *node, a *Answer) error {
	if err := readKopf(root, a, "1120"); err != nil {
		return err
	}
	if _, err := readBezug(root, a); err != nil {
		return err
	}
	a.Kind = KindReceived
	a.Information = paragraphs(root.child("", "information"))
	return nil
}

func readAktenzeichen(root *node, a *Answer) error {
	if err := readKopf(root, a, "1121"); err != nil {
		return err
	}
	b, err := readBezug(root, a)
	if err != nil {
		return err
	}
	if a.Aktenzeichen == "" {
		return &Error{Path: b.childPath("vorgang"), Reason: "is required in an Aktenzeichen message"}
	}
	a.Kind = KindCaseNumber
	return nil
}

func readFormellePruefung(root *node, a *Answer) error {
	if err := readKopf(root, a, "0201"); err != nil {
		return err
	}
	if _, err := readBezug(root, a); err != nil {
		return err
	}
	v := root.child(nsXBau, "antragVollstaendig")
	if v == nil {
		return missing(root.childPath("xbau:antragVollstaendig"))
	}
	switch v.value() {
	case "true", "1":
		a.Kind = KindComplete
	case "false", "0":
		a.Kind = KindIncomplete
	default:
		return &Error{Path: v.path, Reason: "is not a boolean"}
	}
	if bf := root.child(nsXBau, "befundFrist"); bf != nil {
		list := bf.child(nsXBau, "befundliste")
		if list == nil {
			return missing(bf.childPath("xbau:befundliste"))
		}
		for _, b := range list.all(nsXBau, "befund") {
			f, err := readBefund(b)
			if err != nil {
				return err
			}
			a.Findings = append(a.Findings, f)
		}
		if len(a.Findings) == 0 {
			return missing(list.childPath("xbau:befund"))
		}
		if fr := bf.child(nsXBau, "frist"); fr != nil {
			d, err := date(fr)
			if err != nil {
				return err
			}
			a.Frist = d
		}
	}
	a.Information = paragraphs(root.child(nsXBau, "anschreiben"))
	return nil
}

func readBefund(b *node) (Finding, error) {
	code := b.child(nsXBau, "artDesBefundes").get("code").value()
	if code == "" {
		return Finding{}, missing(b.childPath("xbau:artDesBefundes", "code"))
	}
	f := Finding{Code: code, Text: paragraphs(b.child(nsXBau, "beschreibung"))}
	if f.Text == "" {
		return Finding{}, missing(b.childPath("xbau:beschreibung"))
	}
	if ref := b.child(nsXBau, "refAnlage"); ref != nil {
		f.Document = ref.child(nsXBau, "bezeichnung").value()
	}
	if f.Document == "" {
		f.Document = b.child(nsXBau, "betroffeneAnlage").get("code").value()
	}
	return f, nil
}

func readBescheid(root *node, a *Answer) error {
	if err := readKopf(root, a, "0205"); err != nil {
		return err
	}
	if _, err := readBezug(root, a); err != nil {
		return err
	}
	bescheid := root.child(nsXBau, "bescheid")
	if bescheid == nil {
		return missing(root.childPath("xbau:bescheid"))
	}
	tenor := bescheid.child(nsXBau, "tenor")
	if tenor == nil {
		return missing(bescheid.childPath("xbau:tenor"))
	}
	ist := tenor.child(nsXBau, "istGenehmigung")
	if ist == nil {
		return missing(tenor.childPath("xbau:istGenehmigung"))
	}
	d := &Decision{Date: a.SentAt}
	switch ist.value() {
	case "true", "1":
		d.Outcome = OutcomeApproved
	case "false", "0":
		d.Outcome = OutcomeDenied
	default:
		return &Error{Path: ist.path, Reason: "is not a boolean"}
	}
	var texts []string
	for _, k := range tenor.child(nsXBau, "kommentareFachrecht").all(nsXBau, "kommentarFachrecht") {
		if t := paragraphs(k); t != "" {
			texts = append(texts, t)
		}
	}
	d.Text = strings.Join(texts, "\n\n")
	a.Decision = d
	a.Kind = KindDecided
	anlagen := root.child(nsXBau, "anlagen")
	if anlagen == nil {
		return missing(root.childPath("xbau:anlagen"))
	}
	for _, an := range anlagen.all("", "anlage") {
		att, err := readAnlage(an)
		if err != nil {
			return err
		}
		a.Attachments = append(a.Attachments, att)
	}
	if len(a.Attachments) == 0 {
		return missing(anlagen.childPath("anlage"))
	}
	return nil
}

// readAnlage reads an xbauk:MetadatenAnlageDirekt; the file itself, if the
// answer came in a container, is added by the caller.
func readAnlage(an *node) (Attachment, error) {
	att := Attachment{Title: an.get("bezeichnung").value(), MediaType: an.get("mimeType", "code").value()}
	if att.MediaType == "" {
		return att, missing(an.childPath("mimeType", "code"))
	}
	if !isMediaType(att.MediaType) {
		return att, &Error{Path: an.childPath("mimeType", "code"), Reason: "is not a media type of the form type/subtype"}
	}
	aov := an.child("", "anhangOderVerlinkung")
	if aov == nil {
		return att, missing(an.childPath("anhangOderVerlinkung"))
	}
	switch {
	case aov.child("", "anhang") != nil:
		anh := aov.child("", "anhang")
		id, err := requireText(anh, "dokumentid")
		if err != nil {
			return att, err
		}
		name, err := requireText(anh, "dateiname")
		if err != nil {
			return att, err
		}
		if reason := checkFileName(name); reason != "" {
			return att, &Error{Path: anh.childPath("dateiname"), Reason: reason}
		}
		att.ID, att.FileName = id, name
		if fs, ok := anh.attr("filesize"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(fs), 10, 64)
			if err != nil || n <= 0 {
				return att, &Error{Path: anh.path + "/@filesize", Reason: "is not a positive integer"}
			}
			att.Size = n
		}
	case aov.child("", "verlinkung") != nil:
		v := aov.child("", "verlinkung")
		uri, err := requireText(v, "uriVerlinkung")
		if err != nil {
			return att, err
		}
		att.ID, att.URI = uri, uri
		if name := v.get("dateiname").value(); name != "" {
			if reason := checkFileName(name); reason != "" {
				return att, &Error{Path: v.childPath("dateiname"), Reason: reason}
			}
			att.FileName = name
		}
	default:
		return att, missing(aov.childPath("anhang"))
	}
	return att, nil
}

// isMediaType reports whether s has the form type/subtype of RFC 6838
// restricted-name characters, without parameters.
func isMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && restrictedName(typ) && restrictedName(sub)
}

func restrictedName(s string) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("!#$&-^_.+", rune(c))) {
			return false
		}
	}
	return true
}

// MaxFileNameBytes is the longest attachment file name accepted, in bytes.
const MaxFileNameBytes = 255

// checkFileName returns why name is not a plain file name that any file
// system and a Content-Disposition header can carry, or "".
func checkFileName(name string) string {
	switch {
	case len(name) > MaxFileNameBytes:
		return "is a file name longer than 255 bytes"
	case name == "." || name == "..":
		return "is not a file name"
	case strings.ContainsAny(name, `/\`):
		return "is a path, not a plain file name"
	case strings.HasPrefix(name, " ") || strings.HasSuffix(name, " ") || strings.HasSuffix(name, "."):
		return "is a file name beginning or ending with a space or ending with a dot"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || 0x80 <= r && r <= 0x9f || r == '\ufffd' {
			return "is a file name with a control character"
		}
	}
	return ""
}
