package portalapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/outbox"
)

// hostileDir holds the hostile corpus: one directory per category, each
// case a .case file (see testdata/hostile/README.md), plus the request
// bodies of testdata/hostile/attachments and the cases generated.txt
// names.
const hostileDir = "../../testdata/hostile"

// hostileDeadline bounds each hostile request, connection to answer.
const hostileDeadline = 5 * time.Second

// hostileCase is one hostile request and the answer it must get.
type hostileCase struct {
	name    string
	method  string
	path    string
	header  [][2]string // in order; names may repeat
	body    []byte
	chunked bool // send the body chunked, without Content-Length
	status  int  // the expected status; 0 means any 4xx
}

// parseCase reads a .case file: "Name: value" lines, an empty line, then
// the body bytes. Pseudo headers: ":method", ":path", ":status" (the
// expected status), ":key" ("none": no Authorization; "raw": the value of
// ":authorization" as is), ":authorization2" and ":idempotency2" (a second
// header of that name).
func parseCase(t *testing.T, name string, b []byte) hostileCase {
	t.Helper()
	head, body, ok := bytes.Cut(b, []byte("\n\n"))
	if bytes.HasPrefix(b, []byte("\n")) {
		head, body, ok = nil, b[1:], true
	}
	if !ok {
		t.Fatalf("%s: no empty line after the headers", name)
	}
	c := hostileCase{name: name, method: http.MethodPost, path: "/v1/submissions", body: body}
	contentType, auth := "application/json", "Bearer "+demoKey
	var extra [][2]string
	for line := range strings.Lines(string(head)) {
		k, v, found := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
		if !found {
			k, v = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), ":"), ""
		}
		switch k {
		case ":method":
			c.method = v
		case ":path":
			c.path = v
		case ":status":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s: status %q", name, v)
			}
			c.status = n
		case ":key":
			if v == "none" {
				auth = ""
			}
		case ":authorization":
			auth = v
		case ":authorization2":
			extra = append(extra, [2]string{"Authorization", v})
		case ":idempotency2":
			extra = append(extra, [2]string{"Idempotency-Key", v})
		case "Content-Type":
			contentType = v
		default:
			if strings.HasPrefix(k, ":") {
				t.Fatalf("%s: unknown pseudo header %s", name, k)
			}
			c.header = append(c.header, [2]string{k, v})
		}
	}
	if auth != "" {
		c.header = append(c.header, [2]string{"Authorization", auth})
	}
	if contentType != "" && c.method == http.MethodPost {
		c.header = append(c.header, [2]string{"Content-Type", contentType})
	}
	c.header = append(c.header, extra...)
	return c
}

// loadHostileCorpus returns every committed case and the number of them.
func loadHostileCorpus(t *testing.T) []hostileCase {
	t.Helper()
	var cases []hostileCase
	files, err := filepath.Glob(filepath.Join(hostileDir, "*", "*.case"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(hostileDir, f)
		cases = append(cases, parseCase(t, rel, b))
	}
	bodies, err := filepath.Glob(filepath.Join(hostileDir, "attachments", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range bodies {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(hostileDir, f)
		cases = append(cases, parseCase(t, rel, append([]byte("\n"), b...)))
	}
	return cases
}

// generatedCases builds the cases that generated.txt names, with the
// handler's body limit maxBody.
func generatedCases(t *testing.T, maxBody int64) []hostileCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hostileDir, "generated.txt"))
	if err != nil {
		t.Fatal(err)
	}
	demo := readDemo(t)
	post := func(name string, body []byte, status int) hostileCase {
		c := parseCase(t, "generated/"+name, append([]byte("\n"), body...))
		c.status = status
		return c
	}
	build := map[string]func() hostileCase{
		"oversized-body": func() hostileCase {
			return post("oversized-body", append(demo, bytes.Repeat([]byte(" "), int(maxBody)+1-len(demo))...), 413)
		},
		"oversized-chunked-body": func() hostileCase {
			c := post("oversized-chunked-body", append(demo, bytes.Repeat([]byte(" "), int(maxBody)+1-len(demo))...), 413)
			c.chunked = true
			return c
		},
		"content-length-one-terabyte": func() hostileCase {
			c := post("content-length-one-terabyte", nil, 413)
			c.header = append(c.header, [2]string{"Content-Length", strconv.FormatInt(1<<40, 10)})
			return c
		},
		"base64-string-20-mib": func() hostileCase {
			return post("base64-string-20-mib", withAttachments(t, []any{map[string]any{"id": pdfID, "filename": "riesig.pdf",
				"mime_type": "application/pdf", "content": strings.Repeat("JVBE", 5<<20)}}), 413)
		},
		"nesting-one-million": func() hostileCase {
			return post("nesting-one-million", bytes.Repeat([]byte("["), 1_000_000), 400)
		},
		"ten-thousand-attachments": func() hostileCase {
			list := make([]any, 10_000)
			for i := range list {
				list[i] = map[string]any{}
			}
			return post("ten-thousand-attachments", withAttachments(t, list), 422)
		},
	}
	var cases []hostileCase
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		name := strings.Fields(line)[0]
		f, ok := build[name]
		if !ok {
			t.Fatalf("generated.txt names %s, which the test does not build", name)
		}
		cases = append(cases, f())
	}
	if len(cases) != len(build) {
		t.Fatalf("generated.txt names %d cases, the test builds %d", len(cases), len(build))
	}
	return cases
}

