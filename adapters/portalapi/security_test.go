package portalapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/adapters/portalapi"
	"github.com/amtsbote/amtsbote/config"
	"github.com/amtsbote/amtsbote/internal/testpki"
)

// unknownID is a well-formed submission id that no test stores: an
// authenticated GET of it is 404, an unauthenticated one 401.
const unknownID = "00000000-0000-4000-8000-000000000000"

func TestPortalRateLimit(t *testing.T) {
	t.Parallel()
	// The handler's clock stands still (testNow): no token comes back.
	e := newEnv(t, func(c *envConfig) {
		c.Config.Portals[0].RateLimit = &config.RateLimit{PerSecond: 0.1, Burst: 2}
	})
	for i := range 2 {
		if r := e.status(t, demoKey, unknownID); r.status != http.StatusNotFound {
			t.Fatalf("request %d: status %d, want 404; body %s", i+1, r.status, r.body)
		}
	}
	r := e.status(t, demoKey, unknownID)
	problemOf(t, r, http.StatusTooManyRequests, portalapi.ProblemTooManyRequests)
	if got := r.header.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After = %q, want 10 (one token at 0.1/s)", got)
	}
	// Submissions share the budget; the other portal has none.
	problemOf(t, e.submit(t, demoKey, readDemo(t)), http.StatusTooManyRequests, portalapi.ProblemTooManyRequests)
	for range 5 {
		if r := e.status(t, otherKey, unknownID); r.status != http.StatusNotFound {
			t.Fatalf("other portal: status %d, want 404", r.status)
		}
	}
	e.assertNothingStored(t)
}

func TestAuthFailureLimitAndLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *envConfig) { c.AuthFailureBurst = 3 })
	const wrongKey = "wrong-key-c0ffee-3b7a" // must not reach the log
	for i, key := range []string{wrongKey, "", wrongKey} {
		r := e.status(t, key, unknownID)
		problemOf(t, r, http.StatusUnauthorized, portalapi.ProblemUnauthorized)
		if r.header.Get("Www-Authenticate") == "" {
			t.Errorf("failure %d: no WWW-Authenticate", i+1)
		}
	}
	// The address has used up its failures: even the right key is refused
	// until it has one again (the clock stands still).
	r := e.status(t, demoKey, unknownID)
	problemOf(t, r, http.StatusTooManyRequests, portalapi.ProblemTooManyRequests)
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (one failure per second)", got)
	}

	var warns []map[string]any
	for _, rec := range e.logLines(t) {
		line := fmtRecord(rec)
		if strings.Contains(line, wrongKey) || strings.Contains(line, demoKey) {
			t.Errorf("log record contains a key: %s", line)
		}
		if rec["msg"] == "authentication failed" {
			warns = append(warns, rec)
		}
	}
	if len(warns) != 3 {
		t.Fatalf("%d authentication failures logged, want 3", len(warns))
	}
	for i, want := range []string{"unknown_key", "missing_key", "unknown_key"} {
		w := warns[i]
		if w["level"] != "WARN" || w["reason"] != want || w["remote_addr"] != "127.0.0.1" || w["route"] != portalapi.RouteStatus {
			t.Errorf("failure %d logged as %s, want WARN, reason %s, remote_addr 127.0.0.1, route", i+1, fmtRecord(w), want)
		}
	}
}

// outcomes records the RequestOutcome of every request.
type outcomes struct {
	mu  sync.Mutex
	all []portalapi.RequestOutcome
}

func (o *outcomes) ObserveRequest(r portalapi.RequestOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all = append(o.all, r)
}

func (o *outcomes) list() []portalapi.RequestOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.all)
}

