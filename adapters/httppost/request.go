package httppost

import (
	"archive/zip"
	"bytes"
	"context"
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

	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// SOAP envelope namespaces.
const (
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
)

// attachmentsDir is the directory of the attachments in a message's ZIP
// container (intake.AttachmentsDir).
const attachmentsDir = "anlagen"

// maxContainerBytes bounds the decompressed contents of a ZIP container.
const maxContainerBytes = 2 << 30

// request is one HTTP request of a delivery.
type request struct {
	what string // "message" or "attachment <id>", for errors
	body []byte // the body, unless open is set
	// open, when set, produces the body as a stream, afresh for every
	// attempt to send it, with its length, -1 where it is not known in
	// advance (sent chunked).
	open        func(ctx context.Context) (body io.ReadCloser, size int64, err error)
	contentType string
	header      http.Header // besides the common headers; replaces them
}

// requests builds the requests of a delivery. An error wrapping
// errMalformed means the payload cannot be sent, and retrying cannot help;
// other errors are classified already (a missing blob is permanent, a
// store that does not answer is not).
func (d *Deliverer) requests(ctx context.Context, dl outbox.Delivery) ([]request, error) {
	b, isBundle, err := dl.Bundle()
	if err != nil {
		return nil, err // permanent
	}
	xdomea := strings.HasPrefix(dl.Metadata[outbox.MetaMessageType], xdomeaTypePrefix)
	name, err := dl.BaseName()
	if err != nil {
		return nil, err // permanent
	}
	if isBundle {
		// A blob that is not stored fails before any request is sent.
		for _, e := range b.Entries {
			if _, _, err := dl.OpenEntry(ctx, e); err != nil {
				return nil, fmt.Errorf("entry %s: %w", e.Name, err)
			}
		}
		if xdomea {
			return []request{container(name, nil, func(ctx context.Context) (io.ReadCloser, int64, error) {
				return dl.Open(ctx), -1, nil
			})}, nil
		}
		doc, files, err := bundleFiles(dl, b)
		if err != nil {
			return nil, err
		}
		return d.withAttachments(dl.MessageID, doc, files, true)
	}
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
	case mediaType == contentTypeZIP && xdomea:
		return []request{container(name, dl.Payload, nil)}, nil
	case mediaType == contentTypeZIP:
		doc, files, err := openContainer(dl.MessageID, dl.Payload)
		if err != nil {
			return nil, err
		}
		return d.withAttachments(dl.MessageID, doc, files, false)
	}
	return nil, fmt.Errorf("%w: unsupported content type %q", errMalformed, mediaType)
}

// container is the request of an xdomea container, sent as it is: body, or
// streamed from open; name is its file name without ".zip"
// (Delivery.BaseName).
func container(name string, body []byte, open func(context.Context) (io.ReadCloser, int64, error)) request {
	h := http.Header{}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + ".zip"}))
	return request{what: "message", body: body, open: open, contentType: contentTypeZIP, header: h}
}

// withAttachments returns the requests of a message with files, in the
// configured attachment mode. With stream, a multipart body is produced
// while it is sent instead of in memory.
func (d *Deliverer) withAttachments(messageID string, doc []byte, files []file, stream bool) ([]request, error) {
	root, err := d.root(doc)
	if err != nil {
		return nil, err
	}
	if d.attachments == attachmentsSeparate {
		return separate(messageID, root, files), nil
	}
	r, err := multipartRequest(messageID, root, files, stream)
	if err != nil {
		return nil, err
	}
	return []request{r}, nil
}

