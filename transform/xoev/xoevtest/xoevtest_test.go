package xoevtest

import (
	"os"
	"path/filepath"
	"slices"
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

// An own XSD that imports the XÖV library by file name validates where it
// stands, and CheckFiles tells valid from invalid files in one run.
func TestInPlaceAndCheckFiles(t *testing.T) {
	t.Parallel()
	xsd := InPlace(t, "transform/xmeld/wohnungsgeberbestaetigung.xsd")
	golden, err := filepath.Glob(filepath.Join("..", "..", "xmeld", "testdata", "*.golden.xml"))
	if err != nil || len(golden) == 0 {
		t.Fatalf("golden files: %v (%d)", err, len(golden))
	}
	broken := filepath.Join(t.TempDir(), "broken.xml")
	doc, err := os.ReadFile(golden[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, append(doc[:len(doc)-1], []byte("<extra/>")...), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := CheckFiles(t, xsd, append(slices.Clone(golden), broken))
	if len(bad) != 1 || bad[broken] == "" {
		t.Errorf("CheckFiles = %v, want exactly %s invalid", bad, broken)
	}
	if err := Check(t, xsd, doc); err != nil {
		t.Errorf("Check: %v", err)
	}
}
