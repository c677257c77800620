package httppost_test

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/httppost"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/internal/testpki"
	"github.com/amtsbote/amtsbote/outbox"
)

const (
	messageID    = "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6"
	submissionID = "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b"
)

var payload = []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
	"<xmeld:wohnungsgeberbestaetigung.0001 xmlns:xmeld=\"http://www.osci.de/xmeld\" produkt=\"Amtsbote\">" +
	"<name>Müller-Lüdenscheidt</name></xmeld:wohnungsgeberbestaetigung.0001>\n")

func delivery(id string, payload []byte) outbox.Delivery {
	return outbox.Delivery{
		MessageID:    id,
		SubmissionID: submissionID,
		Topic:        "musterstadt/meldewesen.wohnungsgeberbestaetigung/fachverfahren",
		Attempt:      1,
		Payload:      payload,
		Metadata: map[string]string{
			outbox.MetaSubmissionID: submissionID,
			outbox.MetaContentType:  "application/xml",
		},
	}
}

func newDeliverer(t *testing.T, s config.HTTP) *httppost.Deliverer {
	t.Helper()
	d, err := httppost.New(httppost.Config{
		Settings: s, Tenant: "musterstadt", Procedure: "meldewesen.wohnungsgeberbestaetigung", Destination: "fachverfahren",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(d.CloseIdleConnections)
	return d
}

// request is a request as the receiver got it.
type request struct {
	Method, Path     string
	Header           http.Header
	Body             []byte
	ContentLength    int64    // -1: not given
	TransferEncoding []string // ["chunked"] for a chunked body
}

// receiver records requests and answers them with status 204 unless told otherwise.
type receiver struct {
	mu       sync.Mutex
	requests []request
	answer   func(w http.ResponseWriter, r *http.Request) bool // optional; false means "do not record"
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if rc.answer != nil && !rc.answer(w, r) {
		return
	}
	rc.mu.Lock()
	rc.requests = append(rc.requests, request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body,
		ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding})
	rc.mu.Unlock()
	if rc.answer == nil {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (rc *receiver) got() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.requests...)
}

// serve starts a plain HTTP server for h, closed at the end of the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// holdUntilDone returns a handler that never answers until the client gives
// up or the test ends, and registers its release before the server's close.
func holdUntilDone(t *testing.T) (http.HandlerFunc, func()) {
	release := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(release) }) }
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, stop
}

// quietLog discards the server's log (TLS handshake errors of the tests that expect them).
var quietLog = log.New(io.Discard, "", 0)

// pki is a test CA with a server certificate for 127.0.0.1, ::1 and
// localhost and a client certificate, as PEM files.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	pool                                                 *x509.CertPool
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	dir := t.TempDir()
	ca := testpki.NewCA(t, name+" Test-CA")
	p := &pki{caFile: ca.WriteFile(t, dir, "ca.pem"), pool: ca.Pool()}
	p.serverCert, p.serverKey = ca.Server(t, "server", "127.0.0.1", "::1", "localhost").WriteFiles(t, dir, "server")
	p.clientCert, p.clientKey = ca.Client(t, "amtsbote").WriteFiles(t, dir, "amtsbote")
	return p
}

// attachmentZIP builds a message's ZIP container as the portal API does.
func attachmentZIP(t *testing.T, id string, doc []byte, files []testFile) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	add := func(name string, content []byte) {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	add(id+".xml", doc)
	for _, f := range files {
		add("anlagen/"+f.id+"/"+f.name, f.content)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type testFile struct {
	id, name, contentType string
	content               []byte
}

var testFiles = []testFile{
	{id: "0b6f1c2e-7a4d-4f3b-8e21-5c9d0a1b2c3d", name: "Lageplan.pdf", contentType: "application/pdf",
		content: append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0, 0xff, '\r', '\n', 'x'}, 5000)...)},
	{id: "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", name: "Grundriss Erdgeschoß.dwg", contentType: "application/octet-stream",
		content: []byte("AC1032 binary \x00\x01\x02")},
	{id: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", name: "Foto.JPG", contentType: "image/jpeg",
		content: []byte("\xff\xd8\xff\xe0 jpeg")},
}
