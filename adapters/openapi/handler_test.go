package openapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/amtsbote/amtsbote/adapters/openapi"
)

// TestHandlerCaching: the document is served with Cache-Control and an ETag
// of its content, and a client that has it gets 304 Not Modified.
func TestHandlerCaching(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256(openapi.Document)
	if want := `"` + hex.EncodeToString(sum[:]) + `"`; openapi.ETag != want {
		t.Fatalf("ETag = %s, want %s", openapi.ETag, want)
	}
	srv := httptest.NewServer(openapi.Handler())
	t.Cleanup(srv.Close) // after the parallel subtests
	for _, tt := range []struct {
		name, method, ifNoneMatch string
		want                      int
	}{
		{"get", http.MethodGet, "", http.StatusOK},
		{"head", http.MethodHead, "", http.StatusOK},
		{"get, other tag", http.MethodGet, `"0123"`, http.StatusOK},
		{"get, own tag", http.MethodGet, openapi.ETag, http.StatusNotModified},
		{"get, own tag weak", http.MethodGet, "W/" + openapi.ETag, http.StatusNotModified},
		{"get, own tag in a list", http.MethodGet, `"0123", ` + openapi.ETag, http.StatusNotModified},
		{"get, any tag", http.MethodGet, "*", http.StatusNotModified},
		{"head, own tag", http.MethodHead, openapi.ETag, http.StatusNotModified},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, srv.URL+"/openapi.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tt.ifNoneMatch)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=3600" {
				t.Errorf("Cache-Control %q", got)
			}
			if got := resp.Header.Get("ETag"); got != openapi.ETag {
				t.Errorf("ETag %q, want %q", got, openapi.ETag)
			}
			switch {
			case tt.want == http.StatusNotModified && len(body) != 0:
				t.Errorf("304 with a body of %d bytes", len(body))
			case tt.want == http.StatusOK && tt.method == http.MethodGet && !bytes.Equal(body, openapi.Document):
				t.Errorf("body of %d bytes is not the document", len(body))
			case tt.want == http.StatusOK && resp.Header.Get("Content-Type") != openapi.ContentType:
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}
