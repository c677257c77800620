package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox"
)

// Upload mode: one large attachment per submission, sent as a multipart part
// (streamed) or base64 in a JSON body, delivered to file drops.
const (
	// uploadProcedure has no XÖV mapper, so submissions travel in the
	// generic Amtsbote envelope, as in cmd/amtsbote's upload test.
	uploadProcedure = "bench.upload"
	uploadFilename  = "Bauzeichnung.pdf"
	uploadTenant    = "musterstadt"
	// pdfHeader starts every generated file: the PDF signature the gateway checks.
	pdfHeader = "%PDF-1.7\n"
	// copyBuffer is the buffer of every copy from the generator (io.Copy's
	// default), so the upload and the disk baseline move the same pieces.
	copyBuffer = 32 << 10
)

// sizeUnits are the suffixes parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	factor int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads a size such as "64MiB", "512KiB", "1GiB" or "1048576"
// (bytes). It must be at least the PDF signature and at most the largest
// attachment the gateway accepts.
func parseSize(s string) (int64, error) {
	num, factor := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(rest), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: want a whole number with an optional KiB, MiB or GiB suffix", s)
	}
	if n <= 0 || n > config.MaxAttachmentBytes/factor {
		return 0, fmt.Errorf("size %q: must be positive and at most 4GiB", s)
	}
	n *= factor
	if n < int64(len("%PDF-")) {
		return 0, fmt.Errorf("size %q: at least 5 bytes, the PDF signature", s)
	}
	return n, nil
}

// formatSize writes n with the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n%u.factor == 0 {
			return fmt.Sprintf("%d%s", n/u.factor, u.suffix)
		}
	}
	return fmt.Sprint(n) + "B"
}

// pdfContent is the generated file: the PDF header, then incompressible
// bytes (ChaCha8 keyed by seed), size bytes in all. The same seed gives the
// same bytes, so the harness can check a delivered file without keeping it.
func pdfContent(seed uint64, size int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	head := pdfHeader[:min(int64(len(pdfHeader)), size)]
	return io.MultiReader(strings.NewReader(head), io.LimitReader(rand.NewChaCha8(key), size-int64(len(head))))
}

