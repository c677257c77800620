package httppost

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/amtsbote/amtsbote/outbox"
)

// SOAP envelope namespaces.
const (
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
)

// attachmentsDir is the directory of the attachments in a message's ZIP
// container (portalapi.AttachmentsDir).
const attachmentsDir = "anlagen"

// maxContainerBytes bounds the decompressed contents of a ZIP container.
const maxContainerBytes = 2 << 30

// request is one HTTP request of a delivery.
type request struct {
	what        string // "message" or "attachment <id>", for errors
	body        []byte
	contentType string
	header      http.Header // besides the common headers; replaces them
}

// requests builds the requests of a delivery. An error means the payload
// cannot be sent; retrying cannot help.
func (d *Deliverer) requests(dl outbox.Delivery) ([]request, error) {
	ct := dl.Metadata[outbox.MetaContentType]
	if ct == "" {
		ct = contentTypeXML
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("%w: content type %q", errMalformed, ct)
	}
	switch {
	case mediaType == contentTypeXML:
		root, err := d.root(dl.Payload)
		if err != nil {
			return nil, err
		}
		return []request{root}, nil
	case mediaType == contentTypeZIP && strings.HasPrefix(dl.Metadata[metaMessageType], xdomeaTypePrefix):
		h := http.Header{}
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": dl.MessageID + ".zip"}))
		return []request{{what: "message", body: dl.Payload, contentType: contentTypeZIP, header: h}}, nil
	case mediaType == contentTypeZIP:
		doc, files, err := openContainer(dl.MessageID, dl.Payload)
		if err != nil {
			return nil, err
		}
		root, err := d.root(doc)
		if err != nil {
			return nil, err
		}
		if d.attachments == attachmentsSeparate {
			return separate(dl.MessageID, root, files), nil
		}
		return d.multipart(dl.MessageID, root, files)
	}
	return nil, fmt.Errorf("%w: unsupported content type %q", errMalformed, mediaType)
}

// root is the request of the XML document alone: plain or in a SOAP envelope.
func (d *Deliverer) root(doc []byte) (request, error) {
	r := request{what: "message", header: http.Header{}}
	switch d.soap {
	case "":
		r.body, r.contentType = doc, contentTypeXML+"; charset=utf-8"
		return r, nil
	case "1.1":
		r.contentType = "text/xml; charset=utf-8"
		r.header.Set(HeaderSOAPAction, `"`+d.action+`"`)
	case "1.2":
		r.contentType = "application/soap+xml; charset=utf-8"
		if d.action != "" {
			r.contentType += `; action="` + d.action + `"`
		}
	}
	body, err := envelope(d.soap, doc)
	if err != nil {
		return request{}, err
	}
	r.body = body
	return r, nil
}

// declEncoding finds the encoding pseudo-attribute of an XML declaration.
var declEncoding = regexp.MustCompile(`\sencoding\s*=\s*["']([^"']*)["']`)

