package config

import (
	"strings"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xdomea"
)

// TestXDomeaTextsAsBuildChecksThem: every xdomea text and name that
// Validate accepts, xdomea.Build accepts for a submission, and every one it
// refuses for its characters, Build would refuse too: a configuration that
// passes check-config must not fail every submission of its route (the
// former HTTP 500 of "Bauanträge … {jahr}").
func TestXDomeaTextsAsBuildChecksThem(t *testing.T) {
	t.Parallel()
	inner := transform.Document{XML: []byte(`<?xml version="1.0" encoding="UTF-8"?><a/>`), MessageType: "x.y.0001"}
	in := transform.Input{
		MessageID: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
		CreatedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
		Author:    transform.Party{ID: "musterstadt", Name: "Stadt Musterstadt", Kennung: "psw:09162000"},
		Reader:    transform.Party{ID: "eakte", Name: "Stadt Musterstadt", Kennung: "psw:09162000"},
		Submission: transform.Submission{
			ID: "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a", Tenant: "musterstadt", Procedure: "bau.baugenehmigung",
			ReceivedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
		},
	}
	for _, text := range []string{
		"Bauanträge {jahr}", "Bauanträge … {jahr}", "Bauanträge → {jahr}", "Bauanträge 🏠", "Bauanträge € {jahr}",
		"Ŀuŀ Łódź Çağrı", "A\u0308 decomposed", "Straße · Weg", "Aktenplan §§ 1–3",
	} {
		for _, field := range []string{"creator", "container", "akte.betreff", "akte.aktenzeichen", "akte.typ", "ablageort", "procedure name", "tenant name"} {
			t.Run(field+"/"+text, func(t *testing.T) {
				t.Parallel()
				cfg := validConfig()
				d := &cfg.Tenants[0].Procedures[0].Destinations[0]
				d.Format = FormatXDOMEA
				d.XDomea = &XDomea{Creator: "amtsbote", Akte: &XDomeaAkte{}}
				meta := xdomea.Metadata{ProcedureName: "Wohnungsgeberbestätigung", TenantName: "Stadt Musterstadt", Creator: "amtsbote"}
				ablageort := "/srv/import/" + text
				switch field {
				case "creator":
					d.XDomea.Creator, meta.Creator = text, text
				case "container":
					d.XDomea.Container, meta.Container = text, text
				case "akte.betreff":
					d.XDomea.Akte.Betreff, meta.Akte.Betreff = text, text
				case "akte.aktenzeichen":
					d.XDomea.Akte.Aktenzeichen, meta.Akte.Aktenzeichen = text, text
				case "akte.typ":
					d.XDomea.Akte.Typ, meta.Akte.Typ = text, text
				case "ablageort":
					d.XDomea.Ablageort, meta.Ablageort = ablageort, ablageort
				case "procedure name":
					cfg.Procedures[0].Name, meta.ProcedureName = text, text
				case "tenant name":
					cfg.Tenants[0].Name, meta.TenantName = text, text
				}
				err := cfg.Validate()
				_, buildErr := xdomea.Build(in, inner, meta)
				if (err == nil) != (buildErr == nil) {
					t.Fatalf("Validate() = %v\nbut Build() = %v", err, buildErr)
				}
				if err != nil && !strings.Contains(err.Error(), "DIN SPEC 91379") {
					t.Errorf("Validate() = %v, want the DIN SPEC 91379 rule named", err)
				}
			})
		}
	}
}

// TestWarnings: an xdomea file drop without ablageort gets a warning at the
// ablageort's path; with one, or in format xoev, none.
func TestWarnings(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	if w := cfg.Warnings(); len(w) != 0 {
		t.Fatalf("Warnings() = %v, want none", w)
	}
	ds := cfg.Tenants[0].Procedures[1].Destinations
	ds[0].Format, ds[0].XDomea = FormatXDOMEA, &XDomea{Creator: "amtsbote"}
	ds[1].Format, ds[1].XDomea = FormatXDOMEA, &XDomea{Creator: "amtsbote", Ablageort: `\\dms01\import`}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w := cfg.Warnings()
	if len(w) != 1 || w[0].Path != "tenants[0].procedures[1].destinations[0].xdomea.ablageort" ||
		!strings.Contains(w[0].Message, "/srv/drop/bau/musterstadt/bau.baugenehmigung") {
		t.Errorf("Warnings() = %v, want one for destinations[0] naming its directory", w)
	}
}