// TestPreviousKeyDuringRotation: a portal's previous API key works, next
// to the new one, until it expires; its use is logged and observed.
func TestPreviousKeyDuringRotation(t *testing.T) {
	t.Parallel()
	const oldKey = "old-test-key-4e1d" // must not reach the log
	expires := testNow.Add(time.Hour)
	var now atomic.Pointer[time.Time]
	now.Store(&testNow)
	seen := &outcomes{}
	e := newEnv(t, func(c *envConfig) {
		c.Config.Portals[0].PreviousKey = &config.PreviousKey{
			Hash: config.NewSecret(config.HashKey(oldKey)), Expires: config.Timestamp{Time: expires}}
		c.Now = func() time.Time { return *now.Load() }
		c.Observer = seen
	})

	id := accepted(t, e.submit(t, oldKey, readDemo(t)))
	if r := e.status(t, demoKey, id); r.status != http.StatusOK {
		t.Fatalf("status with the new key: %d, want 200; body %s", r.status, r.body)
	}
	if r := e.status(t, oldKey, id); r.status != http.StatusOK {
		t.Fatalf("status with the previous key: %d, want 200; body %s", r.status, r.body)
	}
	// Another portal's key never reaches the submission, during the
	// rotation as before.
	if r := e.status(t, otherKey, id); r.status != http.StatusNotFound {
		t.Fatalf("status with another portal's key: %d, want 404", r.status)
	}

	last := expires.Add(-time.Nanosecond)
	now.Store(&last)
	if r := e.status(t, oldKey, id); r.status != http.StatusOK {
		t.Fatalf("previous key just before it expires: status %d, want 200", r.status)
	}
	now.Store(&expires)
	problemOf(t, e.status(t, oldKey, id), http.StatusUnauthorized, portalapi.ProblemUnauthorized)
	if r := e.status(t, demoKey, id); r.status != http.StatusOK {
		t.Fatalf("new key after the previous one expired: status %d, want 200", r.status)
	}

	// The request log names the previous key's use, never a key.
	wantPrevious := []bool{true, false, true, false, true, false, false}
	var got []bool
	var failures int
	for _, rec := range e.logLines(t) {
		line := fmtRecord(rec)
		if strings.Contains(line, oldKey) || strings.Contains(line, demoKey) {
			t.Errorf("log record contains a key: %s", line)
		}
		switch rec["msg"] {
		case "request":
			got = append(got, rec["api_key"] == "previous")
			if v, ok := rec["api_key"]; ok && v != "previous" {
				t.Errorf("api_key = %v, want previous or absent", v)
			}
		case "authentication failed":
			failures++
			if rec["reason"] != "unknown_key" {
				t.Errorf("expired previous key logged as %s, want reason unknown_key", line)
			}
		}
	}
	if !slices.Equal(got, wantPrevious) {
		t.Errorf("request log api_key=previous per request = %v, want %v", got, wantPrevious)
	}
	if failures != 1 {
		t.Errorf("%d authentication failures logged, want 1 (the expired key)", failures)
	}
	var observed []bool
	for _, o := range seen.list() {
		observed = append(observed, o.PreviousKey)
		if o.PreviousKey && o.Portal != "demo-portal" {
			t.Errorf("outcome %+v: previous key of portal %q, want demo-portal", o, o.Portal)
		}
	}
	if !slices.Equal(observed, wantPrevious) {
		t.Errorf("RequestOutcome.PreviousKey per request = %v, want %v", observed, wantPrevious)
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1, in PEM files.
type testPKI struct {
	*testpki.CA
	dir                   string
	caFile                string
	serverCert, serverKey string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	ca := testpki.NewCA(t, "Amtsbote Test Portal CA")
	p := &testPKI{CA: ca, dir: dir, caFile: ca.WriteFile(t, dir, "ca.pem")}
	p.serverCert, p.serverKey = ca.Server(t, "amtsbote", "127.0.0.1").WriteFiles(t, dir, "server")
	return p
}

func fingerprint(c tls.Certificate) string {
	sum := sha256.Sum256(c.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	portalA := pki.Client(t, "portal-a.example").TLS
	portalB := pki.Client(t, "portal-b.example").TLS                              // same CA, another portal
	forged := testpki.NewCA(t, "Some Other CA").Client(t, "portal-a.example").TLS // right name, wrong issuer

	tlsSettings := config.ServerTLS{CertFile: pki.serverCert, KeyFile: pki.serverKey, ClientCAFile: pki.caFile}
	e := newEnv(t, func(c *envConfig) {
		c.Config.Server.TLS = tlsSettings
		c.Config.Portals[0].ClientCert = &config.ClientCert{SubjectCN: "portal-a.example"}
		c.Config.Portals[1].ClientCert = &config.ClientCert{SHA256Fingerprint: strings.ToUpper(fingerprint(portalB))}
	})
	tlsCfg, err := portalapi.TLSConfig(tlsSettings)
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	srv := httptest.NewUnstartedServer(e.handler)
	srv.TLS = tlsCfg
	srv.StartTLS()
	t.Cleanup(srv.Close)

	get := func(t *testing.T, key string, cert *tls.Certificate) (int, error) {
		t.Helper()
		c := &tls.Config{RootCAs: pki.Pool(), MinVersion: tls.VersionTLS12}
		if cert != nil { // sent even when the server names other CAs
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: c}, Timeout: 10 * time.Second}
		defer client.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/submissions/"+unknownID, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	tests := []struct {
		name string
		key  string
		cert *tls.Certificate
		want int // 0: the TLS handshake fails
	}{
		{"portal a with its certificate", demoKey, &portalA, http.StatusNotFound},
		{"portal a without a certificate", demoKey, nil, http.StatusUnauthorized},
		{"portal a with portal b's certificate", demoKey, &portalB, http.StatusUnauthorized},
		{"portal a with a certificate of another CA", demoKey, &forged, 0},
		{"portal b pinned by fingerprint", otherKey, &portalB, http.StatusNotFound},
		{"portal b with portal a's certificate", otherKey, &portalA, http.StatusUnauthorized},
		{"portal b without a certificate", otherKey, nil, http.StatusUnauthorized},
		{"a certificate without a key", "", &portalA, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := get(t, tt.key, tt.cert)
			switch {
			case tt.want == 0 && err == nil:
				t.Fatalf("status %d, want a failed TLS handshake", got)
			case tt.want != 0 && err != nil:
				t.Fatalf("request failed: %v", err)
			case got != tt.want:
				t.Fatalf("status %d, want %d", got, tt.want)
			}
		})
	}
	var failures int
	for _, rec := range e.logLines(t) {
		if rec["msg"] == "authentication failed" && rec["reason"] == "client_certificate" {
			failures++
			if rec["portal_id"] == nil {
				t.Errorf("certificate failure without portal_id: %s", fmtRecord(rec))
			}
		}
	}
	if failures != 4 {
		t.Errorf("%d client certificate failures logged, want 4", failures)
	}
}

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	if c, err := portalapi.TLSConfig(config.ServerTLS{}); c != nil || err != nil {
		t.Errorf("TLSConfig(off) = %v, %v; want nil, nil", c, err)
	}
	c, err := portalapi.TLSConfig(config.ServerTLS{CertFile: pki.serverCert, KeyFile: pki.serverKey})
	if err != nil || c.ClientAuth != tls.NoClientCert || c.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLSConfig(server only) = %+v, %v", c, err)
	}
	notPEM := filepath.Join(pki.dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("no certificate here"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]config.ServerTLS{
		"missing cert":   {CertFile: filepath.Join(pki.dir, "nope.pem"), KeyFile: pki.serverKey},
		"missing ca":     {CertFile: pki.serverCert, KeyFile: pki.serverKey, ClientCAFile: filepath.Join(pki.dir, "nope.pem")},
		"ca without pem": {CertFile: pki.serverCert, KeyFile: pki.serverKey, ClientCAFile: notPEM},
	} {
		if _, err := portalapi.TLSConfig(s); err == nil {
			t.Errorf("%s: TLSConfig succeeded, want an error", name)
		}
	}
}