// root is the request of the XML document alone: plain or in a SOAP envelope.
func (d *Deliverer) root(doc []byte) (request, error) {
	r := request{what: "message"}
	switch d.soap {
	case "":
		r.body, r.contentType = doc, contentTypeXML+"; charset=utf-8"
		return r, nil
	case "1.1":
		r.contentType = "text/xml; charset=utf-8"
		r.header = http.Header{}
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

// file is one attachment: of a ZIP payload (in memory) or of a bundle (a
// stored blob, streamed).
type file struct {
	id, name string
	mimeType string // of a bundle entry, "" where the file name decides
	// open returns the content and its size.
	open func(ctx context.Context) (io.Reader, int64, error)
}

// contentType is the media type of the file: the bundle entry's, or by
// the file name's extension.
func (f file) contentType() string {
	if f.mimeType != "" {
		return f.mimeType
	}
	return fileContentType(f.name)
}

// inMemory is a file whose content is held.
func inMemory(id, name string, content []byte) file {
	return file{id: id, name: name, open: func(context.Context) (io.Reader, int64, error) {
		return bytes.NewReader(content), int64(len(content)), nil
	}}
}

// bundleFiles finds in a bundle the document "<message id>.xml" (inline)
// and the files "anlagen/<attachment id>/<file name>", as openContainer does
// in a ZIP payload. Any other entry makes it malformed.
func bundleFiles(dl outbox.Delivery, b outbox.Bundle) ([]byte, []file, error) {
	var (
		doc   []byte
		files []file
	)
	for _, e := range b.Entries {
		id, name, isFile := parseAttachmentPath(e.Name)
		switch {
		case e.Name == dl.MessageID+".xml" && doc != nil:
			return nil, nil, fmt.Errorf("%w: bundle: %q twice", errMalformed, e.Name)
		case e.Name == dl.MessageID+".xml" && e.IsBlob():
			return nil, nil, fmt.Errorf("%w: bundle: %q is not inline", errMalformed, e.Name)
		case e.Name == dl.MessageID+".xml":
			doc = e.Data
		case !isFile:
			return nil, nil, fmt.Errorf("%w: bundle: unexpected entry %q", errMalformed, e.Name)
		case e.AttachmentID != "" && e.AttachmentID != id:
			return nil, nil, fmt.Errorf("%w: bundle: entry %q has attachment id %q", errMalformed, e.Name, e.AttachmentID)
		case e.MIMEType != "" && !validMediaType(e.MIMEType):
			return nil, nil, fmt.Errorf("%w: bundle: entry %q has media type %q", errMalformed, e.Name, e.MIMEType)
		default:
			files = append(files, file{id: id, name: name, mimeType: e.MIMEType,
				open: func(ctx context.Context) (io.Reader, int64, error) { return dl.OpenEntry(ctx, e) }})
		}
	}
	if doc == nil {
		return nil, nil, fmt.Errorf("%w: bundle without %s.xml", errMalformed, dl.MessageID)
	}
	return doc, files, nil
}

// validMediaType reports whether v is a media type fit for a header.
func validMediaType(v string) bool {
	_, _, err := mime.ParseMediaType(v)
	return err == nil && config.ValidHeaderValue(v)
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
			files = append(files, inMemory(id, name, b))
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
	if !ok || id == "" || name == "" || strings.Contains(name, "/") || !config.ValidHeaderValue(id) || !config.ValidHeaderValue(name) ||
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
// request per file, its body streamed with its length.
func separate(messageID string, root request, files []file) []request {
	if root.header == nil {
		root.header = http.Header{}
	}
	root.header.Set(HeaderAttachments, strconv.Itoa(len(files)))
	reqs := []request{root}
	for _, f := range files {
		h := http.Header{}
		h.Set(HeaderAttachmentID, f.id)
		h.Set(HeaderIdempotency, messageID+"/"+f.id)
		h.Set("Content-Disposition", disposition(f.name))
		reqs = append(reqs, request{what: "attachment " + f.id, contentType: f.contentType(), header: h,
			open: func(ctx context.Context) (io.ReadCloser, int64, error) {
				r, n, err := f.open(ctx)
				if err != nil {
					return nil, 0, err
				}
				return io.NopCloser(&holdLast{r: r}), n, nil
			}})
	}
	return reqs
}

// multipartRequest returns the one multipart/related request (RFC 2387)
// of attachment mode "multipart": root as its first part, then the files.
// With stream the body is written while it is sent (chunked), else in
// memory first.
func multipartRequest(messageID string, root request, files []file, stream bool) (request, error) {
	boundary := multipart.NewWriter(io.Discard).Boundary() // random, the same for every attempt
	rootType, _, _ := mime.ParseMediaType(root.contentType)
	ct := mime.FormatMediaType("multipart/related", map[string]string{
		"boundary": boundary, "type": rootType, "start": contentID(messageID),
	})
	if ct == "" {
		return request{}, fmt.Errorf("%w: root content type %q does not fit a multipart content type", errMalformed, root.contentType)
	}
	write := func(ctx context.Context, w io.Writer) error {
		return writeMultipart(ctx, w, boundary, messageID, root, files)
	}
	r := root
	r.contentType, r.body = ct, nil
	if stream {
		r.open = func(ctx context.Context) (io.ReadCloser, int64, error) {
			return pipeBody(func(w io.Writer) error { return write(ctx, w) }), -1, nil
		}
		return r, nil
	}
	var b bytes.Buffer
	if err := write(context.Background(), &b); err != nil {
		return request{}, err
	}
	r.body = b.Bytes()
	return r, nil
}

// writeMultipart writes the parts of a multipart/related body to w: root,
// then each file, its content streamed.
func writeMultipart(ctx context.Context, w io.Writer, boundary, messageID string, root request, files []file) error {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	part := func(h textproto.MIMEHeader, body io.Reader) error {
		h.Set("Content-Transfer-Encoding", "binary")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		_, err = io.Copy(pw, body)
		return err
	}
	if err := part(textproto.MIMEHeader{
		"Content-Type": {root.contentType},
		"Content-Id":   {contentID(messageID)},
	}, bytes.NewReader(root.body)); err != nil {
		return err
	}
	for _, f := range files {
		content, _, err := f.open(ctx)
		if err == nil {
			err = part(textproto.MIMEHeader{
				"Content-Type":        {f.contentType()},
				"Content-Id":          {contentID(f.id)},
				"Content-Disposition": {disposition(f.name)},
			}, content)
		}
		if err != nil {
			return fmt.Errorf("attachment %s: %w", f.id, err)
		}
	}
	return mw.Close()
}
