package intake

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/transform"
)

// Attachment is one attachment (Anlage) of a request as its protocol
// decoded it, before Accept checks it.
type Attachment struct {
	// ID, FileName and MIMEType are as the request states them: empty
	// where it states nothing, or where the protocol reported the member
	// as missing or malformed.
	ID       string
	FileName string
	MIMEType string
	// Content is the content when it came with the request (base64 in a
	// JSON body, a decrypted FIT-Connect attachment): Accept checks and
	// stages it. Nil when the content arrives after the request (an
	// upload): Attachments.Stage streams it through the Stager, which
	// checks it as it is staged.
	Content []byte
}

// Attachments supplies the files (Anlagen) of a submission, as its protocol
// carries them. The protocol only decodes; Accept applies the procedure's
// rules (see checkAttachments and Stager.Stage) to every attachment,
// whatever the protocol.
//
// Problems are located by JSON pointers in one layout, whatever the
// protocol: attachment i is /attachments/i, its members id, filename,
// mime_type and content. Accept reports no problem at a pointer (or below
// an attachment's pointer) at which the protocol reported one already.
type Attachments interface {
	// Check returns the attachments of the request in request order, one
	// for each attachment the request carries, also for those with
	// problems, and the problems of their encoding (a member of the wrong
	// type, content that is not valid base64). Accept calls it once the
	// tenant's route and the mapper are known and checks the result before
	// the mapper's Validate, which may cross-check references to them.
	Check() ([]Attachment, []transform.FieldError)
	// Stage streams the content of each attachment whose Content was nil
	// through s.Stage, which checks it and sets its Size and Ref. It
	// returns the problems of content that arrives only now (an upload),
	// or an error, which Accept returns as it is (a *ValidationError of
	// s.Stage included). Accept has staged the Content it was given before
	// it calls Stage, after the mapper's Validate; a protocol whose content
	// always comes with the request returns nil, nil.
	Stage(ctx context.Context, s *Stager, attachments []transform.Attachment) ([]transform.FieldError, error)
}

// MaxFileNameBytes is the longest attachment file name accepted, in bytes
// of UTF-8: the limit of most file systems for one name.
const MaxFileNameBytes = 255

// Members of an attachment in the pointers of its problems.
const (
	memberID       = "id"
	memberFileName = "filename"
	memberMIMEType = "mime_type"
	memberContent  = "content"
)

// attachmentsPointer points at the attachments of a request.
const attachmentsPointer = "/attachments"

// AttachmentPointer returns the JSON pointer of attachment i of a request,
// /attachments/i, below which Accept reports its problems.
func AttachmentPointer(i int) string { return attachmentsPointer + "/" + strconv.Itoa(i) }

// signature is what the content of a media type that Accept sniffs starts
// with.
type signature struct {
	en, de   string   // "a PDF document", for messages
	prefixes []string // the content starts with one of them
}

// signatures are the media types whose content is checked. Other allowed
// types are accepted as declared.
var signatures = map[string]signature{
	"application/pdf": {"a PDF document", "ein PDF-Dokument", []string{"%PDF-"}},
	"image/png":       {"a PNG image", "ein PNG-Bild", []string{"\x89PNG\r\n\x1a\n"}},
	"image/jpeg":      {"a JPEG image", "ein JPEG-Bild", []string{"\xff\xd8\xff"}},
	"image/tiff":      {"a TIFF image", "ein TIFF-Bild", []string{"II*\x00", "MM\x00*"}},
}

// signatureLength is how many leading bytes checkSignature needs at most.
const signatureLength = 8

// checkSignature reports content of attachment i whose first bytes, head,
// are not the signature of its media type mimeType (lower case); types
// without a known signature pass.
func checkSignature(i int, mimeType string, head []byte) *transform.FieldError {
	sig, sniffed := signatures[mimeType]
	if !sniffed || slices.ContainsFunc(sig.prefixes, func(prefix string) bool { return bytes.HasPrefix(head, []byte(prefix)) }) {
		return nil
	}
	return &transform.FieldError{Pointer: AttachmentPointer(i) + "/" + memberContent, Code: CodeContentMismatch,
		Message:   fmt.Sprintf("content is not %s as mime_type declares", sig.en),
		MessageDE: fmt.Sprintf("content ist nicht %s, wie mime_type angibt", sig.de)}
}

