package portalapi

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform"
)

// MaxFileNameBytes is the longest attachment file name accepted, in bytes
// of UTF-8: the limit of most file systems for one name.
const MaxFileNameBytes = 255

// Members of an attachment object in the request body.
const (
	memberAttachmentID = "id"
	memberFileName     = "filename"
	memberMIMEType     = "mime_type"
	memberContent      = "content"
)

// signature is what the content of a media type that Amtsbote sniffs
// starts with.
type signature struct {
	what     localized // "a PDF document", for messages
	prefixes []string  // the content starts with one of them
}

// signatures are the media types whose content is checked at intake. Other
// allowed types are accepted as declared.
var signatures = map[string]signature{
	"application/pdf": {localized{"a PDF document", "ein PDF-Dokument"}, []string{"%PDF-"}},
	"image/png":       {localized{"a PNG image", "ein PNG-Bild"}, []string{"\x89PNG\r\n\x1a\n"}},
	"image/jpeg":      {localized{"a JPEG image", "ein JPEG-Bild"}, []string{"\xff\xd8\xff"}},
	"image/tiff":      {localized{"a TIFF image", "ein TIFF-Bild"}, []string{"II*\x00", "MM\x00*"}},
}

// checkAttachmentsType reports an attachments member that is neither
// absent, null nor an array; decodeAttachments checks the rest once the
// procedure's limits are known.
func checkAttachmentsType(v any, errs *[]transform.FieldError) {
	switch v.(type) {
	case nil, []any:
	default:
		*errs = append(*errs, attachmentsTypeError())
	}
}

func attachmentsTypeError() transform.FieldError {
	return transform.FieldError{Pointer: "/" + memberAttachments, Code: transform.CodeType,
		Message: "attachments must be a JSON array", MessageDE: "attachments muss ein JSON-Array sein"}
}

// decodeAttachments checks the attachments member v of a request body
// against the limits of its procedure (zero fields meaning the defaults)
// and returns the attachments in request order with their decoded content
// (contents[i] of attachments[i]), or every problem found. With inParts
// (a multipart request) the objects carry no content: it follows in the
// parts, and contents is nil. An absent, null or empty member is no
// attachments.
func decodeAttachments(v any, limits config.AttachmentLimits, inParts bool) (attachments []transform.Attachment,
	contents [][]byte, errs []transform.FieldError) {
	limits = limits.WithDefaults()
	const pointer = "/" + memberAttachments
	var list []any
	switch v := v.(type) {
	case nil:
		return nil, nil, nil
	case []any:
		list = v
	default:
		return nil, nil, []transform.FieldError{attachmentsTypeError()}
	}
	if len(list) == 0 {
		return nil, nil, nil
	}
	if len(list) > limits.MaxCount {
		// Each of so many would be checked in vain.
		return nil, nil, []transform.FieldError{{Pointer: pointer, Code: transform.CodeTooLong,
			Message:   fmt.Sprintf("%d attachments, at most %d are allowed", len(list), limits.MaxCount),
			MessageDE: fmt.Sprintf("%d Anlagen, höchstens %d sind zulässig", len(list), limits.MaxCount)}}
	}
	out := make([]transform.Attachment, 0, len(list))
	if !inParts {
		contents = make([][]byte, 0, len(list))
	}
	firstByID := make(map[string]int, len(list))
	for i, item := range list {
		p := pointer + "/" + strconv.Itoa(i)
		a, content, idOK, ok := decodeAttachment(p, item, limits, inParts, &errs)
		if idOK {
			if first, dup := firstByID[a.ID]; dup {
				errs = append(errs, transform.FieldError{Pointer: p + "/" + memberAttachmentID, Code: CodeDuplicateID,
					Message:   fmt.Sprintf("id is the id of attachment %d already; each attachment needs its own", first),
					MessageDE: fmt.Sprintf("id ist bereits die id der Anlage %d; jede Anlage braucht eine eigene", first)})
				ok = false
			} else {
				firstByID[a.ID] = i
			}
		}
		if ok {
			out = append(out, a)
			if !inParts {
				contents = append(contents, content)
			}
		}
	}
	if errs != nil {
		return nil, nil, errs
	}
	return out, contents, nil
}

