package httppost_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/adaptertest"
	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// part is a file as a receiver got it.
type part struct {
	adaptertest.Digest
	contentType string
}

// entries reads the body of one request as the receiver of a message with
// attachments does and returns what it holds by bundle entry name: the
// parts of a multipart/related body, or the one file of a request of
// attachment mode "separate", or the XML document.
func entries(messageID string, h http.Header, body io.Reader) (map[string]part, error) {
	out := make(map[string]part)
	add := func(name, contentType string, r io.Reader) error {
		if _, dup := out[name]; dup {
			return fmt.Errorf("%s twice", name)
		}
		d, err := adaptertest.DigestOf(r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name] = part{Digest: d, contentType: contentType}
		return nil
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("Content-Type %q: %w", h.Get("Content-Type"), err)
	}
	switch {
	case mt == "multipart/related":
		mr := multipart.NewReader(body, params["boundary"])
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("part %d: %w", i+1, err)
			}
			name := messageID + ".xml"
			if i > 0 {
				id := strings.TrimSuffix(strings.TrimPrefix(p.Header.Get("Content-Id"), "<"), "@amtsbote>")
				name = "anlagen/" + id + "/" + p.FileName()
			}
			if err := add(name, p.Header.Get("Content-Type"), p); err != nil {
				return nil, err
			}
		}
	case h.Get(httppost.HeaderAttachmentID) != "":
		_, cd, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		if err != nil {
			return nil, fmt.Errorf("Content-Disposition %q: %w", h.Get("Content-Disposition"), err)
		}
		return out, add("anlagen/"+h.Get(httppost.HeaderAttachmentID)+"/"+cd["filename"], h.Get("Content-Type"), body)
	default:
		return out, add(messageID+".xml", h.Get("Content-Type"), body)
	}
}

// unbundle is the suite's Harness.Unbundle: the files of every request of
// one message.
func unbundle(t *testing.T, got []adaptertest.Received) map[string]adaptertest.Digest {
	t.Helper()
	out := make(map[string]adaptertest.Digest)
	for _, r := range got {
		parts, err := entries(r.MessageID, r.Header, bytes.NewReader(r.Body))
		if err != nil {
			t.Errorf("message %s: %v", r.MessageID, err)
			continue
		}
		for name, p := range parts {
			if _, dup := out[name]; dup {
				t.Errorf("message %s: %s arrived twice", r.MessageID, name)
			}
			out[name] = p.Digest
		}
	}
	return out
}

// streamedRequest is a request as a streaming receiver got it: its body
// read as it came, never held.
type streamedRequest struct {
	header           http.Header
	contentLength    int64
	transferEncoding []string
	body             adaptertest.Digest
	parts            map[string]part // for a message with attachments
}

// streamingReceiver records what arrives without holding bodies: the
// digest of each body and, where it holds files, of each file. A request
// whose body cannot be read whole is answered 400 and not recorded.
type streamingReceiver struct {
	mu       sync.Mutex
	requests []streamedRequest
}

func (rc *streamingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var whole bytes.Buffer // small bodies only: the large ones are read by entries
	h := adaptertest.Digest{}
	pr, pw := io.Pipe()
	digest := make(chan error, 1)
	go func() {
		var err error
		h, err = adaptertest.DigestOf(pr)
		_ = pr.CloseWithError(err)
		digest <- err
	}()
	tee := io.TeeReader(r.Body, pw)
	var parts map[string]part
	var err error
	if r.Header.Get("Content-Type") == "application/zip" {
		_, err = io.Copy(&whole, tee)
	} else {
		parts, err = entries(r.Header.Get(httppost.HeaderMessageID), r.Header, tee)
		if err == nil {
			_, err = io.Copy(io.Discard, tee) // the end of a multipart body
		}
	}
	_ = pw.CloseWithError(err)
	if derr := <-digest; err == nil {
		err = derr
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if whole.Len() > 0 {
		if parts, err = zipParts(whole.Bytes()); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, streamedRequest{header: r.Header.Clone(), contentLength: r.ContentLength,
		transferEncoding: r.TransferEncoding, body: h, parts: parts})
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *streamingReceiver) got() []streamedRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]streamedRequest(nil), rc.requests...)
}

