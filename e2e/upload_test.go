package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/outbox/postgres/pgtest"
)

// uploadConfig routes one procedure with large attachments to two
// destinations: an XÖV file drop and an xdomea E-Akte drop.
const uploadConfig = `
server:
  shutdown_timeout: 5s
database:
%[3]s
relay:
  poll_interval: 200ms
procedures:
  - id: test.upload
    name: Upload
    attachments:
      max_bytes: %[4]d
tenants:
  - id: musterstadt
    name: Stadt Musterstadt
    ags: "09162000"
    behoerdenkennung: "psw:09162000"
    procedures:
      - procedure: test.upload
        destinations:
          - id: fachverfahren
            type: filedrop
            filedrop:
              dir: %[1]s/drop
          - id: eakte
            type: filedrop
            format: xdomea
            xdomea:
              creator: amtsbote
            filedrop:
              dir: %[1]s/eakte
portals:
  - id: upload-portal
    key_hash: %[2]s
    tenants: [musterstadt]
    procedures: [test.upload]
`

// uploadSize is the attachment of TestLargeAttachmentBoundedMemory: large
// against the process's memory, so that holding it once would show.
const uploadSize = 256 << 20

// maxPeakRSS is the peak resident memory the gateway may reach while it
// takes the upload and delivers it twice: half the attachment.
const maxPeakRSS = uploadSize / 2

// TestLargeAttachmentBoundedMemory sends a 256 MiB attachment as a
// multipart part to the real binary, which delivers it to two
// destinations (XÖV and xdomea containers), and reads the process's peak
// resident set (VmHWM): streaming keeps it far below the attachment's size.
func TestLargeAttachmentBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 256 MiB three times; skipped with -short")
	}
	backends := map[string]func(t *testing.T, dir string) string{
		"sqlite":   func(t *testing.T, dir string) string { return "  path: " + dir + "/amtsbote.db" },
		"postgres": func(t *testing.T, dir string) string { return "  url: " + pgtest.NewDatabase(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, fmt.Sprintf(uploadConfig, dir, config.HashKey("upload-key"),
				backends[name](t, dir), uploadSize+1))
			p := start(t, dir, nil, "--config", cfg)

			attachmentID := uuid.NewString()
			sum, code, resp := p.upload(t, "upload-key", attachmentID, uploadSize, 0)
			if code != http.StatusAccepted {
				t.Fatalf("POST: %d %v", code, resp)
			}
			id := resp["id"].(string)
			var st map[string]any
			waitFor(t, 3*time.Minute, "both destinations delivered", func() bool {
				st = p.status(t, "upload-key", id)
				return st["status"] == "delivered" || st["status"] == "failed"
			})
			if st["status"] != "delivered" {
				t.Fatalf("status %v", st)
			}
			peak := peakRSS(t, p.cmd.Process.Pid)

			for _, d := range st["destinations"].([]any) {
				d := d.(map[string]any)
				msg := d["message_id"].(string)
				var path, entry string
				switch d["destination"] {
				case "fachverfahren":
					path = filepath.Join(dir, "drop", "musterstadt", "test.upload", msg+".zip")
					entry = "anlagen/" + attachmentID + "/Bauzeichnung.pdf"
				case "eakte":
					path = filepath.Join(dir, "eakte", "musterstadt", "test.upload", msg+xdomeaZIP)
					entry = attachmentID + "_Bauzeichnung.pdf"
				default:
					t.Fatalf("unexpected destination %v", d["destination"])
				}
				if got := zipEntrySum(t, path, entry); got != sum {
					t.Errorf("%s: %s has SHA-256 %x, want %x as sent", d["destination"], entry, got, sum)
				}
			}
			t.Logf("%s: %d MiB attachment taken and delivered twice; peak RSS %d MiB", name, uploadSize>>20, peak>>20)
			if peak > maxPeakRSS {
				t.Errorf("peak RSS %d MiB, want at most %d MiB: the attachment is held in memory", peak>>20, maxPeakRSS>>20)
			}
		})
	}
}