// decodeAttachment checks one attachment object at pointer p and returns
// it with its decoded content (none with inParts). idOK reports a valid id
// (for the duplicate check), ok a valid attachment.
func decodeAttachment(p string, v any, limits config.AttachmentLimits, inParts bool,
	errs *[]transform.FieldError) (a transform.Attachment, content []byte, idOK, ok bool) {
	obj, isObj := v.(map[string]any)
	if !isObj {
		*errs = append(*errs, transform.FieldError{Pointer: p, Code: transform.CodeType,
			Message: "an attachment must be a JSON object", MessageDE: "eine Anlage muss ein JSON-Objekt sein"})
		return a, nil, false, false
	}
	before := len(*errs)
	var unknown []string
	for k := range obj {
		switch k {
		case memberAttachmentID, memberFileName, memberMIMEType, memberContent:
		default:
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		*errs = append(*errs, transform.FieldError{Pointer: transform.AppendPointer(p, k), Code: CodeUnknownField,
			Message:   "unknown member; allowed are id, filename, mime_type and content",
			MessageDE: "unbekanntes Feld; erlaubt sind id, filename, mime_type und content"})
	}

	id, idSet := attachmentString(p, obj, memberAttachmentID, errs)
	if idSet {
		if isCanonicalUUID(id) {
			a.ID, idOK = id, true
		} else {
			*errs = append(*errs, attachmentError(p, memberAttachmentID, transform.CodeFormat,
				localized{"id must be a UUID in canonical lower-case form (8-4-4-4-12 hex digits)",
					"id muss eine UUID in kanonischer Kleinschreibung sein (8-4-4-4-12 Hexadezimalziffern)"}))
		}
	}
	if name, set := attachmentString(p, obj, memberFileName, errs); set {
		if fe := checkFileName(transform.AppendPointer(p, memberFileName), name); fe != nil {
			*errs = append(*errs, *fe)
		} else {
			a.FileName = name
		}
	}
	mimeOK := false
	if mt, set := attachmentString(p, obj, memberMIMEType, errs); set {
		if slices.ContainsFunc(limits.MIMETypes, func(allowed string) bool { return strings.EqualFold(allowed, mt) }) {
			a.MIMEType, mimeOK = strings.ToLower(mt), true
		} else {
			allowed := strings.ToLower(strings.Join(limits.MIMETypes, ", "))
			*errs = append(*errs, attachmentError(p, memberMIMEType, transform.CodeEnum,
				text("mime_type is not allowed for this procedure; allowed are %s",
					"mime_type ist für diese Leistung nicht zulässig; zulässig sind %s", allowed)))
		}
	}
	switch {
	case inParts && obj[memberContent] != nil:
		*errs = append(*errs, attachmentError(p, memberContent, CodeUnknownField,
			localized{"in a multipart/form-data request the content is sent as the part named by the id, not in the JSON",
				"in einer multipart/form-data-Anfrage wird der Inhalt als Teil mit der id als Namen gesendet, nicht im JSON"}))
	case inParts:
	default:
		if encoded, set := attachmentString(p, obj, memberContent, errs); set {
			content = decodeContent(transform.AppendPointer(p, memberContent), encoded, limits.MaxBytes, errs)
			if content != nil && mimeOK {
				if fe := checkSignature(p, a.MIMEType, content); fe != nil {
					*errs = append(*errs, *fe)
				}
			}
		}
	}
	return a, content, idOK, len(*errs) == before
}

// signatureLength is how many leading bytes checkSignature needs at most.
const signatureLength = 8

// checkSignature reports content of the attachment at p whose first bytes,
// head, are not the signature of its declared media type; types without a
// known signature pass.
func checkSignature(p, mimeType string, head []byte) *transform.FieldError {
	sig, sniffed := signatures[mimeType]
	if !sniffed || slices.ContainsFunc(sig.prefixes, func(prefix string) bool { return bytes.HasPrefix(head, []byte(prefix)) }) {
		return nil
	}
	fe := attachmentError(p, memberContent, CodeContentMismatch,
		localized{fmt.Sprintf("content is not %s as mime_type declares", sig.what.en),
			fmt.Sprintf("content ist nicht %s, wie mime_type angibt", sig.what.de)})
	return &fe
}

// attachmentString returns the string member name of the attachment object
// at p, and whether it is set (present, a string and not empty); it
// reports it as required or of the wrong type otherwise.
func attachmentString(p string, obj map[string]any, name string, errs *[]transform.FieldError) (string, bool) {
	switch v := obj[name].(type) {
	case nil:
		*errs = append(*errs, attachmentError(p, name, transform.CodeRequired,
			text("%s is required", "%s ist erforderlich", name)))
	case string:
		if v != "" {
			return v, true
		}
		code := transform.CodeRequired
		if name == memberContent {
			code = transform.CodeTooShort // an empty file: present, but zero bytes
		}
		*errs = append(*errs, attachmentError(p, name, code,
			text("%s must not be empty", "%s darf nicht leer sein", name)))
	default:
		*errs = append(*errs, attachmentError(p, name, transform.CodeType,
			text("%s must be a string", "%s muss eine Zeichenkette sein", name)))
	}
	return "", false
}

func attachmentError(p, member, code string, msg localized) transform.FieldError {
	return transform.FieldError{Pointer: transform.AppendPointer(p, member), Code: code, Message: msg.en, MessageDE: msg.de}
}

// isCanonicalUUID reports whether s is a UUID as 36 lower-case characters,
// 8-4-4-4-12 hex digits.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// checkFileName checks the file name of an attachment at pointer p: a plain
// name for any file system, Windows shares included (no path, no drive, no
// characters Windows forbids, no trailing dot or space, no device name),
// which is rejected rather than rewritten, so the portal learns what to
// fix. It returns the first problem, or nil.
func checkFileName(p, name string) *transform.FieldError {
	invalid := func(en, de string) *transform.FieldError {
		return &transform.FieldError{Pointer: p, Code: CodeInvalidFileName, Message: en, MessageDE: de}
	}
	if name == "" { // attachmentString reports it first; kept for other callers
		return &transform.FieldError{Pointer: p, Code: transform.CodeRequired,
			Message: "filename must not be empty", MessageDE: "filename darf nicht leer sein"}
	}
	if len(name) > MaxFileNameBytes {
		return &transform.FieldError{Pointer: p, Code: transform.CodeTooLong,
			Message:   fmt.Sprintf("filename has %d bytes (UTF-8), at most %d are allowed", len(name), MaxFileNameBytes),
			MessageDE: fmt.Sprintf("filename hat %d Bytes (UTF-8), höchstens %d sind zulässig", len(name), MaxFileNameBytes)}
	}
	// CheckText permits tab and line breaks, which have no place in a name.
	pos := 0
	for _, r := range name {
		pos++
		if r < 0x20 || 0x7f <= r && r <= 0x9f {
			return &transform.FieldError{Pointer: p, Code: transform.CodeControlCharacter,
				Message:   fmt.Sprintf("control character U+%04X at position %d is not permitted", r, pos),
				MessageDE: fmt.Sprintf("Steuerzeichen U+%04X an Position %d ist nicht zulässig", r, pos)}
		}
	}
	if errs := transform.CheckText(p, name); len(errs) > 0 {
		return &errs[0]
	}
	switch {
	case !utf8.ValidString(name) || transform.NormalizeText(name) != name:
		return invalid("filename must be in Unicode Normalization Form C (NFC)",
			"filename muss in Unicode-Normalform C (NFC) sein")
	case strings.ContainsAny(name, `/\`):
		return invalid("filename must be a name without a path: no / or \\",
			"filename muss ein Name ohne Pfad sein: kein / oder \\")
	case name == "." || name == "..":
		return invalid("filename must not be . or ..", "filename darf nicht . oder .. sein")
	case strings.HasPrefix(name, "."):
		return invalid("filename must not start with a dot (hidden file)",
			"filename darf nicht mit einem Punkt beginnen (versteckte Datei)")
	case strings.Contains(name, ":"):
		return invalid("filename must not contain a colon (drive letter or alternate data stream)",
			"filename darf keinen Doppelpunkt enthalten (Laufwerksbuchstabe oder alternativer Datenstrom)")
	case strings.ContainsAny(name, `<>"|?*`):
		return invalid(`filename must not contain < > " | ? or *`, `filename darf kein < > " | ? oder * enthalten`)
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") || strings.HasPrefix(name, " "):
		return invalid("filename must not start with a space or end with a dot or space",
			"filename darf nicht mit einem Leerzeichen beginnen oder mit Punkt oder Leerzeichen enden")
	case isReservedDeviceName(name):
		return invalid("filename must not be a reserved device name such as CON, NUL, COM1 or LPT1",
			"filename darf kein reservierter Gerätename wie CON, NUL, COM1 oder LPT1 sein")
	}
	return nil
}

// isReservedDeviceName reports whether name, without its extensions, is a
// device name that Windows file shares resolve to a device, not a file.
func isReservedDeviceName(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	for _, prefix := range []string{"COM", "LPT"} {
		if n, ok := strings.CutPrefix(base, prefix); ok && len([]rune(n)) == 1 && strings.Contains("123456789¹²³", n) {
			return true
		}
	}
	return false
}

// decodeContent decodes the content of an attachment at pointer p: standard
// base64 with padding (RFC 4648, section 4), nothing else, decoding to 1 to
// maxBytes bytes. A string too long for maxBytes is rejected before it is
// decoded. It returns nil after reporting a problem.
func decodeContent(p, s string, maxBytes int64, errs *[]transform.FieldError) []byte {
	if maxEncoded := (maxBytes + 2) / 3 * 4; int64(len(s)) > maxEncoded {
		*errs = append(*errs, transform.FieldError{Pointer: p, Code: transform.CodeTooLong,
			Message:   fmt.Sprintf("content is larger than %d bytes, the limit of one attachment", maxBytes),
			MessageDE: fmt.Sprintf("content ist größer als %d Bytes, die Grenze für eine Anlage", maxBytes)})
		return nil
	}
	format := func(en, de string) []byte {
		*errs = append(*errs, transform.FieldError{Pointer: p, Code: transform.CodeFormat, Message: en, MessageDE: de})
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/', c == '=':
		case c == '-' || c == '_':
			return format("content must be standard base64 (RFC 4648, section 4), not the URL-safe alphabet",
				"content muss Standard-Base64 sein (RFC 4648, Abschnitt 4), nicht das URL-sichere Alphabet")
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return format("content must be base64 without white space or line breaks",
				"content muss Base64 ohne Leerzeichen oder Zeilenumbrüche sein")
		default:
			return format("content must be standard base64 (RFC 4648, section 4)",
				"content muss Standard-Base64 sein (RFC 4648, Abschnitt 4)")
		}
	}
	if len(s)%4 != 0 {
		return format("content must be base64 with padding (=)", "content muss Base64 mit Auffüllung (=) sein")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return format("content is not valid base64 (RFC 4648, section 4)",
			"content ist kein gültiges Base64 (RFC 4648, Abschnitt 4)")
	}
	switch {
	case len(b) == 0:
		*errs = append(*errs, transform.FieldError{Pointer: p, Code: transform.CodeTooShort,
			Message: "content must not be empty", MessageDE: "content darf nicht leer sein"})
		return nil
	case int64(len(b)) > maxBytes:
		*errs = append(*errs, transform.FieldError{Pointer: p, Code: transform.CodeTooLong,
			Message:   fmt.Sprintf("content has %d bytes, at most %d are allowed", len(b), maxBytes),
			MessageDE: fmt.Sprintf("content hat %d Bytes, höchstens %d sind zulässig", len(b), maxBytes)})
		return nil
	}
	return b
}