// pdfSum is the SHA-256 of pdfContent(seed, size).
func pdfSum(seed uint64, size int64) ([sha256.Size]byte, error) {
	h := sha256.New()
	var sum [sha256.Size]byte
	if _, err := io.CopyBuffer(h, pdfContent(seed, size), make([]byte, copyBuffer)); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// uploadConfig is the generated configuration of the upload mode: one
// procedure that allows attachments of the measured size, routed to an XÖV
// file drop and, with XDomea, an xdomea file drop (as cmd/amtsbote's upload
// test).
type uploadConfig struct {
	Dir          string // SQLite database and the drops
	DatabaseURL  string // PostgreSQL; empty selects SQLite
	KeyHash      string
	MaxBytes     int64 // attachments.max_bytes
	MaxBodyBytes int64 // server.max_body_bytes; 0 keeps the default
	XDomea       bool
	Concurrency  int
	Procedure    string
	Tenant       string
}

var uploadTemplate = template.Must(template.New("upload").Parse(`server:
  shutdown_timeout: 30s
  drain_delay: 0s
{{- if .MaxBodyBytes}}
  max_body_bytes: {{.MaxBodyBytes}}
{{- end}}
database:
{{- if .DatabaseURL}}
  url: "{{.DatabaseURL}}"
{{- else}}
  path: {{.Dir}}/amtsbote.db
{{- end}}
relay:
  lease: 10m
  poll_interval: 1s
  concurrency: {{.Concurrency}}
procedures:
  - id: {{.Procedure}}
    name: Upload
    attachments:
      max_bytes: {{.MaxBytes}}
tenants:
  - id: {{.Tenant}}
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: {{.Procedure}}
        destinations:
          - id: fachverfahren
            type: filedrop
            filedrop:
              dir: {{.Dir}}/drop
{{- if .XDomea}}
          - id: eakte
            type: filedrop
            format: xdomea
            xdomea:
              creator: amtsbote
            filedrop:
              dir: {{.Dir}}/eakte
{{- end}}
portals:
  - id: bench-portal
    key_hash: {{.KeyHash}}
    tenants: [{{.Tenant}}]
    procedures: [{{.Procedure}}]
`))

// jsonBodyLimit is server.max_body_bytes for a JSON body carrying size bytes
// in base64: four thirds of the size plus 1 MiB for the rest.
func jsonBodyLimit(size int64) int64 { return (size+2)/3*4 + 1<<20 }

// newUploadSetup starts a gateway for the upload mode in dir: like newSetup,
// with file drops instead of the receiver.
func newUploadSetup(ctx context.Context, o options, store, dir string) (*setup, error) {
	s := &setup{}
	var cleanups []func()
	s.cleanup = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	fail := func(err error) (*setup, error) {
		s.cleanup()
		return nil, err
	}
	cfg := uploadConfig{Dir: dir, KeyHash: config.HashKey(portalKey), MaxBytes: o.uploadSize,
		XDomea: o.uploadDests == 2, Concurrency: o.deliveryConcurrency, Procedure: uploadProcedure, Tenant: uploadTenant}
	if o.uploadFormat == "json" {
		cfg.MaxBodyBytes = jsonBodyLimit(o.uploadSize)
	}
	if store == "postgres" {
		db, err := newDatabase(ctx, o.pg)
		if err != nil {
			return fail(err)
		}
		cleanups = append(cleanups, db.drop)
		s.dbURL = db.url
		cfg.DatabaseURL = withPoolSize(db.url, o.pgMaxConns)
	}
	var b strings.Builder
	if err := uploadTemplate.Execute(&b, cfg); err != nil {
		return fail(err)
	}
	path := filepath.Join(dir, "amtsbote.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fail(err)
	}
	gw, err := launch(ctx, o, path, dir)
	if err != nil {
		return fail(err)
	}
	cleanups = append(cleanups, func() { _ = gw.close() })
	s.gw = gw
	return s, nil
}

// uploader posts submissions with one generated attachment each and follows
// them through the status API.
type uploader struct {
	client     *http.Client
	base       string // http://host:port
	key        string
	submission map[string]any // the submission JSON without attachments
	size       int64
}

// uploaded is one accepted submission as the client saw it.
type uploaded struct {
	id           string
	attachmentID string
	seed         uint64
	bodyBytes    int64     // request body on the wire (JSON only; multipart is chunked)
	firstByte    time.Time // the transport's first read of the body
	answered     time.Time // the 202 (response headers) received
}

// firstReadReader notes when its reader is first read: when the transport
// starts sending the body.
type firstReadReader struct {
	r    io.Reader
	once sync.Once
	at   time.Time
}

func (f *firstReadReader) Read(p []byte) (int, error) {
	f.first()
	return f.r.Read(p)
}

// first is the time of the first read (now, if there was none yet); safe to
// call while the transport may still be reading.
func (f *firstReadReader) first() time.Time {
	f.once.Do(func() { f.at = time.Now() })
	return f.at
}

// withAttachment returns the submission JSON with one attachment described;
// content is its base64 text, or empty for a multipart part.
func (u *uploader) withAttachment(attachmentID, content string) ([]byte, error) {
	att := map[string]any{"id": attachmentID, "filename": uploadFilename, "mime_type": "application/pdf"}
	if content != "" {
		att["content"] = content
	}
	sub := maps.Clone(u.submission)
	sub["procedure"] = uploadProcedure
	sub["tenant"] = uploadTenant
	sub["attachments"] = []any{att}
	return json.Marshal(sub)
}

// postMultipart sends the submission with the attachment as a part,
// generated while it is sent: the harness never holds the body.
func (u *uploader) postMultipart(ctx context.Context, up uploaded) (uploaded, error) {
	subJSON, err := u.withAttachment(up.attachmentID, "")
	if err != nil {
		return up, err
	}
	pr, pw := io.Pipe()
	mw := portalapi.NewMultipartWriter(pw)
	go func() {
		err := mw.WriteSubmission(subJSON)
		if err == nil {
			_, err = mw.WriteAttachment(up.attachmentID, uploadFilename, pdfContent(up.seed, u.size))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	body := &firstReadReader{r: pr}
	err = u.post(ctx, body, -1, mw.ContentType(), &up)
	pr.CloseWithError(errors.New("request finished")) // ends the generator if the gateway stopped reading
	up.firstByte = body.first()
	return up, err
}

// jsonBody builds the JSON body with the attachment in base64: inherently
// in memory, before the clock starts.
func (u *uploader) jsonBody(seed uint64, attachmentID string) ([]byte, error) {
	const marker = "\x00content\x00"
	tmpl, err := u.withAttachment(attachmentID, marker)
	if err != nil {
		return nil, err
	}
	quoted, err := json.Marshal(marker)
	if err != nil {
		return nil, err
	}
	at := bytes.Index(tmpl, quoted)
	if at < 0 {
		return nil, errors.New("json body: attachment content not found in the template")
	}
	raw := make([]byte, u.size)
	if _, err := io.ReadFull(pdfContent(seed, u.size), raw); err != nil {
		return nil, err
	}
	enc := base64.StdEncoding
	body := make([]byte, 0, len(tmpl)-len(quoted)+enc.EncodedLen(len(raw))+2)
	body = append(body, tmpl[:at]...)
	body = append(body, '"')
	body = enc.AppendEncode(body, raw)
	body = append(body, '"')
	return append(body, tmpl[at+len(quoted):]...), nil
}

// postJSON sends a JSON body made by jsonBody for up.
func (u *uploader) postJSON(ctx context.Context, up uploaded, raw []byte) (uploaded, error) {
	up.bodyBytes = int64(len(raw))
	body := &firstReadReader{r: bytes.NewReader(raw)}
	err := u.post(ctx, body, int64(len(raw)), "application/json", &up)
	up.firstByte = body.first()
	return up, err
}

// post sends one body (length -1: unknown, chunked) and expects a 202.
func (u *uploader) post(ctx context.Context, body io.Reader, length int64, contentType string, up *uploaded) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.base+"/v1/submissions", body)
	if err != nil {
		return err
	}
	req.ContentLength = length
	req.Header.Set("Authorization", "Bearer "+u.key)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Idempotency-Key", "upload-"+up.attachmentID)
	resp, err := u.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /v1/submissions: %w", err)
	}
	up.answered = time.Now()
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("POST /v1/submissions: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST /v1/submissions: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	var a struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &a); err != nil || a.ID == "" {
		return fmt.Errorf("POST /v1/submissions: 202 without a submission id: %q", raw)
	}
	up.id = a.ID
	return nil
}