// ranked is a problem of attachment index (-1: of the attachments as a
// whole, or elsewhere) at rank, the order in which the members of one
// attachment are reported.
type ranked struct {
	index, rank int
	fe          transform.FieldError
}

// Ranks of the problems of one attachment, in the order they are reported.
const (
	rankWhole     = iota // the attachment itself (not an object, say)
	rankOther            // a member the protocol does not know
	rankID               // id
	rankFileName         // filename
	rankMIMEType         // mime_type
	rankContent          // content
	rankDuplicate        // an id used by an earlier attachment
)

// locate returns the attachment index and rank of a problem at pointer p.
func locate(p string) (index, rank int) {
	rest, ok := strings.CutPrefix(p, attachmentsPointer+"/")
	if !ok {
		return -1, rankWhole
	}
	num, member, _ := strings.Cut(rest, "/")
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || strconv.Itoa(i) != num {
		return -1, rankWhole
	}
	switch member {
	case "":
		return i, rankWhole
	case memberID:
		return i, rankID
	case memberFileName:
		return i, rankFileName
	case memberMIMEType:
		return i, rankMIMEType
	case memberContent:
		return i, rankContent
	}
	return i, rankOther
}

// checkAttachments applies the procedure's limits (zero fields: the
// defaults) and the rules of every attachment to what a protocol decoded,
// atts and its problems reported, and returns the attachments for the
// mapper (MIMEType in lower case, Size of the Content given), or every
// problem, the protocol's merged in request order.
//
// The rules: at most MaxCount attachments (checked first and alone: each
// of so many would be checked in vain); each id a UUID in canonical
// lower-case form and used once; each file name a plain name for any file
// system (checkFileName); each media type one the procedure allows,
// compared case-insensitively; content given is 1 to MaxBytes bytes
// starting with the signature of its media type (checkSignature), and all
// of it together at most MaxTotalBytes when set.
func checkAttachments(atts []Attachment, reported []transform.FieldError, limits config.AttachmentLimits) (
	[]transform.Attachment, []transform.FieldError) {
	limits = limits.WithDefaults()
	if len(atts) > limits.MaxCount {
		return nil, []transform.FieldError{{Pointer: attachmentsPointer, Code: transform.CodeTooLong,
			Message:   fmt.Sprintf("%d attachments, at most %d are allowed", len(atts), limits.MaxCount),
			MessageDE: fmt.Sprintf("%d Anlagen, höchstens %d sind zulässig", len(atts), limits.MaxCount)}}
	}
	problems := make([]ranked, 0, len(reported))
	at := make(map[string]bool, len(reported)) // pointers with a problem reported
	for _, fe := range reported {
		i, rank := locate(fe.Pointer)
		problems = append(problems, ranked{i, rank, fe})
		at[fe.Pointer] = true
	}
	var ours []ranked // after the protocol's at the same place
	report := func(i, rank int, fe transform.FieldError) { ours = append(ours, ranked{i, rank, fe}) }

	out := make([]transform.Attachment, len(atts))
	firstByID := make(map[string]int, len(atts))
	var total int64
	for i, a := range atts {
		p := AttachmentPointer(i)
		if at[p] {
			continue // the protocol could not decode it at all
		}
		free := func(member string) bool { return !at[p+"/"+member] }
		if free(memberID) {
			switch {
			case a.ID == "":
				report(i, rankID, required(p, memberID))
			case !isCanonicalUUID(a.ID):
				report(i, rankID, transform.FieldError{Pointer: p + "/" + memberID, Code: transform.CodeFormat,
					Message:   "id must be a UUID in canonical lower-case form (8-4-4-4-12 hex digits)",
					MessageDE: "id muss eine UUID in kanonischer Kleinschreibung sein (8-4-4-4-12 Hexadezimalziffern)"})
			default:
				if first, dup := firstByID[a.ID]; dup {
					report(i, rankDuplicate, transform.FieldError{Pointer: p + "/" + memberID, Code: CodeDuplicateID,
						Message:   fmt.Sprintf("id is the id of attachment %d already; each attachment needs its own", first),
						MessageDE: fmt.Sprintf("id ist bereits die id der Anlage %d; jede Anlage braucht eine eigene", first)})
				} else {
					firstByID[a.ID] = i
				}
			}
		}
		if free(memberFileName) {
			if fe := checkFileName(p+"/"+memberFileName, a.FileName); fe != nil {
				report(i, rankFileName, *fe)
			}
		}
		mimeOK := false
		if free(memberMIMEType) {
			switch {
			case a.MIMEType == "":
				report(i, rankMIMEType, required(p, memberMIMEType))
			case slices.ContainsFunc(limits.MIMETypes, func(allowed string) bool { return strings.EqualFold(allowed, a.MIMEType) }):
				mimeOK = true
			default:
				allowed := strings.ToLower(strings.Join(limits.MIMETypes, ", "))
				report(i, rankMIMEType, transform.FieldError{Pointer: p + "/" + memberMIMEType, Code: transform.CodeEnum,
					Message:   fmt.Sprintf("mime_type is not allowed for this procedure; allowed are %s", allowed),
					MessageDE: fmt.Sprintf("mime_type ist für diese Leistung nicht zulässig; zulässig sind %s", allowed)})
			}
		}
		mimeType := strings.ToLower(a.MIMEType)
		if a.Content != nil && free(memberContent) {
			if fe := checkContent(p, int64(len(a.Content)), limits.MaxBytes); fe != nil {
				report(i, rankContent, *fe)
			} else if fe := checkSignature(i, mimeType, a.Content); mimeOK && fe != nil {
				report(i, rankContent, *fe)
			}
			total += int64(len(a.Content))
		}
		out[i] = transform.Attachment{ID: a.ID, FileName: a.FileName, MIMEType: mimeType, Size: int64(len(a.Content))}
	}
	if limits.MaxTotalBytes > 0 && total > limits.MaxTotalBytes {
		report(-1, rankWhole, totalTooLarge(total, limits.MaxTotalBytes))
	}
	if len(problems) == 0 && len(ours) == 0 {
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	problems = append(problems, ours...)
	slices.SortStableFunc(problems, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.rank, b.rank))
	})
	errs := make([]transform.FieldError, len(problems))
	for i, pr := range problems {
		errs[i] = pr.fe
	}
	return nil, errs
}

