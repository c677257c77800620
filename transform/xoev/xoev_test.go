package xoev_test

import (
	"errors"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
)

func TestIsUUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		want bool
	}{
		{"5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6", true},
		{"5F2C8E1A-93B7-4D06-8E4F-A1B2C3D4E5F6", true},
		{"", false},
		{"5f2c8e1a93b74d068e4fa1b2c3d4e5f6", false},
		{"5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f", false},
		{"5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5fg", false},
		{"5f2c8e1a_93b7-4d06-8e4f-a1b2c3d4e5f6", false},
		{"{5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f}", false},
	}
	for _, tt := range tests {
		if got := xoev.IsUUID(tt.s); got != tt.want {
			t.Errorf("IsUUID(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	in := time.Date(2026, 11, 29, 0, 59, 58, 999999999, time.FixedZone("CET", 3600))
	if got, want := xoev.Timestamp(in), "2026-11-28T23:59:58Z"; got != want {
		t.Errorf("Timestamp = %q, want %q", got, want)
	}
}

func validInput() transform.Input {
	return transform.Input{
		Submission: transform.Submission{
			ID: "0b0f1c6e-7d4a-4f5e-9a51-3c2d1e0f9a8b", Tenant: "t", Procedure: "p",
			ReceivedAt: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC),
		},
		MessageID: "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6",
		CreatedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
	}
}

func messages(errs []error) string {
	return errors.Join(errs...).Error()
}

func TestCheckInput(t *testing.T) {
	t.Parallel()
	if errs := xoev.CheckInput(validInput()); errs != nil {
		t.Errorf("CheckInput of a complete input = %v", errs)
	}
	if errs := xoev.CheckVorgangInput(validInput()); errs != nil {
		t.Errorf("CheckVorgangInput of a complete input = %v", errs)
	}
	all := "message id is not a UUID\nsubmission id is not a UUID\ncreation time is zero\nreceipt time is zero"
	if got := messages(xoev.CheckInput(transform.Input{})); got != all {
		t.Errorf("CheckInput(empty) = %q, want %q", got, all)
	}
	allVorgang := "message id is not a UUID\nsubmission id is not a UUID\ntenant is empty\nprocedure is empty\ncreation time is zero\nreceipt time is zero"
	if got := messages(xoev.CheckVorgangInput(transform.Input{})); got != allVorgang {
		t.Errorf("CheckVorgangInput(empty) = %q, want %q", got, allVorgang)
	}
}

func TestCheckBehoerdenkennungen(t *testing.T) {
	t.Parallel()
	in := validInput()
	in.Author.Kennung, in.Reader.Kennung = "psw:0123", ""
	if errs := xoev.CheckBehoerdenkennungen(in); errs != nil {
		t.Errorf("valid or empty Kennungen: %v", errs)
	}
	for _, k := range []string{"0123", ":0123", "psw:"} {
		in.Author.Kennung, in.Reader.Kennung = k, k
		want := "author kennung is not of the form praefix:kennung\nreader kennung is not of the form praefix:kennung"
		if got := messages(xoev.CheckBehoerdenkennungen(in)); got != want {
			t.Errorf("Kennung %q: %q, want %q", k, got, want)
		}
	}
}

// The helpers write text in NFC, codes as given, and leave out what is empty.
func TestElements(t *testing.T) {
	t.Parallel()
	doc := xoev.NewDocument()
	root := doc.CreateElement("x:root")
	xoev.ProductAttrs(root, transform.Product{Name: "Ame\u0301lie", Version: ""})
	xoev.Text(root, "x:text", "Mu\u0308ller & <Söhne>")
	xoev.Text(root, "x:empty", "")
	xoev.OptionalText(root, "x:absent", "")
	xoev.OptionalText(root, "x:present", "ja")
	xoev.Code(root, "x:code", xoev.CodeList{URI: "urn:list", Version: "1.0"}, "0200")
	xoev.Code(root, "x:fixed", xoev.CodeList{}, "e\u0301")
	xoev.IdentifikationNachricht(root, "x:", "5F2C8E1A-93B7-4D06-8E4F-A1B2C3D4E5F6", xoev.CodeList{URI: "urn:n", Version: "2"}, "0001",
		time.Date(2026, 11, 28, 11, 0, 0, 0, time.FixedZone("CET", 3600)))
	out, err := xoev.WriteBytes(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<x:root produkt="Amélie">
  <x:text>Müller &amp; &lt;Söhne&gt;</x:text>
  <x:empty/>
  <x:present>ja</x:present>
  <x:code listURI="urn:list" listVersionID="1.0">
    <code>0200</code>
  </x:code>
  <x:fixed>
    <code>e` + "\u0301" + `</code>
  </x:fixed>
  <x:identifikation.nachricht>
    <x:nachrichtenUUID>5F2C8E1A-93B7-4D06-8E4F-A1B2C3D4E5F6</x:nachrichtenUUID>
    <x:nachrichtentyp listURI="urn:n" listVersionID="2">
      <code>0001</code>
    </x:nachrichtentyp>
    <x:erstellungszeitpunkt>2026-11-28T10:00:00Z</x:erstellungszeitpunkt>
  </x:identifikation.nachricht>
</x:root>
`
	if string(out) != want {
		t.Errorf("document:\n%s\nwant:\n%s", out, want)
	}
}