// submissionStatus is the part of GET /v1/submissions/{id} the harness reads.
type submissionStatus struct {
	Status       string `json:"status"`
	Destinations []struct {
		Destination string    `json:"destination"`
		MessageID   string    `json:"message_id"`
		State       string    `json:"state"`
		LastError   string    `json:"last_error"`
		DeliveredAt time.Time `json:"delivered_at"`
	} `json:"destinations"`
}

// waitDelivered polls the status API until the submission is delivered to
// every destination, fails, or the timeout passes.
func (u *uploader) waitDelivered(ctx context.Context, id string, timeout time.Duration) (submissionStatus, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := u.status(ctx, id)
		if err != nil {
			return st, err
		}
		switch st.Status {
		case "delivered":
			return st, nil
		case "failed":
			return st, fmt.Errorf("submission %s failed: %+v", id, st.Destinations)
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("submission %s not delivered within %v: %+v", id, timeout, st.Destinations)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (u *uploader) status(ctx context.Context, id string) (submissionStatus, error) {
	var st submissionStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+"/v1/submissions/"+id, nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+u.key)
	resp, err := u.client.Do(req)
	if err != nil {
		return st, fmt.Errorf("GET status: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return st, fmt.Errorf("GET status: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET status: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("GET status: %w", err)
	}
	return st, nil
}

// lastDelivery is the latest delivered_at over the destinations.
func (st submissionStatus) lastDelivery() time.Time {
	var last time.Time
	for _, d := range st.Destinations {
		if d.DeliveredAt.After(last) {
			last = d.DeliveredAt
		}
	}
	return last
}

// verifyDelivered checks that every destination's ZIP container holds the
// attachment as generated (size and SHA-256), then removes the containers
// so that runs of large files do not fill the disk.
func verifyDelivered(dir string, st submissionStatus, up uploaded, size int64, want int) error {
	if len(st.Destinations) != want {
		return fmt.Errorf("submission %s: %d destinations, want %d", up.id, len(st.Destinations), want)
	}
	sum, err := pdfSum(up.seed, size)
	if err != nil {
		return err
	}
	for _, d := range st.Destinations {
		var drop, entry string
		name := d.MessageID + ".zip"
		switch d.Destination {
		case "fachverfahren":
			drop, entry = "drop", "anlagen/"+up.attachmentID+"/"+uploadFilename
		case "eakte":
			// xdomea names the container like the message inside it.
			drop, entry = "eakte", up.attachmentID+"_"+uploadFilename
			name = d.MessageID + "_FVDaten.SGOAblegen.0605.zip"
		default:
			return fmt.Errorf("submission %s: unexpected destination %q", up.id, d.Destination)
		}
		path := filepath.Join(dir, drop, uploadTenant, uploadProcedure, name)
		if err := checkZipEntry(path, entry, size, sum); err != nil {
			return fmt.Errorf("submission %s, destination %s: %w", up.id, d.Destination, err)
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	return nil
}

func checkZipEntry(path, entry string, size int64, sum [sha256.Size]byte) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != entry {
			continue
		}
		if f.UncompressedSize64 != uint64(size) {
			return fmt.Errorf("%s in %s: %d bytes, want %d", entry, path, f.UncompressedSize64, size)
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			return fmt.Errorf("%s in %s: %w", entry, path, err)
		}
		if got := h.Sum(nil); !bytes.Equal(got, sum[:]) {
			return fmt.Errorf("%s in %s: SHA-256 %x, want %x as sent", entry, path, got, sum)
		}
		return nil
	}
	return fmt.Errorf("%s has no entry %s", path, entry)
}

// diskBaseline writes n files of size bytes from the generator into dir,
// each followed by fsync, and returns MiB/s over all of them: what the
// machine's disk takes of the same bytes. chunked does the same with an
// fsync after every outbox.BlobChunkSize bytes, as a store that commits each
// chunk on its own must at least wait; gen is the generator alone (to
// io.Discard). All in MiB/s.
func diskBaseline(dir string, size int64, n int) (disk, chunked, gen float64, err error) {
	buf := make([]byte, copyBuffer)
	write := func(syncEvery int64) (float64, error) {
		var elapsed time.Duration
		for i := range n {
			path := filepath.Join(dir, fmt.Sprintf("baseline-%d.pdf", i))
			start := time.Now()
			if err := writeSynced(path, pdfContent(uint64(1000+i), size), buf, syncEvery); err != nil {
				return 0, fmt.Errorf("disk baseline: %w", err)
			}
			elapsed += time.Since(start)
			if err := os.Remove(path); err != nil {
				return 0, err
			}
		}
		return mibPerSec(size*int64(n), elapsed), nil
	}
	if disk, err = write(0); err != nil {
		return 0, 0, 0, err
	}
	if chunked, err = write(outbox.BlobChunkSize); err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, pdfContent(1, size), buf); err != nil {
		return 0, 0, 0, err
	}
	return disk, chunked, mibPerSec(size, time.Since(start)), nil
}

// writeSynced writes r to a new file at path through buf and fsyncs it at
// the end and, if syncEvery > 0, after every syncEvery bytes.
func writeSynced(path string, r io.Reader, buf []byte, syncEvery int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if syncEvery <= 0 {
		syncEvery = math.MaxInt64
	}
	// struct{ io.Writer } hides ReadFrom, so the copy uses buf as the upload does.
	w := struct{ io.Writer }{f}
	for {
		n, err := io.CopyBuffer(w, io.LimitReader(r, syncEvery), buf)
		if err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		if n < syncEvery {
			return f.Close()
		}
	}
}

func mibPerSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return nanIfZero(0)
	}
	return float64(n) / (1 << 20) / d.Seconds()
}

