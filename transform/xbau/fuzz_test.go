package xbau_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// FuzzBaugenehmigung feeds bytes as the JSON payload through Validate and
// Map and checks what every mapper promises of any submission
// (mappertest.Suite.Check): neither panics, Map succeeds exactly for a valid
// payload, and its output is well-formed XML. The seeds in
// testdata/fuzz/FuzzBaugenehmigung are the payloads of the example requests.
func FuzzBaugenehmigung(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"applicant":{"familienname":"Köhler","anschrift":{"postleitzahl":"12345","ort":"X"}},"data":{}}`))
	f.Add([]byte(`{"applicant":null,"data":[],"identity":{"method":"eid"}}`))
	f.Add([]byte(`{"data":{"bauvorhaben":{"anzahlGebaeude":1,"klassifikation":{"gebaeudeklasse":"4","hoeheNachMBO":1e100000000000},"nutzungseinheiten":[{"flaeche":-1e-9}]}}}`))
	check := suite(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var body struct {
			Applicant map[string]any  `json:"applicant"`
			Data      map[string]any  `json:"data"`
			Identity  json.RawMessage `json:"identity"`
		}
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		if dec.Decode(&body) != nil {
			return // not a JSON object with object members: the intake rejects it
		}
		s := transform.Submission{ID: mappertest.SubmissionID, Applicant: body.Applicant, Data: body.Data, ReceivedAt: mappertest.ReceivedAt()}
		if len(body.Identity) > 0 && string(body.Identity) != "null" {
			var id transform.Identity
			if json.Unmarshal(body.Identity, &id) != nil {
				return
			}
			s.Identity = &id
		}
		check.Check(t, fullInput(s))
	})
}