// envelope wraps doc, a UTF-8 XML document, in a SOAP envelope of the
// version as the only child of its Body. The document's byte order mark
// and XML declaration are dropped: a declaration may only start a document.
func envelope(version string, doc []byte) ([]byte, error) {
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))
	if rest, ok := bytes.CutPrefix(doc, []byte("<?xml")); ok && len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' ||
		rest[0] == '\r' || rest[0] == '\n') {
		decl, after, ok := bytes.Cut(rest, []byte("?>"))
		if !ok {
			return nil, fmt.Errorf("%w: unterminated XML declaration", errMalformed)
		}
		if m := declEncoding.FindSubmatch(decl); m != nil && !strings.EqualFold(string(m[1]), "utf-8") {
			return nil, fmt.Errorf("%w: document encoding %q, want UTF-8", errMalformed, m[1])
		}
		doc = bytes.TrimLeft(after, " \t\r\n")
	}
	ns := NamespaceSOAP11
	if version == "1.2" {
		ns = NamespaceSOAP12
	}
	var b bytes.Buffer
	b.Grow(len(doc) + 200)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soap:Envelope xmlns:soap="` + ns + `"><soap:Body>`)
	b.Write(bytes.TrimRight(doc, " \t\r\n"))
	b.WriteString("</soap:Body></soap:Envelope>\n")
	return b.Bytes(), nil
}

// file is one attachment of a message's ZIP container.
type file struct {
	id, name string
	content  []byte
}

// openContainer reads a message's ZIP container: the document
// "<message id>.xml" and the files "anlagen/<attachment id>/<file name>".
// Any other entry makes it malformed.
func openContainer(messageID string, payload []byte) ([]byte, []file, error) {
	zr, err := zip.NewReader(bytes.NewReader(payload), int64(len(payload)))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: zip container: %w", errMalformed, err)
	}
	var (
		doc    []byte
		files  []file
		budget int64 = maxContainerBytes
	)
	read := func(f *zip.File) ([]byte, error) {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, budget+1))
		if err != nil {
			return nil, err
		}
		if budget -= int64(len(b)); budget < 0 {
			return nil, fmt.Errorf("more than %d bytes decompressed", int64(maxContainerBytes))
		}
		return b, nil
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory entry
		}
		id, name, isFile := parseAttachmentPath(f.Name)
		if f.Name != messageID+".xml" && !isFile {
			return nil, nil, fmt.Errorf("%w: zip container: unexpected entry %q", errMalformed, f.Name)
		}
		b, err := read(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: zip container: entry %q: %w", errMalformed, f.Name, err)
		}
		switch {
		case !isFile && doc != nil:
			return nil, nil, fmt.Errorf("%w: zip container: %q twice", errMalformed, f.Name)
		case !isFile:
			doc = b
		default:
			files = append(files, file{id: id, name: name, content: b})
		}
	}
	if doc == nil {
		return nil, nil, fmt.Errorf("%w: zip container without %s.xml", errMalformed, messageID)
	}
	return doc, files, nil
}

// parseAttachmentPath splits "anlagen/<id>/<name>".
func parseAttachmentPath(p string) (id, name string, ok bool) {
	rest, ok := strings.CutPrefix(p, attachmentsDir+"/")
	if !ok {
		return "", "", false
	}
	id, name, ok = strings.Cut(rest, "/")
	if !ok || id == "" || name == "" || strings.Contains(name, "/") || !validHeaderValue(id) || !validHeaderValue(name) ||
		strings.ContainsAny(id, " <>\"") {
		return "", "", false
	}
	return id, name, true
}

// contentTypes maps lower-case file extensions to media types. A fixed table,
// not mime.TypeByExtension: that reads the host's mime.types, and receivers
// should see the same types from every host.
var contentTypes = map[string]string{
	".pdf":  "application/pdf",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".gif":  "image/gif",
	".xml":  "application/xml",
	".txt":  "text/plain; charset=utf-8",
	".zip":  "application/zip",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
}

// fileContentType is the media type of a file name by its extension,
// application/octet-stream for unknown ones.
func fileContentType(name string) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return ct
	}
	return "application/octet-stream"
}

// disposition is the Content-Disposition of a file, the name RFC 2231
// encoded where it is not plain ASCII.
func disposition(name string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

// contentID is the Content-ID of a part: the message's or attachment's id.
func contentID(id string) string { return "<" + id + "@amtsbote>" }

// separate returns the requests of attachment mode "separate": root, then a
// request per file.
func separate(messageID string, root request, files []file) []request {
	root.header.Set(HeaderAttachments, strconv.Itoa(len(files)))
	reqs := []request{root}
	for _, f := range files {
		h := http.Header{}
		h.Set(HeaderAttachmentID, f.id)
		h.Set(HeaderIdempotency, messageID+"/"+f.id)
		h.Set("Content-Disposition", disposition(f.name))
		reqs = append(reqs, request{what: "attachment " + f.id, body: f.content, contentType: fileContentType(f.name), header: h})
	}
	return reqs
}

// multipart returns the one multipart/related request (RFC 2387) of
// attachment mode "multipart": root as its first part, then the files.
func (d *Deliverer) multipart(messageID string, root request, files []file) ([]request, error) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part := func(h textproto.MIMEHeader, body []byte) error {
		h.Set("Content-Transfer-Encoding", "binary")
		pw, err := w.CreatePart(h)
		if err != nil {
			return err
		}
		_, err = pw.Write(body)
		return err
	}
	rootType, _, _ := mime.ParseMediaType(root.contentType)
	if err := part(textproto.MIMEHeader{
		"Content-Type": {root.contentType},
		"Content-Id":   {contentID(messageID)},
	}, root.body); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := part(textproto.MIMEHeader{
			"Content-Type":        {fileContentType(f.name)},
			"Content-Id":          {contentID(f.id)},
			"Content-Disposition": {disposition(f.name)},
		}, f.content); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	ct := mime.FormatMediaType("multipart/related", map[string]string{
		"boundary": w.Boundary(), "type": rootType, "start": contentID(messageID),
	})
	if ct == "" {
		return nil, errors.New("format multipart content type")
	}
	root.body, root.contentType = b.Bytes(), ct
	return []request{root}, nil
}
