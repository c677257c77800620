package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/amtsbote/amtsbote/adapters/fitconnect"
	"github.com/amtsbote/amtsbote/adapters/fitconnect/fitconnecttest"
)

// The FIT-Connect mode's fake Zustellpunkt and credentials.
const (
	fcDestination = "879ee109-a690-4db8-ab32-424284184d7d"
	fcLeika       = "urn:de:fim:leika:leistung:99115004001000"
	fcClient      = "bench-subscriber"
	fcSecret      = "bench-client-secret-0123456789"
	fcCallback    = "bench-callback-secret-0123456789abcdef"
)

// fitconnectExtra is the fitconnect block of the gateway's configuration:
// one subscriber for the benchmark's procedure, polling only when woken
// (the clock starts with the callback).
const fitconnectExtra = `fitconnect:
  callback_listen: %[3]s
  subscribers:
    - id: bench
      tenant: musterstadt
      destination_id: ` + fcDestination + `
      submission_api: %[1]s
      token_url: %[1]s/token
      client_id: ` + fcClient + `
      client_secret: ` + fcSecret + `
      decryption_key: {file: %[2]s/decryption.jwk}
      signing_key: {file: %[2]s/signing.jwk}
      callback_secret: ` + fcCallback + `
      poll_interval: 1h
      retry:
        initial_interval: 200ms
        max_interval: 2s
      services:
        - leika: ` + fcLeika + `
          procedure: meldewesen.wohnungsgeberbestaetigung
`

// fitconnectRun measures the portal API's intake (-n submissions, -c
// clients) and then FIT-Connect pickups on the same gateway: -n
// submissions waiting at a local fake Zustelldienst (fitconnecttest) are
// fetched, decrypted, checked, stored with their deliveries and accepted
// in the event log; pickups/s is -n over the time from the NewSubmissions
// callback to the last accept event.
func fitconnectRun(ctx context.Context, o options, store, dir string, body []byte, log io.Writer) (report, error) {
	title := fmt.Sprintf("FIT-Connect pickups next to the portal API, %s, %d submissions each, portal %d clients", store, o.n, o.c)
	r := report{Title: title, Runs: 1}
	fachdaten, err := fitconnectFachdaten(body)
	if err != nil {
		return r, err
	}
	fmt.Fprintf(log, "%s: keys and fake Zustelldienst ...\n", title)
	fake, err := fitconnecttest.New()
	if err != nil {
		return r, err
	}
	keys, err := fitconnecttest.SharedKeys("bench")
	if err != nil {
		return r, err
	}
	fake.AddClient(fcClient, fcSecret)
	fake.AddDestination(fitconnecttest.Destination{ID: fcDestination, EncryptionKey: keys.Encryption,
		SigningKeys: []fitconnect.Key{keys.Signing}, Services: []string{fcLeika}})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for name, k := range map[string]fitconnect.Key{"decryption.jwk": keys.Encryption, "signing.jwk": keys.Signing} {
		if err := os.WriteFile(filepath.Join(dir, name), fitconnecttest.JSON(k), 0o600); err != nil {
			return r, err
		}
	}
	cbAddr, err := freeAddr()
	if err != nil {
		return r, err
	}
	s, err := newSetupExtra(ctx, o, store, dir, time.Minute, fmt.Sprintf(fitconnectExtra, srv.URL, dir, cbAddr))
	if err != nil {
		return r, err
	}
	defer s.cleanup()
	r.add("load average (1 min) at start", "", loadAverage())

	// The portal API, as the default mode measures it.
	fmt.Fprintf(log, "%s: portal API ...\n", title)
	p := newPortal(func() string { return "http://" + s.gw.addr + "/v1/submissions" }, portalKey, body, o.c)
	start := time.Now()
	samples := closedLoop(ctx, p, "portal", o.n, o.c)
	portalEnd := time.Now()
	ids, failed := acceptedIDs(samples)
	r.add("portal API: accepted (202)", "", float64(len(ids)))
	r.add("portal API: failed", "", float64(failed))
	r.add("portal API: accepted/s", "1/s", float64(len(ids))/portalEnd.Sub(start).Seconds())
	if missing := s.recv.waitFor(ids, 2*time.Minute); missing > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("portal API: %d not delivered within 2 min", missing))
	}
	s.recv.reset()

	// FIT-Connect: the submissions wait at the Zustelldienst, a callback
	// wakes the subscriber.
	fmt.Fprintf(log, "%s: %d submissions to the fake Zustelldienst ...\n", title, o.n)
	sent := make([]fitconnecttest.Sent, 0, o.n)
	for range o.n {
		sn, err := fake.Send(fitconnecttest.SendRequest{DestinationID: fcDestination, Service: fitconnect.ServiceType{Identifier: fcLeika}, Data: fachdaten})
		if err != nil {
			return r, err
		}
		sent = append(sent, sn)
	}
	fmt.Fprintf(log, "%s: pickups ...\n", title)
	cb, _ := json.Marshal(fitconnect.CallbackBody{Type: fitconnect.CallbackNewSubmissions})
	start = time.Now()
	if err := fitconnecttest.SendCallback(&http.Client{Timeout: 10 * time.Second}, "http://"+cbAddr+"/fitconnect/callbacks/bench", fcCallback, cb, start); err != nil {
		return r, fmt.Errorf("callback: %w", err)
	}
	deadline := start.Add(2 * time.Minute)
	var accepted, rejected int
	for {
		accepted, rejected = 0, 0
		for _, sn := range sent {
			switch fake.State(sn.SubmissionID) {
			case fitconnecttest.StateAccepted:
				accepted++
			case fitconnecttest.StateRejected:
				rejected++
			}
		}
		if accepted+rejected == len(sent) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	total, distinct, _ := s.recv.counts()
	r.add("FIT-Connect: submissions", "", float64(len(sent)))
	r.add("FIT-Connect: accepted", "", float64(accepted))
	r.add("FIT-Connect: rejected", "", float64(rejected))
	r.add("FIT-Connect: not decided within 2 min", "", float64(len(sent)-accepted-rejected))
	r.add("FIT-Connect: pickups/s (to the accept event)", "1/s", float64(accepted)/elapsed.Seconds())
	r.add("FIT-Connect: deliveries", "", float64(distinct))
	r.add("FIT-Connect: duplicate deliveries", "", float64(total-distinct))
	rss, err := s.gw.peakRSS()
	if err == nil {
		r.add("gateway peak RSS", "MiB", float64(rss)/(1<<20))
	}
	if err := s.gw.close(); err != nil {
		return r, err
	}
	return r, nil
}

// fitconnectFachdaten are the Fachdaten of a portal submission: its JSON
// without tenant, procedure and attachments.
func fitconnectFachdaten(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("submission JSON: %w", err)
	}
	for _, k := range []string{"tenant", "procedure", "attachments"} {
		delete(m, k)
	}
	if len(m) == 0 || strings.TrimSpace(string(m["data"])) == "" {
		return nil, fmt.Errorf("submission JSON: no data")
	}
	return json.Marshal(m)
}
