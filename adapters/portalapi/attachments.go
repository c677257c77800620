package portalapi

import (
	"encoding/base64"
	"slices"

	"github.com/amtsbote/amtsbote/intake"
	"github.com/amtsbote/amtsbote/transform"
)

// MaxFileNameBytes is the longest attachment file name accepted, in bytes
// of UTF-8 (intake.MaxFileNameBytes).
const MaxFileNameBytes = intake.MaxFileNameBytes

// Members of an attachment object in the request body.
const (
	memberAttachmentID = "id"
	memberFileName     = "filename"
	memberMIMEType     = "mime_type"
	memberContent      = "content"
)

// checkAttachmentsType reports an attachments member that is neither
// absent, null nor an array; decodeAttachments decodes the rest once the
// procedure is known to be allowed.
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

// decodeAttachments decodes the attachments member v of a request body:
// one intake.Attachment for each element of the array, in request order,
// also for elements with problems, and the problems of their encoding (an
// element that is no object, an unknown member, a member missing or of the
// wrong type, content that is not standard base64). The rules of
// attachments (their number, ids, file names, media types, sizes and
// signatures) are intake's, which Intake.Accept applies to the result.
// With inParts (a multipart request) the objects carry no content: it
// follows in the parts, and each Content is nil. An absent, null or empty
// member is no attachments.
func decodeAttachments(v any, inParts bool) ([]intake.Attachment, []transform.FieldError) {
	var list []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		list = v
	default:
		return nil, []transform.FieldError{attachmentsTypeError()}
	}
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]intake.Attachment, len(list))
	var errs []transform.FieldError
	for i, item := range list {
		out[i] = decodeAttachment(intake.AttachmentPointer(i), item, inParts, &errs)
	}
	return out, errs
}

// decodeAttachment decodes one attachment object at pointer p, reporting
// the problems of its encoding; a member with a problem is left empty.
func decodeAttachment(p string, v any, inParts bool, errs *[]transform.FieldError) (a intake.Attachment) {
	obj, isObj := v.(map[string]any)
	if !isObj {
		*errs = append(*errs, transform.FieldError{Pointer: p, Code: transform.CodeType,
			Message: "an attachment must be a JSON object", MessageDE: "eine Anlage muss ein JSON-Objekt sein"})
		return a
	}
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
	a.ID, _ = attachmentString(p, obj, memberAttachmentID, errs)
	a.FileName, _ = attachmentString(p, obj, memberFileName, errs)
	a.MIMEType, _ = attachmentString(p, obj, memberMIMEType, errs)
	switch {
	case inParts && obj[memberContent] != nil:
		*errs = append(*errs, attachmentError(p, memberContent, CodeUnknownField,
			localized{"in a multipart/form-data request the content is sent as the part named by the id, not in the JSON",
				"in einer multipart/form-data-Anfrage wird der Inhalt als Teil mit der id als Namen gesendet, nicht im JSON"}))
	case inParts:
	default:
		if encoded, set := attachmentString(p, obj, memberContent, errs); set {
			a.Content = decodeContent(transform.AppendPointer(p, memberContent), encoded, errs)
		}
	}
	return a
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

// decodeContent decodes the content of an attachment at pointer p: standard
// base64 with padding (RFC 4648, section 4), nothing else. It returns nil
// after reporting a problem. Its size is intake's to check.
func decodeContent(p, s string, errs *[]transform.FieldError) []byte {
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
	return b
}
