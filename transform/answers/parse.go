package answers

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"mime"
	"path"
	"strconv"
	"strings"
)

// Formats of a body.
const (
	formatXML  = "xml"
	formatJSON = "json"
	formatZIP  = "zip"
)

// Parse reads body as an answer. contentType is the body's media type
// (application/xml, text/xml, application/json, application/zip, a +xml
// or +json type) or "" (or application/octet-stream) to detect the format
// from the first bytes. Every error is an *Error whose Reason never
// quotes the body; the sentinels ErrDTD, ErrTooDeep, ErrTooLarge,
// ErrUnknownType and ErrNoReference tell some of them apart. Parse never
// panics and reads no more than lim allows.
func Parse(body []byte, contentType string, lim Limits) (a Answer, err error) {
	lim = lim.withDefaults()
	if int64(len(body)) > lim.MaxBytes {
		return Answer{}, &Error{Reason: "the body has more than " + strconv.FormatInt(lim.MaxBytes, 10) + " bytes", Err: ErrTooLarge}
	}
	format, err := detect(body, contentType)
	if err != nil {
		return Answer{}, err
	}
	switch format {
	case formatJSON:
		return parseJSON(body, lim.MaxDepth)
	case formatZIP:
		return parseZIP(body, lim)
	default:
		root, err := readXML(body, lim.MaxDepth)
		if err != nil {
			return Answer{}, err
		}
		return parseXML(root)
	}
}

// detect returns the format of body: from contentType where given, checked
// against the first bytes; from the first bytes otherwise.
func detect(body []byte, contentType string) (string, error) {
	sniffed := sniff(body)
	if contentType == "" {
		if sniffed == "" {
			return "", &Error{Reason: "the body is neither XML, JSON nor a ZIP container", Err: ErrUnknownType}
		}
		return sniffed, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", &Error{Reason: "the media type does not parse", Err: ErrUnknownType}
	}
	var declared string
	switch {
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		declared = formatXML
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		declared = formatJSON
	case mt == "application/zip" || mt == "application/x-zip-compressed":
		declared = formatZIP
	case mt == "application/octet-stream":
		if sniffed == "" {
			return "", &Error{Reason: "the body is neither XML, JSON nor a ZIP container", Err: ErrUnknownType}
		}
		return sniffed, nil
	default:
		return "", &Error{Reason: "the media type is none of XML, JSON or ZIP", Err: ErrUnknownType}
	}
	if sniffed != declared {
		return "", &Error{Reason: "the body is not " + strings.ToUpper(declared) + " as its media type says"}
	}
	return declared, nil
}

// sniff tells the format by the first bytes, after a UTF-8 byte order
// mark and white space for XML and JSON.
func sniff(body []byte) string {
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) || bytes.HasPrefix(body, []byte("PK\x05\x06")) {
		return formatZIP
	}
	b := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case len(b) == 0:
		return ""
	case b[0] == '<':
		return formatXML
	case b[0] == '{' || b[0] == '[':
		return formatJSON
	}
	return ""
}

// parseZIP reads an answer sent as a ZIP container: the message is the
// first entry whose name ends in ".xml"; every file an anhang names is the
// entry of that dateiname, or of "<uuid>_<dateiname>" where the dokumentid
// is urn:uuid:<uuid> (the naming of Amtsbote's own containers). Other
// entries are ignored. The container may hold at most lim.MaxEntries
// entries and unpack to at most lim.MaxBytes in total, counted while
// reading (the sizes its directory states are not trusted).
func parseZIP(body []byte, lim Limits) (Answer, error) {
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return Answer{}, &Error{Reason: "the body is not a readable ZIP container"}
	}
	if len(zr.File) > lim.MaxEntries {
		return Answer{}, &Error{Reason: "the container has more than " + strconv.Itoa(lim.MaxEntries) + " entries", Err: ErrTooLarge}
	}
	budget := lim.MaxBytes
	var msg *zip.File
	byName := map[string]*zip.File{}
	for _, f := range zr.File {
		if reason := checkEntryName(f.Name); reason != "" {
			return Answer{}, &Error{Path: "zip:", Reason: "an entry name " + reason}
		}
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory
		}
		if _, dup := byName[f.Name]; dup {
			return Answer{}, &Error{Path: "zip:", Reason: "two entries have the same name"}
		}
		byName[f.Name] = f
		if msg == nil && strings.HasSuffix(strings.ToLower(f.Name), ".xml") {
			msg = f
		}
	}
	if msg == nil {
		return Answer{}, &Error{Path: "zip:", Reason: "the container holds no XML message (an entry named *.xml)", Err: ErrUnknownType}
	}
	data, err := readEntry(msg, &budget)
	if err != nil {
		return Answer{}, err
	}
	root, err := readXML(data, lim.MaxDepth)
	if err != nil {
		return Answer{}, inEntry(msg.Name, err)
	}
	a, err := parseXML(root)
	if err != nil {
		return Answer{}, inEntry(msg.Name, err)
	}
	for i := range a.Attachments {
		at := &a.Attachments[i]
		if at.URI != "" {
			continue
		}
		f := byName[at.FileName]
		if u, ok := strings.CutPrefix(strings.ToLower(at.ID), "urn:uuid:"); f == nil && ok {
			f = byName[u+"_"+at.FileName]
		}
		if f == nil || f == msg {
			return Answer{}, &Error{Path: "zip:" + msg.Name + " anlage " + strconv.Itoa(i+1), Reason: "names a file (dateiname) that the container does not hold"}
		}
		if at.Data, err = readEntry(f, &budget); err != nil {
			return Answer{}, err
		}
		if at.Size > 0 && int64(len(at.Data)) != at.Size {
			return Answer{}, &Error{Path: "zip:" + msg.Name + " anlage " + strconv.Itoa(i+1), Reason: "the file's size differs from the filesize the anhang states"}
		}
	}
	return a, nil
}

// readEntry reads f whole, charging its size to budget.
func readEntry(f *zip.File, budget *int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &Error{Path: "zip:" + f.Name, Reason: "the entry cannot be read (unsupported compression or damaged)"}
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, *budget+1))
	if err != nil {
		return nil, &Error{Path: "zip:" + f.Name, Reason: "the entry cannot be read (damaged or checksum mismatch)"}
	}
	if int64(len(data)) > *budget {
		return nil, &Error{Path: "zip:" + f.Name, Reason: "the container unpacks to more than the size limit", Err: ErrTooLarge}
	}
	*budget -= int64(len(data))
	return data, nil
}

// inEntry prefixes the path of an *Error with the container entry it
// was found in.
func inEntry(name string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Path = "zip:" + name + c.Path
		return &c
	}
	return err
}

// checkEntryName returns why name is not a relative path of plain
// segments, or "".
func checkEntryName(name string) string {
	switch {
	case name == "":
		return "is empty"
	case strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || len(name) >= 2 && name[1] == ':':
		return "is absolute or has a backslash"
	case len(name) > 1024:
		return "is too long"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "has a control character"
		}
	}
	for _, seg := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "has an empty, . or .. segment"
		}
	}
	if path.Clean(name) != strings.TrimSuffix(name, "/") {
		return "is not clean"
	}
	return ""
}
