package xbau_test

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/amtsbote/amtsbote/transform/xbau"
	"github.com/amtsbote/amtsbote/transform/xoev/xoevtest"
)

// TestCodeListsMatchXSD confirms the code list data files against the
// official XBau 2.6 schema: for a list XBau fixes, the Code type's fixed
// listURI and listVersionID and the enumeration of its code values equal
// the data file; for a list of type 3, the Code type's documentation names
// the list's URI (and the listURI where the type fixes it).
func TestCodeListsMatchXSD(t *testing.T) {
	t.Parallel()
	doc := etree.NewDocument()
	if err := doc.ReadFromFile(filepath.Join(xoevtest.SchemaDir(t), "xbau-2.6", "xsd_dev", "xbau-codes.xsd")); err != nil {
		t.Fatal(err)
	}
	complexTypes, simpleTypes := map[string]*etree.Element{}, map[string]*etree.Element{}
	for _, e := range doc.Root().ChildElements() {
		switch e.Tag {
		case "complexType":
			complexTypes[e.SelectAttrValue("name", "")] = e
		case "simpleType":
			simpleTypes[e.SelectAttrValue("name", "")] = e
		}
	}
	tests := []struct {
		file     string // data file in codelists/
		codeType string // xbau:Code.* of the element
		fixed    bool   // XBau fixes listURI, listVersionID and the values
	}{
		{"baumassnahmeart_2.0.txt", "Code.BaumassnahmeArt", true},
		{"bauherrodereigentuemerart_2.0.txt", "Code.BauherrOderEigentuemerArt", true},
		{"gebaeudeklasse_3.0.txt", "Code.Gebaeudeklasse", true},
		{"mbogaragentyp_2.0.txt", "Code.Garagentyp", true},
		{"wohngebaeudeart_2.0.txt", "Code.WohngebaeudeArt", true},
		{"nichtwohngebaeudeart_3.0.txt", "Code.NichtwohngebaeudeArt", true},
		{"kammer_2.0.txt", "Code.Kammer", true},
		{"anlagen_3.0.txt", "Code.AnlageArt", false},
		{"bauvorlageberechtigungsachverhalt_1.0.txt", "Code.BauvorlageberechtigungSachverhalt", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			uri, version, codes, err := xbau.ParseCodeList(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			ct := complexTypes[tt.codeType]
			if ct == nil {
				t.Fatalf("no complexType %s in xbau-codes.xsd", tt.codeType)
			}
			fixed := map[string]string{}
			for _, a := range ct.FindElements(".//attribute") {
				fixed[a.SelectAttrValue("name", "")] = a.SelectAttrValue("fixed", "")
			}
			if f := fixed["listURI"]; f != "" && f != uri {
				t.Errorf("listURI %q, the XSD fixes %q", uri, f)
			}
			if !tt.fixed {
				if doc := ct.FindElement(".//documentation"); doc == nil || !strings.Contains(doc.Text(), uri) {
					t.Errorf("the documentation of %s does not name %s", tt.codeType, uri)
				}
				return
			}
			if fixed["listVersionID"] != version {
				t.Errorf("listVersionID %q, the XSD fixes %q", version, fixed["listVersionID"])
			}
			code := ct.FindElement(".//element[@name='code']")
			st := simpleTypes[strings.TrimPrefix(code.SelectAttrValue("type", ""), "xbau:")]
			if st == nil {
				t.Fatalf("no enumeration for %s", tt.codeType)
			}
			var want []string
			for _, e := range st.FindElements(".//enumeration") {
				want = append(want, e.SelectAttrValue("value", ""))
			}
			if got := slices.Sorted(maps.Keys(codes)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("codes %v, the XSD enumerates %v", got, want)
			}
		})
	}
}

// TestAnlageArtCodes checks the shape of the Anlagearten list: four digits,
// and the main categories (whole hundreds) that the codes of the examples
// belong to are present.
func TestAnlageArtCodes(t *testing.T) {
	t.Parallel()
	_, _, codes, err := xbau.ParseCodeList("anlagen_3.0.txt")
	if err != nil {
		t.Fatal(err)
	}
	four := regexp.MustCompile(`^[0-9]{4}$`)
	for c := range codes {
		if !four.MatchString(c) {
			t.Errorf("code %q is not four digits", c)
		}
	}
	for _, c := range []string{"0400", "1500", "1800", "1900", "2000", "2800", "9999"} {
		if codes[c] == "" {
			t.Errorf("main category %s missing", c)
		}
	}
	if len(codes) < 250 {
		t.Errorf("%d codes: the list 3.0 has more than 250", len(codes))
	}
}

// TestSchemaEnumsMatchCodeLists checks that the enums of the payload schema
// for codes equal their code lists, so that a portal reading the schema
// offers exactly the values Validate accepts.
func TestSchemaEnumsMatchCodeLists(t *testing.T) {
	t.Parallel()
	var schema struct {
		Properties struct {
			Data struct {
				Properties struct {
					ArtDesBauherrn struct{ Enum []string } `json:"artDesBauherrn"`
					Bauvorhaben    struct {
						Properties struct {
							ArtDerMassnahme struct{ Items struct{ Enum []string } } `json:"artDerMassnahme"`
						}
					} `json:"bauvorhaben"`
				}
			}
		}
	}
	if err := json.Unmarshal(xbau.PayloadSchema, &schema); err != nil {
		t.Fatal(err)
	}
	d := schema.Properties.Data.Properties
	for _, c := range []struct {
		list string
		enum []string
	}{
		{"bauherrodereigentuemerart", d.ArtDesBauherrn.Enum},
		{"baumassnahmeart", d.Bauvorhaben.Properties.ArtDerMassnahme.Items.Enum},
	} {
		if want := xbau.CodeLists[c.list]; !slices.Equal(slices.Sorted(slices.Values(c.enum)), slices.Sorted(slices.Values(want))) {
			t.Errorf("%s: schema enum %v, code list %v", c.list, c.enum, want)
		}
	}
}