// sendRaw sends c over a new TCP connection to addr, as written, and reads
// the answer; the whole exchange must end within hostileDeadline.
func sendRaw(t *testing.T, addr string, c hostileCase) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)

	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: amtsbote.test\r\nConnection: close\r\n", c.method, c.path)
	hasLength := false
	for _, h := range c.header {
		fmt.Fprintf(&req, "%s: %s\r\n", h[0], h[1])
		hasLength = hasLength || h[0] == "Content-Length"
	}
	switch {
	case c.chunked:
		req.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		fmt.Fprintf(&req, "%x\r\n%s\r\n0\r\n\r\n", len(c.body), c.body)
	case hasLength:
		req.WriteString("\r\n")
		req.Write(c.body)
	default:
		fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n", len(c.body))
		req.Write(c.body)
	}
	// The server may answer before it has read the body (413) and close:
	// write concurrently and ignore write errors.
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = conn.Write(req.Bytes())
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", hostileDeadline, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	conn.Close()
	<-written
	return resp, body
}

// TestHostileCorpus sends every hostile request to the real handler over
// TCP and checks that each gets a 4xx problem quickly, that nothing
// panicked or was stored, and that no goroutine is left behind.
func TestHostileCorpus(t *testing.T) {
	// Not parallel: the goroutine count must be this test's alone.
	e := newEnv(t, func(c *envConfig) {
		c.AuthFailureBurst = 1_000_000 // the 401 cases are not about the failure limit
	})
	cases := loadHostileCorpus(t)
	if len(cases) < 200 {
		t.Fatalf("%d committed hostile cases, want at least 200", len(cases))
	}
	cases = append(cases, generatedCases(t, portalapi.DefaultMaxBodyBytes)...)
	addr := e.srv.Listener.Addr().String()
	baseline := runtime.NumGoroutine()

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := sendRaw(t, addr, c)
			if resp.StatusCode < 400 || resp.StatusCode > 499 || c.status != 0 && resp.StatusCode != c.status {
				want := "a 4xx"
				if c.status != 0 {
					want = strconv.Itoa(c.status)
				}
				t.Fatalf("status %d, want %s; body %.300s", resp.StatusCode, want, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != portalapi.ProblemContentType {
				t.Fatalf("Content-Type %q, want %s; body %.300s", ct, portalapi.ProblemContentType, body)
			}
			var p portalapi.Problem
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil || p.Status != resp.StatusCode || !strings.HasPrefix(p.Type, portalapi.ProblemTypePrefix) {
				t.Fatalf("problem %+v (%v), want status %d and a type", p, err, resp.StatusCode)
			}
		})
	}

	// No goroutine outlives its request.
	e.srv.CloseClientConnections()
	for wait := time.Now().Add(hostileDeadline); runtime.NumGoroutine() > baseline && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the corpus, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
	// Nothing stored.
	e.assertNothingStored(t)
	for _, p := range e.cfg.Portals {
		subs, _, err := e.store.ListSubmissions(context.Background(), outbox.SubmissionFilter{PortalID: p.ID})
		if err != nil || len(subs) != 0 {
			t.Errorf("portal %s has %d submissions (%v), want none", p.ID, len(subs), err)
		}
	}
	// No panic, no error: every problem was an answer, not an accident.
	for _, rec := range e.logLines(t) {
		if rec["level"] == "ERROR" || rec["msg"] == "handler panicked" {
			t.Errorf("log record %s", fmtRecord(rec))
		}
	}
	if t.Failed() {
		return
	}
	statuses := map[int]int{}
	for _, rec := range requestLogs(e.logLines(t)) {
		if s, ok := rec["status"].(float64); ok {
			statuses[int(s)]++
		}
	}
	keys := slices.Sorted(func(yield func(int) bool) {
		for k := range statuses {
			if !yield(k) {
				return
			}
		}
	})
	t.Logf("%d hostile requests answered: %v by status %v", len(cases), statuses, keys)
}

// TestSlowHeadersAreCut sends request headers one byte at a time to a
// server from NewServer (as serve builds it): the read header timeout
// closes the connection long before the headers are complete, and the
// handler never sees the request.
func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := portalapi.NewServer("127.0.0.1:0", e.handler, portalapi.Timeouts{
		ReadHeader: 300 * time.Millisecond, Read: 2 * time.Second, Write: 2 * time.Second, Idle: time.Second,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(hostileDeadline))
	headers := "POST /v1/submissions HTTP/1.1\r\nHost: amtsbote.test\r\nAuthorization: Bearer " + demoKey +
		"\r\nContent-Type: application/json\r\nX-Slow: " + strings.Repeat("a", 200) + "\r\n\r\n"
	closed := make(chan struct{})
	go func() { // the reader sees the server close the connection
		defer close(closed)
		_, _ = io.Copy(io.Discard, conn)
	}()
	sent := 0
	for ; sent < len(headers); sent++ {
		if _, err := conn.Write([]byte{headers[sent]}); err != nil {
			break
		}
		select {
		case <-closed:
		case <-time.After(50 * time.Millisecond):
			continue
		}
		break
	}
	select {
	case <-closed:
	case <-time.After(hostileDeadline):
		t.Fatal("the server kept the slow connection open")
	}
	if sent >= len(headers) {
		t.Fatalf("all %d header bytes were accepted", len(headers))
	}
	if logs := requestLogs(e.logLines(t)); len(logs) != 0 {
		t.Errorf("the handler saw the slow request: %v", logs)
	}
}
