package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform/xgewerbe"
	"github.com/amtsbote/amtsbote/transform/xmeld"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
	"github.com/amtsbote/amtsbote/transform/xschule"
)

// TestEveryExampleIsDeliveredValid posts every example request in
// testdata/submissions to a server on the demo configuration and validates what
// arrives: each procedure's XÖV message against its schema, and the E-Akte's
// xdomea container (message and primary document) against the official xdomea
// schema and the procedure's schema.
func TestEveryExampleIsDeliveredValid(t *testing.T) {
	t.Parallel()
	schemas := map[string]string{
		"bau.baugenehmigung":                   xoevtest.Schema(t, "xbau-2.6/xsd_dev/xbau-nachrichten-baugenehmigung.xsd"),
		"meldewesen.wohnungsgeberbestaetigung": xoevtest.LocalSchema(t, "wohnungsgeberbestaetigung.xsd", xmeld.Schema),
		"gewerbe.anmeldung":                    xoevtest.LocalSchema(t, "gewerbemeldung.xsd", xgewerbe.Schema),
		"schule.schueleranmeldung":             xoevtest.LocalSchema(t, "xschule-anmeldung.xsd", xschule.Schema),
	}
	xdomeaXSD := xoevtest.Schema(t, "xdomea-3.0.0/schemes/xdomea_3.0.0/xdomea.xsd")

	dir := t.TempDir()
	p := start(t, dir, []string{"AMTSBOTE_DEMO_PORTAL_KEY=demo-key"})
	examples, err := filepath.Glob("../testdata/submissions/*.json")
	if err != nil || len(examples) < 10 {
		t.Fatalf("examples: %v (%d found)", err, len(examples))
	}
	for _, path := range examples {
		t.Run(filepath.Base(path), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var req struct {
				Procedure   string
				Attachments []attachment
			}
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatal(err)
			}
			xsd, ok := schemas[req.Procedure]
			if !ok {
				t.Fatalf("no schema for procedure %q", req.Procedure)
			}
			id := p.accept(t, "demo-key", "", body)
			st := p.awaitStatus(t, "demo-key", id, "delivered", 10*time.Second)
			for _, d := range st["destinations"].([]any) {
				d := d.(map[string]any)
				msgID := d["message_id"].(string)
				switch d["destination"] {
				case "fachverfahren":
					base := filepath.Join(dir, "amtsbote-data", "drop", "musterstadt", req.Procedure, msgID)
					if len(req.Attachments) == 0 {
						xoevtest.Validate(t, xsd, readFile(t, base+".xml"))
						break
					}
					// With attachments: a ZIP of the message and the files beside it.
					files := unzip(t, readFile(t, base+".zip"))
					xoevtest.Validate(t, xsd, files[msgID+".xml"])
					for _, a := range req.Attachments {
						got, ok := files["anlagen/"+a.ID+"/"+a.Filename]
						if !ok || base64.StdEncoding.EncodeToString(got) != a.Content {
							t.Errorf("ZIP lacks attachment %s/%s with its bytes: %v", a.ID, a.Filename, keys(files))
						}
					}
					if len(files) != 1+len(req.Attachments) {
						t.Errorf("ZIP holds %v", keys(files))
					}
				case "eakte":
					container := readFile(t, filepath.Join(dir, "amtsbote-data", "eakte", "musterstadt", req.Procedure, msgID+xdomeaZIP))
					files := unzip(t, container)
					var sawMessage, sawPrimary bool
					for name, content := range files {
						switch {
						case strings.HasSuffix(name, "_FVDaten.SGOAblegen.0605.xml"):
							xoevtest.Validate(t, xdomeaXSD, content)
							sawMessage = true
						case name == msgID+".xml":
							xoevtest.Validate(t, xsd, content)
							sawPrimary = true
						case attachmentFile(name, req.Attachments):
						default:
							t.Errorf("unexpected file %s in the xdomea container", name)
						}
					}
					if len(files) != 2+len(req.Attachments) {
						t.Errorf("xdomea container holds %v", keys(files))
					}
					if !sawMessage || !sawPrimary {
						t.Errorf("xdomea container lacks the message or the primary document: %v", keys(files))
					}
				default:
					t.Errorf("unexpected destination %v", d["destination"])
				}
			}

			// The same request with a member its schema does not know: 422 at that member.
			var raw map[string]any
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			raw["data"].(map[string]any)["unbekanntesFeld"] = "x"
			bad, _ := json.Marshal(raw)
			code, resp := p.post(t, "demo-key", "", bad)
			if code != http.StatusUnprocessableEntity || !strings.Contains(toJSON(resp), `"/data/unbekanntesFeld"`) {
				t.Fatalf("unknown member: %d %v", code, resp)
			}
		})
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d", code)
	}
}

// attachment is an attachment of an example request.
type attachment struct {
	ID       string `json:"id"`
	Filename string `json:"filename"`
	Content  string `json:"content"`
}

// attachmentFile reports whether name is how xdomea files one of atts: "<id>_<filename>".
func attachmentFile(name string, atts []attachment) bool {
	for _, a := range atts {
		if name == a.ID+"_"+a.Filename {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		content, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = content
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