// clockTick is the unit of the CPU times in /proc (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuSample is the CPU time used so far by the gateway process and by the
// whole machine (all cores, not idle or waiting for I/O).
type cpuSample struct {
	at               time.Time
	gateway, machine time.Duration
}

// sampleCPU reads /proc/<pid>/stat and /proc/stat.
func sampleCPU(pid int) (cpuSample, error) {
	s := cpuSample{at: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		s.gateway += time.Duration(n) * clockTick
	}
	b, err = os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f = strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return s, errors.New("/proc/stat: unexpected format")
	}
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/stat: %w", err)
		}
		s.machine += time.Duration(n) * clockTick
	}
	return s, nil
}

// cpuUse adds up the CPU used in phases between two samples.
type cpuUse struct{ wall, gateway, machine time.Duration }

func (u *cpuUse) add(from, to cpuSample) {
	u.wall += to.at.Sub(from.at)
	u.gateway += to.gateway - from.gateway
	u.machine += to.machine - from.machine
}

// cores is the CPU time per wall time: how many cores were busy on average.
func cores(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return math.NaN()
	}
	return cpu.Seconds() / wall.Seconds()
}

// logTail returns the last n lines of the file at path, for error reports.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// uploadRun measures one run of the upload mode: o.n submissions posted one
// after another, each waited for until delivered to every destination and
// checked in the drops before the next is sent, so the upload and the
// delivery are each measured alone. Then the disk baseline.
func uploadRun(ctx context.Context, o options, store, dir string, body []byte, log io.Writer) (report, error) {
	title := fmt.Sprintf("upload %s as %s, %s, %d destination(s), %d submissions one at a time",
		formatSize(o.uploadSize), o.uploadFormat, store, o.uploadDests, o.n)
	r := report{Title: title, Runs: 1}
	var submission map[string]any
	if err := json.Unmarshal(body, &submission); err != nil || submission == nil {
		return r, fmt.Errorf("submission JSON: not an object (%v)", err)
	}
	delete(submission, "attachments")

	r.add("load average (1 min) at start", "", loadAverage())
	s, err := newUploadSetup(ctx, o, store, dir)
	if err != nil {
		return r, err
	}
	defer s.cleanup()
	logPath := filepath.Join(dir, "gateway.log")
	gatewayFailed := func(err error) (report, error) {
		return r, fmt.Errorf("%w\ngateway log (last lines of %s):\n%s", err, logPath, logTail(logPath, 20))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	u := &uploader{client: &http.Client{Transport: tr}, base: "http://" + s.gw.addr, key: portalKey,
		submission: submission, size: o.uploadSize}
	// Delivery moves the file twice through the database and a file drop: give
	// it two minutes plus 2 s per 10 MiB.
	deliveryTimeout := 2*time.Minute + time.Duration(o.uploadSize/(5<<20))*time.Second

	fmt.Fprintf(log, "%s: uploads ...\n", title)
	var uploads, e2e []time.Duration
	var uploadTotal time.Duration
	var bodyBytes int64
	var uploadCPU, deliveryCPU cpuUse
	pid := s.gw.cmd.Process.Pid
	for i := range o.n {
		up := uploaded{attachmentID: uuid.NewString(), seed: uint64(i + 1)}
		var raw []byte // the JSON body, built before the clock starts
		if o.uploadFormat == "json" {
			if raw, err = u.jsonBody(up.seed, up.attachmentID); err != nil {
				return r, err
			}
		}
		c0, err := sampleCPU(pid)
		if err != nil {
			return r, err
		}
		if raw != nil {
			up, err = u.postJSON(ctx, up, raw)
		} else {
			up, err = u.postMultipart(ctx, up)
		}
		if err != nil {
			return gatewayFailed(fmt.Errorf("submission %d: %w", i+1, err))
		}
		c1, err := sampleCPU(pid)
		if err != nil {
			return r, err
		}
		uploadCPU.add(c0, c1)
		d := up.answered.Sub(up.firstByte)
		uploads = append(uploads, d)
		uploadTotal += d
		bodyBytes = up.bodyBytes
		st, err := u.waitDelivered(ctx, up.id, deliveryTimeout)
		if err != nil {
			return gatewayFailed(fmt.Errorf("submission %d: %w", i+1, err))
		}
		c2, err := sampleCPU(pid)
		if err != nil {
			return r, err
		}
		deliveryCPU.add(c1, c2)
		e2e = append(e2e, st.lastDelivery().Sub(up.answered))
		if err := verifyDelivered(dir, st, up, o.uploadSize, o.uploadDests); err != nil {
			return r, fmt.Errorf("submission %d: delivered file differs: %w", i+1, err)
		}
	}
	rss, err := s.gw.peakRSS()
	if err != nil {
		return r, fmt.Errorf("peak RSS: %w", err)
	}
	if err := s.gw.close(); err != nil {
		return r, err
	}
	upload := mibPerSec(o.uploadSize*int64(o.n), uploadTotal)
	r.add("attachment", "MiB", float64(o.uploadSize)/(1<<20))
	if o.uploadFormat == "json" {
		r.add("request body (JSON, base64)", "MiB", float64(bodyBytes)/(1<<20))
	}
	r.add("delivered to every destination, files checked (SHA-256)", "", float64(len(e2e)))
	r.add("upload throughput (attachment bytes / first byte->202)", "MiB/s", upload)
	r.add("upload time p50", "ms", percentile(uploads, 50))
	r.add("upload time max", "ms", percentile(uploads, 100))
	r.add("accepted->delivered p50", "ms", percentile(e2e, 50))
	r.add("accepted->delivered max", "ms", percentile(e2e, 100))
	r.add("gateway peak RSS", "MiB", float64(rss)/(1<<20))
	r.add("gateway CPU while uploading", "cores", cores(uploadCPU.gateway, uploadCPU.wall))
	r.add("machine CPU busy while uploading (of "+strconv.Itoa(runtime.NumCPU())+")", "cores", cores(uploadCPU.machine, uploadCPU.wall))
	r.add("gateway CPU while delivering", "cores", cores(deliveryCPU.gateway, deliveryCPU.wall))
	r.add("machine CPU busy while delivering", "cores", cores(deliveryCPU.machine, deliveryCPU.wall))
	if !o.baselines {
		return r, nil
	}
	fmt.Fprintf(log, "%s: disk baseline ...\n", title)
	disk, chunked, gen, err := diskBaseline(dir, o.uploadSize, o.n)
	if err != nil {
		return r, err
	}
	r.add("baseline disk write + fsync", "MiB/s", disk)
	r.add("diagnostic: disk write, fsync every 512 KiB", "MiB/s", chunked)
	r.add("diagnostic: generator alone", "MiB/s", gen)
	r.add("ratio upload : disk write", "x", ratio(upload, disk))
	return r, nil
}