// slowUpload opens a connection that POSTs a JSON body of announced bytes
// with key and sends the first sent bytes of it ('{' and spaces), then
// stalls. The caller writes the rest, or closes it.
func slowUpload(t *testing.T, e *env, key string, announced, sent int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(hostileDeadline))
	head := fmt.Sprintf("POST /v1/submissions HTTP/1.1\r\nHost: amtsbote.test\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n{", key, announced)
	if _, err := io.WriteString(c, head+strings.Repeat(" ", sent-1)); err != nil {
		t.Fatal(err)
	}
	return c
}

// finishUpload writes the rest of a slowUpload's body and returns the
// status of the answer; 0 when the server had answered and closed the
// connection before (the write or the read fail then).
func finishUpload(t *testing.T, c net.Conn, rest int) int {
	t.Helper()
	_, werr := io.WriteString(c, strings.Repeat(" ", rest-1)+"}")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		if werr != nil {
			return 0
		}
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// awaitRefusal submits {} with key until it is refused with status and
// problem type typ (with Retry-After), as it must be once the slow
// uploads' handlers hold what they take; every answer before is 422.
func awaitRefusal(t *testing.T, e *env, key string, status int, typ string) {
	t.Helper()
	// Until the slow uploads' bytes have arrived and are reserved: a bound
	// in time, not in tries, as that takes long on a loaded machine.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		r := e.submit(t, key, []byte(`{}`))
		if r.status == status {
			problemOf(t, r, status, typ)
			if r.header.Get("Retry-After") == "" {
				t.Errorf("%d without Retry-After", status)
			}
			return
		}
		problemOf(t, r, http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no request of %s was refused with %d within 30 s", key, status)
}

// TestAnnouncedBodiesReserveNothing: uploads that announce the largest body
// and send nothing hold no memory, only their upload slot: the same portal
// and the others are served meanwhile.
func TestAnnouncedBodiesReserveNothing(t *testing.T) {
	t.Parallel()
	const maxBody = 512 << 10
	e := newEnv(t, func(c *envConfig) { c.MaxBodyBytes, c.InflightWait = maxBody, 50*time.Millisecond })
	for range 16 { // four times the budget, announced
		slowUpload(t, e, demoKey, maxBody, 1)
	}
	for _, key := range []string{demoKey, otherKey} {
		for range 5 {
			problemOf(t, e.submit(t, key, []byte(`{}`)), http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
		}
	}
}

// TestBodiesInMemoryAreShared: bodies that have arrived hold memory. One
// portal's bodies hold at most its share (here three of the four bodies of
// the budget): its next request gets 429, while another portal is served.
// When the other portal's body takes the rest, the budget is exhausted:
// the next request gets 503. Once the uploads are done, requests are
// served again.
func TestBodiesInMemoryAreShared(t *testing.T) {
	t.Parallel()
	const maxBody = 512 << 10
	e := newEnv(t, func(c *envConfig) {
		c.MaxBodyBytes, c.InflightWait, c.PortalInflightBodyBytes = maxBody, 50*time.Millisecond, 3*maxBody
		c.BodyBufferBytes = maxBody // all in memory, none spooled
	})
	// All but the last byte: the body is in memory. Three fill the share
	// exactly. (More would compete for it step by step and might all be
	// refused, each holding a part when the share runs out.)
	var demo []net.Conn
	for range 3 {
		demo = append(demo, slowUpload(t, e, demoKey, maxBody, maxBody-1))
	}
	awaitRefusal(t, e, demoKey, http.StatusTooManyRequests, portalapi.ProblemTooManyRequests)
	problemOf(t, e.submit(t, otherKey, []byte(`{}`)), http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)

	other := slowUpload(t, e, otherKey, maxBody, maxBody-1)
	awaitRefusal(t, e, otherKey, http.StatusServiceUnavailable, portalapi.ProblemUnavailable)

	for _, c := range append(demo, other) {
		if st := finishUpload(t, c, 1); st != http.StatusUnprocessableEntity {
			t.Errorf("slow upload answered %d, want 422", st)
		}
	}
	// The budget is back.
	for _, key := range []string{demoKey, otherKey} {
		problemOf(t, e.submit(t, key, []byte(`{}`)), http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
	}
}

// TestLargeBodiesSpool: beyond the in-memory buffer, a body that arrives
// is spooled: slow bodies that have nearly all arrived hold one step of
// memory each, not their size, so requests are served meanwhile; once
// complete, each is read back and answered as usual. The spool file is
// unlinked from the start.
func TestLargeBodiesSpool(t *testing.T) {
	t.Parallel()
	const maxBody = 512 << 10
	spoolDir := t.TempDir()
	e := newEnv(t, func(c *envConfig) {
		// A long wait: while a body is still in its in-memory part, it holds
		// more than the step it holds once spooled.
		c.MaxBodyBytes, c.InflightWait, c.BodyBufferBytes, c.SpoolDir = maxBody, 5*time.Second, 128<<10, spoolDir
	})
	var slow []net.Conn
	for range 8 { // twice the budget, arrived but for the last byte
		slow = append(slow, slowUpload(t, e, demoKey, maxBody, maxBody-1))
	}
	for range 20 {
		problemOf(t, e.submit(t, demoKey, []byte(`{}`)), http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
	}
	if entries, err := os.ReadDir(spoolDir); err != nil || len(entries) != 0 {
		t.Errorf("spool directory holds %d entries (%v), want none: spool files are unlinked", len(entries), err)
	}
	for _, c := range slow {
		if st := finishUpload(t, c, 1); st != http.StatusUnprocessableEntity {
			t.Errorf("spooled upload answered %d, want 422 (it was read back whole)", st)
		}
	}
	// A valid submission larger than the buffer is stored as sent.
	body := append(readDemo(t), bytes.Repeat([]byte(" \n"), 100<<10)...)
	id := accepted(t, e.submit(t, demoKey, body))
	if sub, _, err := e.store.Submission(context.Background(), id); err != nil || !bytes.Equal(sub.Payload, body) {
		t.Errorf("stored payload of the spooled submission differs (%v)", err)
	}
}

// TestUploadSlotsPerPortal: a portal with all its upload slots taken by
// stalled bodies gets 429 with Retry-After; another portal is served.
func TestUploadSlotsPerPortal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *envConfig) { c.PortalMaxUploads, c.InflightWait = 3, 50*time.Millisecond })
	for range 3 {
		slowUpload(t, e, demoKey, 1000, 1)
	}
	awaitRefusal(t, e, demoKey, http.StatusTooManyRequests, portalapi.ProblemTooManyRequests)
	problemOf(t, e.submit(t, otherKey, []byte(`{}`)), http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
}

// TestSlowBodiesAreCut: a body that stalls, or trickles in below the
// minimum rate, is answered 408 and its connection closed once the grace
// period is over; a body at a good rate is not cut.
func TestSlowBodiesAreCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *envConfig) {
		c.MinBodyRate, c.BodyRateGrace, c.UploadIdleTimeout = 1000, 300*time.Millisecond, time.Minute
	})
	read408 := func(t *testing.T, c net.Conn) {
		t.Helper()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Fatalf("answered %d (close %v), want 408 and the connection closed", resp.StatusCode, resp.Close)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("Content-Type %q", ct)
		}
	}
	t.Run("stalled", func(t *testing.T) {
		t.Parallel()
		read408(t, slowUpload(t, e, demoKey, 10000, 1))
	})
	t.Run("one byte per 50ms, chunked", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(hostileDeadline))
		head := "POST /v1/submissions HTTP/1.1\r\nHost: amtsbote.test\r\nAuthorization: Bearer " + demoKey +
			"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 200 { // 10 s at most; cut after about 0.3 s
				if _, err := io.WriteString(c, "1\r\n \r\n"); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		read408(t, c)
		c.Close()
		<-done
	})
	t.Run("at a good rate", func(t *testing.T) {
		t.Parallel()
		body := []byte(`{}`)
		r := e.submit(t, demoKey, body)
		problemOf(t, r, http.StatusUnprocessableEntity, portalapi.ProblemValidationFailed)
	})
}