// zipParts returns the entries of a ZIP container.
func zipParts(b []byte) (map[string]part, error) {
	d, err := adaptertest.ZIPDigests(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	out := make(map[string]part, len(d))
	for name, digest := range d {
		out[name] = part{Digest: digest}
	}
	return out, nil
}

// digests returns the digests of the files of requests, failing on one
// that arrived twice.
func digests(t *testing.T, requests []streamedRequest) map[string]adaptertest.Digest {
	t.Helper()
	out := make(map[string]adaptertest.Digest)
	for _, r := range requests {
		for name, p := range r.parts {
			if _, dup := out[name]; dup {
				t.Errorf("%s arrived twice", name)
			}
			out[name] = p.Digest
		}
	}
	return out
}

// bundleFiles are the suite's files and one whose media type differs from
// what its extension says: the message's media type wins.
func bundleFiles() []adaptertest.File {
	return append(adaptertest.BundleFiles(),
		adaptertest.File{Name: "Scan.dat", MIMEType: "image/tiff", Size: 999, Seed: 4})
}

// wantContentType is the Content-Type of a file: its media type, or by extension.
func wantContentType(f adaptertest.File) string {
	if f.MIMEType != "" {
		return f.MIMEType
	}
	return map[string]string{".txt": "text/plain; charset=utf-8"}[filepath.Ext(f.Name)]
}

// In attachment mode "separate" every file of a bundle is a request of its
// own with a Content-Length, its body streamed from the store; a retry
// sends the same bytes.
func TestBundleSeparate(t *testing.T) {
	t.Parallel()
	rc := &streamingReceiver{}
	srv := serve(t, rc)
	d := newDeliverer(t, config.HTTP{URL: srv.URL, Attachments: "separate"})
	m := adaptertest.StageBundle(t, adaptertest.SQLiteSource(t), 1, bundleFiles()...)
	for attempt := 1; attempt <= 2; attempt++ {
		m.Delivery.Attempt = attempt
		if err := d.Deliver(t.Context(), m.Delivery); err != nil {
			t.Fatalf("attempt %d: Deliver: %v", attempt, err)
		}
		got := rc.got()[(attempt-1)*(1+len(m.Files)):]
		if len(got) != 1+len(m.Files) {
			t.Fatalf("attempt %d: received %d requests, want %d", attempt, len(got), 1+len(m.Files))
		}
		if n := got[0].header.Get(httppost.HeaderAttachments); n != fmt.Sprint(len(m.Files)) {
			t.Errorf("%s = %q, want %d", httppost.HeaderAttachments, n, len(m.Files))
		}
		for i, f := range m.Files {
			r := got[1+i]
			if r.contentLength != f.Size || len(r.transferEncoding) != 0 {
				t.Errorf("attachment %s: Content-Length %d, Transfer-Encoding %v; want Content-Length %d",
					f.Name, r.contentLength, r.transferEncoding, f.Size)
			}
			if ct := r.header.Get("Content-Type"); ct != wantContentType(f) {
				t.Errorf("attachment %s: Content-Type %q, want %q", f.Name, ct, wantContentType(f))
			}
			if key := r.header.Get(httppost.HeaderIdempotency); key != m.Delivery.MessageID+"/"+f.AttachmentID {
				t.Errorf("attachment %s: Idempotency-Key %q", f.Name, key)
			}
		}
		m.Check(t, digests(t, got))
	}
}

// In attachment mode "multipart" a bundle is one multipart/related request,
// written while it is sent (chunked), that the receiver parses part by part.
func TestBundleMultipart(t *testing.T) {
	t.Parallel()
	rc := &streamingReceiver{}
	srv := serve(t, rc)
	d := newDeliverer(t, config.HTTP{URL: srv.URL})
	m := adaptertest.StageBundle(t, adaptertest.SQLiteSource(t), 1, bundleFiles()...)
	if err := d.Deliver(t.Context(), m.Delivery); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	got := rc.got()
	if len(got) != 1 {
		t.Fatalf("received %d requests, want 1", len(got))
	}
	r := got[0]
	if r.contentLength != -1 || len(r.transferEncoding) != 1 || r.transferEncoding[0] != "chunked" {
		t.Errorf("Content-Length %d, Transfer-Encoding %v; want chunked", r.contentLength, r.transferEncoding)
	}
	mt, params, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if mt != "multipart/related" || params["type"] != "application/xml" || params["start"] != "<"+m.Delivery.MessageID+"@amtsbote>" {
		t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}
	if ct := r.parts[m.DocName()].contentType; ct != "application/xml; charset=utf-8" {
		t.Errorf("root part Content-Type %q", ct)
	}
	for _, f := range m.Files {
		if ct := r.parts[f.EntryName()].contentType; ct != wantContentType(f) {
			t.Errorf("part %s: Content-Type %q, want %q", f.Name, ct, wantContentType(f))
		}
	}
	m.Check(t, digests(t, got))
}

// An xdomea bundle is sent as its whole ZIP container, assembled while it
// is sent.
func TestBundleXdomea(t *testing.T) {
	t.Parallel()
	for _, soap := range []string{"", "1.2"} {
		t.Run("soap "+soap, func(t *testing.T) {
			t.Parallel()
			rc := &streamingReceiver{}
			srv := serve(t, rc)
			d := newDeliverer(t, config.HTTP{URL: srv.URL, SOAP: soap, Attachments: "separate"})
			m := adaptertest.StageBundle(t, adaptertest.NewMemBlobs(), 1, adaptertest.BundleFiles()...)
			m.Delivery.Metadata[outbox.MetaMessageType] = "xdomea.0401"
			if err := d.Deliver(t.Context(), m.Delivery); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			got := rc.got()
			if len(got) != 1 {
				t.Fatalf("received %d requests, want the container once", len(got))
			}
			r := got[0]
			if ct := r.header.Get("Content-Type"); ct != "application/zip" || len(r.transferEncoding) != 1 {
				t.Errorf("Content-Type %q, Transfer-Encoding %v; want application/zip, chunked", ct, r.transferEncoding)
			}
			if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, m.Delivery.MessageID+".zip") {
				t.Errorf("Content-Disposition = %q, want the file name %s.zip", cd, m.Delivery.MessageID)
			}
			m.Check(t, digests(t, got))
		})
	}
}