// upload posts demo.json as procedure test.upload with one PDF attachment
// of size bytes, generated while it is sent, pausing pace after each
// 32 KiB, and returns the content's SHA-256 and the answer.
func (p *proc) upload(t *testing.T, key, attachmentID string, size int64, pace time.Duration) ([sha256.Size]byte, int, map[string]any) {
	t.Helper()
	var sub map[string]any
	if err := json.Unmarshal(demoBody(t), &sub); err != nil {
		t.Fatal(err)
	}
	sub["procedure"] = "test.upload"
	sub["attachments"] = []any{map[string]any{"id": attachmentID, "filename": "Bauzeichnung.pdf", "mime_type": "application/pdf"}}
	subJSON, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	mw := portalapi.NewMultipartWriter(pw)
	h := sha256.New()
	go func() {
		err := mw.WriteSubmission(subJSON)
		if err == nil {
			var content io.Reader = io.MultiReader(strings.NewReader("%PDF-1.7\n"), io.LimitReader(pseudoRandom(1), size-9))
			if pace > 0 {
				content = paced(content, 32<<10, pace)
			}
			_, err = mw.WriteAttachment(attachmentID, "Bauzeichnung.pdf", io.TeeReader(content, h))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/v1/submissions", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.ContentType())
	code, body := do(t, req)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, code, body
}

// pseudoRandom is an endless stream of incompressible bytes.
func pseudoRandom(seed uint64) io.Reader {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	return readerFunc(func(p []byte) (int, error) { return r.Read(p) })
}

// paced reads r in pieces of at most step bytes and pauses pause after each.
func paced(r io.Reader, step int, pause time.Duration) io.Reader {
	return readerFunc(func(p []byte) (int, error) {
		n, err := r.Read(p[:min(len(p), step)])
		time.Sleep(pause)
		return n, err
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// zipEntrySum streams entry of the ZIP file at path through SHA-256.
func zipEntrySum(t *testing.T, path, entry string) [sha256.Size]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		if f.Name != entry {
			names = append(names, f.Name)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			t.Fatalf("%s in %s: %v", entry, path, err)
		}
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		return sum
	}
	t.Fatalf("%s has no %s, only %q", path, entry, names)
	return [sha256.Size]byte{}
}

// peakRSS reads the peak resident set size (VmHWM) of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc status for the process: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestSlowUploadOutlastsReadTimeout sends 2 MiB in about 3 s to the
// binary configured with read_timeout 1s: an upload that keeps making
// progress is not cut off by the total read timeout.
func TestSlowUploadOutlastsReadTimeout(t *testing.T) {
	dir := t.TempDir()
	text := fmt.Sprintf(uploadConfig, dir, config.HashKey("upload-key"), "  path: "+dir+"/amtsbote.db", 4<<20)
	text = strings.Replace(text, "  shutdown_timeout: 5s\n", "  shutdown_timeout: 5s\n  read_timeout: 1s\n  write_timeout: 1s\n", 1)
	p := start(t, dir, nil, "--config", writeConfig(t, dir, text))
	_, code, resp := p.upload(t, "upload-key", uuid.NewString(), 2<<20, 50*time.Millisecond)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %v, want 202", code, resp)
	}
}

// TestOutboxShowContent files a small attachment (base64 in JSON) with two
// destinations and checks that `outbox show --content` writes, for each
// message, exactly the bytes the file drop received: assembly at delivery is
// deterministic, and operators can look at what a destination got. The
// text output lists the container's files.
func TestOutboxShowContent(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fmt.Sprintf(uploadConfig, dir, config.HashKey("upload-key"),
		"  path: "+dir+"/amtsbote.db", 1<<20))
	p := start(t, dir, nil, "--config", cfg)

	var sub map[string]any
	if err := json.Unmarshal(demoBody(t), &sub); err != nil {
		t.Fatal(err)
	}
	attachmentID := uuid.NewString()
	sub["procedure"] = "test.upload"
	sub["attachments"] = []any{map[string]any{"id": attachmentID, "filename": "Lageplan.pdf", "mime_type": "application/pdf",
		"content": "JVBERi0xLjcKTGFnZXBsYW4K"}} // %PDF-1.7 Lageplan
	body, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	id := p.accept(t, "upload-key", "", body)
	st := p.awaitStatus(t, "upload-key", id, "delivered", 30*time.Second)
	if got := p.stop(t, syscall.SIGTERM); got != 0 {
		t.Fatalf("exit code %d", got)
	}
	for _, d := range st["destinations"].([]any) {
		d := d.(map[string]any)
		msg := d["message_id"].(string)
		drop := filepath.Join(dir, "drop", "musterstadt", "test.upload", msg+".zip")
		if d["destination"] == "eakte" {
			drop = filepath.Join(dir, "eakte", "musterstadt", "test.upload", msg+xdomeaZIP)
		}
		out := filepath.Join(t.TempDir(), "content.zip")
		code, stdout, stderr := cli(t, dir, "outbox", "show", msg, "--content", out, "--config", cfg)
		if code != 0 {
			t.Fatalf("outbox show: exit %d\n%s", code, stderr)
		}
		if !bytes.Equal(readFile(t, out), readFile(t, drop)) {
			t.Errorf("%s: outbox show --content differs from the delivered file", d["destination"])
		}
		if !strings.Contains(stdout, "Container (assembled at delivery") ||
			!strings.Contains(stdout, "attachment, 18 bytes") {
			t.Errorf("%s: outbox show lists no container:\n%s", d["destination"], stdout)
		}
	}
}
