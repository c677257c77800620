package xoevtest

import (
	"os"
	"testing"
)

// The official minimal samples are valid and a tampered one is not: the helper
// really validates.
func TestOfficialSamples(t *testing.T) {
	cases := []struct{ xsd, sample string }{
		{"xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd", "xbau-2.6/sample-minimal.xml"},
		{"xdomea-3.0.0/schemes/xdomea_3.0.0/xdomea.xsd", "xdomea-3.0.0/sample-minimal.xml"},
	}
	for _, c := range cases {
		t.Run(c.sample, func(t *testing.T) {
			doc, err := os.ReadFile(Schema(t, c.sample))
			if err != nil {
				t.Fatal(err)
			}
			Validate(t, Schema(t, c.xsd), doc)
			broken := append([]byte{}, doc...)
			broken = append(broken[:len(broken)-1], []byte("<extra/>")...)
			if err := Check(t, Schema(t, c.xsd), broken); err == nil {
				t.Fatal("a broken document passed validation")
			}
		})
	}
}
