package main

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/config"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"64MiB", 64 << 20, false},
		{"512KiB", 512 << 10, false},
		{"1GiB", 1 << 30, false},
		{"4GiB", 4 << 30, false},
		{"1048576", 1 << 20, false},
		{"100B", 100, false},
		{" 16 MiB ", 16 << 20, false},
		{"5", 5, false},
		{"4", 0, true},       // shorter than the PDF signature
		{"5GiB", 0, true},    // above the gateway's 4 GiB limit
		{"4097MiB", 0, true}, // likewise
		{"0MiB", 0, true},
		{"-1KiB", 0, true},
		{"64MB", 0, true}, // decimal units are not accepted
		{"1.5GiB", 0, true},
		{"MiB", 0, true},
		{"", 0, true},
		{"9223372036854775807GiB", 0, true}, // would overflow
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseSize(tt.in)
			if tt.err {
				if err == nil {
					t.Fatalf("parseSize(%q) = %d, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			if back, err := parseSize(formatSize(got)); err != nil || back != got {
				t.Errorf("parseSize(formatSize(%d) = %q) = %d, %v", got, formatSize(got), back, err)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{64 << 20: "64MiB", 1 << 30: "1GiB", 3 << 10: "3KiB", 1536: "1536B", 1000: "1000B"} {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestPDFContent(t *testing.T) {
	t.Parallel()
	read := func(seed uint64, size int64) []byte {
		b, err := io.ReadAll(pdfContent(seed, size))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := read(1, 1<<20)
	if len(a) != 1<<20 {
		t.Fatalf("%d bytes, want %d", len(a), 1<<20)
	}
	if !bytes.HasPrefix(a, []byte("%PDF-")) {
		t.Errorf("does not start with the PDF signature: %q", a[:16])
	}
	if !bytes.Equal(a, read(1, 1<<20)) {
		t.Error("the same seed gave different bytes")
	}
	if bytes.Equal(a, read(2, 1<<20)) {
		t.Error("different seeds gave the same bytes")
	}
	if got := read(1, 5); string(got) != "%PDF-" {
		t.Errorf("5 bytes: %q, want the signature", got)
	}
	// Incompressible: deflate must not shrink it by more than its overhead.
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	_, _ = w.Write(a)
	_ = w.Close()
	if z.Len() < len(a)*99/100 {
		t.Errorf("deflate shrank %d bytes to %d: not incompressible", len(a), z.Len())
	}
	sum, err := pdfSum(1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(a); sum != want {
		t.Errorf("pdfSum = %x, want %x", sum, want)
	}
}

func TestJSONBody(t *testing.T) {
	t.Parallel()
	var sub map[string]any
	if err := json.Unmarshal(defaultBody, &sub); err != nil {
		t.Fatal(err)
	}
	const size = 100<<10 + 1 // not a multiple of 3: base64 padding
	u := &uploader{submission: sub, size: size}
	body, err := u.jsonBody(7, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Procedure   string         `json:"procedure"`
		Tenant      string         `json:"tenant"`
		Applicant   map[string]any `json:"applicant"`
		Attachments []struct {
			ID, Filename, MIMEType, Content string
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if got.Procedure != uploadProcedure || got.Tenant != uploadTenant || got.Applicant == nil {
		t.Errorf("procedure %q, tenant %q, applicant %v", got.Procedure, got.Tenant, got.Applicant)
	}
	if len(got.Attachments) != 1 {
		t.Fatalf("%d attachments, want 1", len(got.Attachments))
	}
	a := got.Attachments[0]
	if a.ID != "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" || a.Filename != uploadFilename {
		t.Errorf("attachment %q %q", a.ID, a.Filename)
	}
	raw, err := base64.StdEncoding.DecodeString(a.Content)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(pdfContent(7, size))
	if !bytes.Equal(raw, want) {
		t.Error("content does not decode to the generated file")
	}
	if limit := jsonBodyLimit(size); int64(len(body)) > limit {
		t.Errorf("body %d bytes, over the configured limit %d", len(body), limit)
	}
	if _, ok := sub["attachments"]; ok {
		t.Error("jsonBody changed the submission it was given")
	}
}

func TestUploadConfigValid(t *testing.T) {
	t.Parallel()
	for _, c := range []uploadConfig{
		{MaxBytes: 256 << 20, XDomea: true},
		{MaxBytes: 16 << 20, MaxBodyBytes: jsonBodyLimit(16 << 20)},
		{MaxBytes: 4 << 30, DatabaseURL: "postgres://u@127.0.0.1/db"},
	} {
		dir := t.TempDir()
		c.Dir, c.KeyHash, c.Concurrency, c.Procedure, c.Tenant = dir, config.HashKey(portalKey), 4, uploadProcedure, uploadTenant
		var b strings.Builder
		if err := uploadTemplate.Execute(&b, c); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "amtsbote.yaml")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := checkConfig(path); err != nil {
			t.Errorf("%+v: %v\n%s", c, err, b.String())
		}
		if got := strings.Count(b.String(), "type: filedrop"); got != map[bool]int{false: 1, true: 2}[c.XDomea] {
			t.Errorf("XDomea %v: %d file drops", c.XDomea, got)
		}
	}
}

func TestSampleCPU(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc:", err)
	}
	a, err := sampleCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for x := 0; time.Since(a.at) < 50*time.Millisecond; x++ { // burn some CPU
		_ = sha256.Sum256([]byte{byte(x)})
	}
	b, err := sampleCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// 50 ms of work are several clock ticks of this process's CPU time.
	if b.gateway <= a.gateway || b.machine < a.machine || b.machine <= 0 {
		t.Errorf("CPU times did not grow: %+v then %+v", a, b)
	}
	var u cpuUse
	u.add(a, b)
	// Only the sign: over 50 ms, tick granularity makes the busy share
	// coarse, more so on a loaded machine.
	if c := cores(u.machine, u.wall); c < 0 {
		t.Errorf("machine busy %.2f cores", c)
	}
}

func TestWriteSynced(t *testing.T) {
	t.Parallel()
	const size = 3*(64<<10) + 100
	want, _ := io.ReadAll(pdfContent(3, size))
	for _, every := range []int64{0, 64 << 10, size, size + 1} {
		path := filepath.Join(t.TempDir(), "f")
		if err := writeSynced(path, pdfContent(3, size), make([]byte, 1000), every); err != nil {
			t.Fatalf("every %d: %v", every, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("every %d: wrote %d bytes, not the generated %d", every, len(got), len(want))
		}
	}
}