// required is the problem of a member of the attachment at p that is
// empty although the protocol reported nothing.
func required(p, member string) transform.FieldError {
	return transform.FieldError{Pointer: p + "/" + member, Code: transform.CodeRequired,
		Message: member + " is required", MessageDE: member + " ist erforderlich"}
}

// checkContent checks the size of content of n bytes of the attachment at
// p against maxBytes.
func checkContent(p string, n, maxBytes int64) *transform.FieldError {
	switch {
	case n == 0:
		return &transform.FieldError{Pointer: p + "/" + memberContent, Code: transform.CodeTooShort,
			Message: "content must not be empty", MessageDE: "content darf nicht leer sein"}
	case n > maxBytes:
		return &transform.FieldError{Pointer: p + "/" + memberContent, Code: transform.CodeTooLong,
			Message:   fmt.Sprintf("content has %d bytes, at most %d are allowed", n, maxBytes),
			MessageDE: fmt.Sprintf("content hat %d Bytes, höchstens %d sind zulässig", n, maxBytes)}
	}
	return nil
}

// totalTooLarge is the problem of attachments larger than maxTotal bytes
// together: n bytes, or n < 0 where the upload was stopped at the limit.
func totalTooLarge(n, maxTotal int64) transform.FieldError {
	fe := transform.FieldError{Pointer: attachmentsPointer, Code: transform.CodeTooLong,
		Message:   fmt.Sprintf("the attachments are larger than %d bytes together, the limit of one submission", maxTotal),
		MessageDE: fmt.Sprintf("die Anlagen sind zusammen größer als %d Bytes, die Grenze für einen Antrag", maxTotal)}
	if n >= 0 {
		fe.Message = fmt.Sprintf("the attachments have %d bytes together, at most %d are allowed in one submission", n, maxTotal)
		fe.MessageDE = fmt.Sprintf("die Anlagen haben zusammen %d Bytes, höchstens %d sind in einem Antrag zulässig", n, maxTotal)
	}
	return fe
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
// which is rejected rather than rewritten, so the sender learns what to
// fix. It becomes part of the entry names of ZIP containers (the xoev
// bundle, the xdomea filing). It returns the first problem, or nil.
func checkFileName(p, name string) *transform.FieldError {
	invalid := func(en, de string) *transform.FieldError {
		return &transform.FieldError{Pointer: p, Code: CodeInvalidFileName, Message: en, MessageDE: de}
	}
	if name == "" {
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
