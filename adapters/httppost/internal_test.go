package httppost

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"120", 120 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"86401", MaxRetryAfter, true},
		{"99999999999999999999999999", MaxRetryAfter, true},
		{"Sat, 28 Nov 2026 20:01:30 GMT", 90 * time.Second, true},    // IMF-fixdate
		{"Saturday, 28-Nov-26 20:00:10 GMT", 10 * time.Second, true}, // RFC 850
		{"Sat Nov 28 20:02:00 2026", 2 * time.Minute, true},          // asctime
		{"Sat, 28 Nov 2026 19:00:00 GMT", 0, true},                   // in the past
		{"Mon, 28 Nov 2033 20:00:00 GMT", MaxRetryAfter, true},       // far future
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"morgen", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.value, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func TestQuoteBody(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"  Fehler:\r\n\tPflichtfeld fehlt  ", "Fehler: Pflichtfeld fehlt"},
		{"\x1b[31mrot\x00", "[31mrot"},
		{"ung\xffültig", "ung\uFFFDültig"},
		{strings.Repeat("x", 600), strings.Repeat("x", maxQuoted) + "…"},
	}
	for _, tt := range tests {
		if got := quoteBody([]byte(tt.in)); got != tt.want {
			t.Errorf("quoteBody(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEnvelopeDeclaration(t *testing.T) {
	t.Parallel()
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soap:Envelope xmlns:soap="` + NamespaceSOAP11 + `"><soap:Body>`
	const tail = "</soap:Body></soap:Envelope>\n"
	tests := []struct {
		name, doc, want string
		malformed       bool
	}{
		{name: "no declaration", doc: "<a/>", want: "<a/>"},
		{name: "declaration", doc: "<?xml version=\"1.0\"?>\n<a/>\n", want: "<a/>"},
		{name: "single quotes", doc: "<?xml version='1.0' encoding='utf-8' standalone='yes'?><a/>", want: "<a/>"},
		{name: "byte order mark", doc: "\xef\xbb\xbf<?xml version=\"1.0\"?><a/>", want: "<a/>"},
		{name: "stylesheet kept", doc: "<?xml-stylesheet href=\"a.xsl\"?><a/>", want: "<?xml-stylesheet href=\"a.xsl\"?><a/>"},
		{name: "latin-1", doc: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", malformed: true},
		{name: "unterminated", doc: "<?xml version=\"1.0\" <a/>", malformed: true},
	}
	for _, tt := range tests {
		got, err := envelope("1.1", []byte(tt.doc))
		switch {
		case tt.malformed:
			if !errors.Is(err, errMalformed) {
				t.Errorf("%s: envelope = %q, %v; want errMalformed", tt.name, got, err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case string(got) != head+tt.want+tail:
			t.Errorf("%s: envelope = %q, want %q", tt.name, got, head+tt.want+tail)
		}
	}
}

func TestFileContentType(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"Lageplan.pdf": "application/pdf", "FOTO.JPEG": "image/jpeg", "scan.tif": "image/tiff",
		"plan.dwg": "application/octet-stream", "ohne": "application/octet-stream", "a.b.png": "image/png",
	} {
		if got := fileContentType(name); got != want {
			t.Errorf("fileContentType(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestHoldLast(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 3, 100, 32 << 10, 100_001} {
		content := bytes.Repeat([]byte("Bauvorhaben "), n/12+1)[:n]
		for name, r := range map[string]io.Reader{
			"whole":    bytes.NewReader(content),
			"one byte": iotest.OneByteReader(bytes.NewReader(content)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(content)),
		} {
			if err := iotest.TestReader(&holdLast{r: r}, content); err != nil {
				t.Errorf("%d bytes, %s: %v", n, name, err)
			}
		}
	}
	// An error at the end (a checksum that does not match) keeps the last
	// byte back: nothing that reads the stream gets it whole.
	errCorrupt := errors.New("corrupt")
	content := bytes.Repeat([]byte{7}, 70_000)
	for _, size := range []int{1, 2, 4096, 1 << 20} {
		r := &holdLast{r: io.MultiReader(bytes.NewReader(content), iotest.ErrReader(errCorrupt))}
		var got []byte
		buf := make([]byte, size)
		var err error
		for err == nil {
			var n int
			n, err = r.Read(buf)
			got = append(got, buf[:n]...)
		}
		if !errors.Is(err, errCorrupt) || len(got) >= len(content) {
			t.Errorf("reads of %d: got %d of %d bytes and %v, want fewer and the error", size, len(got), len(content), err)
		}
	}
}