// getBodyTransport checks that every request can produce its body again
// (GetBody), as the transport needs to resend it on a new connection: it
// reads that second body before sending the request.
type getBodyTransport struct {
	t  *testing.T
	mu sync.Mutex
	// again holds the digest of the second body of each request, by Idempotency-Key.
	again map[string]adaptertest.Digest
}

func (g *getBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.GetBody == nil {
		g.t.Errorf("request %s has no GetBody", r.Header.Get(httppost.HeaderIdempotency))
	} else {
		body, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		d, err := adaptertest.DigestOf(body)
		_ = body.Close()
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		g.again[r.Header.Get(httppost.HeaderIdempotency)] = d
		g.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestBundleGetBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, mode, messageType string }{
		{name: "multipart", mode: "multipart", messageType: "xbau.baugenehmigung.antrag.0200"},
		{name: "separate", mode: "separate", messageType: "xbau.baugenehmigung.antrag.0200"},
		{name: "xdomea", mode: "multipart", messageType: "xdomea.0401"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := &streamingReceiver{}
			srv := serve(t, rc)
			tr := &getBodyTransport{t: t, again: make(map[string]adaptertest.Digest)}
			d, err := httppost.New(httppost.Config{
				Settings: config.HTTP{URL: srv.URL, Attachments: tt.mode},
				Tenant:   "musterstadt", Procedure: "bau.baugenehmigung", Destination: "bauamt",
				Transport: tr,
			})
			if err != nil {
				t.Fatal(err)
			}
			m := adaptertest.StageBundle(t, adaptertest.NewMemBlobs(), 1, adaptertest.BundleFiles()...)
			m.Delivery.Metadata[outbox.MetaMessageType] = tt.messageType
			if err := d.Deliver(t.Context(), m.Delivery); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			got := rc.got()
			if len(got) == 0 {
				t.Fatal("nothing arrived")
			}
			for _, r := range got {
				key := r.header.Get(httppost.HeaderIdempotency)
				if again, ok := tr.again[key]; !ok || again != r.body {
					t.Errorf("request %s: body %v, produced again as %v (%v)", key, r.body, again, ok)
				}
			}
		})
	}
}

// A bundle whose blob is missing fails permanently before anything is
// sent; one whose blob is corrupt fails permanently, and the file never
// arrives whole.
func TestBundleBrokenBlob(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"multipart", "separate"} {
		for _, corrupt := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s corrupt=%v", mode, corrupt), func(t *testing.T) {
				t.Parallel()
				rc := &streamingReceiver{}
				srv := serve(t, rc)
				d := newDeliverer(t, config.HTTP{URL: srv.URL, Attachments: mode})
				blobs := adaptertest.NewMemBlobs()
				files := adaptertest.BundleFiles()
				files[0].Unstored = !corrupt
				m := adaptertest.StageBundle(t, blobs, 1, files...)
				want := outbox.ErrNotFound
				if corrupt {
					blobs.Corrupt(t, m.Files[0].Blob)
					want = outbox.ErrBlobCorrupt
				}
				err := d.Deliver(t.Context(), m.Delivery)
				if !errors.Is(err, outbox.ErrPermanent) || !errors.Is(err, want) {
					t.Fatalf("Deliver = %v, want a permanent error wrapping %v", err, want)
				}
				got := rc.got()
				if !corrupt && len(got) != 0 {
					t.Errorf("received %d requests, want none", len(got))
				}
				if d, ok := digests(t, got)[m.Files[0].EntryName()]; ok {
					t.Errorf("the broken file arrived (%v)", d)
				}
			})
		}
	}
}
