package xbau

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"path"
	"strings"

	"github.com/amtsbote/amtsbote/transform/xoev"
)

// Code lists of baugenehmigung.antrag.0200, as the listURI and listVersionID
// attributes of their code elements carry them. XBau fixes both values for its
// own lists (the schema rejects any other value); for the lists of type 3
// (listVersionID required, not fixed) the values here are documented
// defaults, see the package documentation.
var (
	listNachrichten       = xoev.CodeList{URI: "urn:xoev-de:xbau:codeliste:xbau-nachrichten", Version: "4.0"}                              // fixed by XBau 2.6
	listVerzeichnisdienst = xoev.CodeList{URI: "urn:xoev-de:kosit:codeliste:verzeichnisdienst", Version: "2"}                              // version: default
	listBundesland        = xoev.CodeList{URI: "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:bundesland", Version: "2010-04-01"} // version: default
	listMimeType          = xoev.CodeList{URI: "urn:xoev-de:xbau:codeliste:xbau-mimetypes", Version: "1.0"}                                // version: default
	listErreichbarkeit    = xoev.CodeList{URI: "urn:de:xoev:codeliste:erreichbarkeit", Version: "3"}                                       // version: default
)

// The code lists whose values Validate checks, loaded once from the data
// files in codelists/ (each names its source and version in its header).
var (
	// fixed by XBau 2.6 (values: the enumeration of xbau-codes.xsd); the
	// payload schema has the first two as enums too
	codesBaumassnahmeArt      = mustCodeList("baumassnahmeart_2.0.txt")
	codesBauherrArt           = mustCodeList("bauherrodereigentuemerart_2.0.txt")
	codesGebaeudeklasse       = mustCodeList("gebaeudeklasse_3.0.txt")
	codesGaragentyp           = mustCodeList("mbogaragentyp_2.0.txt")
	codesWohngebaeudeArt      = mustCodeList("wohngebaeudeart_2.0.txt")
	codesNichtwohngebaeudeArt = mustCodeList("nichtwohngebaeudeart_3.0.txt")
	codesKammer               = mustCodeList("kammer_2.0.txt")
	// type 3 (version chosen here; values: the list's genericode in XRepository)
	codesAnlageArt                         = mustCodeList("anlagen_3.0.txt")
	codesBauvorlageberechtigungSachverhalt = mustCodeList("bauvorlageberechtigungsachverhalt_1.0.txt")
)

//go:embed codelists/*.txt
var codeListFiles embed.FS

// codeList is an XÖV code list with its values: the codes and their
// Beschreibung. It is built once and only read afterwards.
type codeList struct {
	xoev.CodeList
	Name  string            // the list's name, for error messages
	File  string            // the data file under codelists/
	Codes map[string]string // code -> Beschreibung
	Order []string          // the codes in the order of the file
}

// has reports whether code is a value of the list.
func (l *codeList) has(code string) bool {
	_, ok := l.Codes[code]
	return ok
}

// describe names the list for error messages: name, URI and version.
func (l *codeList) describe() string {
	return fmt.Sprintf("%s (%s, version %s)", l.Name, l.URI, l.Version)
}

// mustCodeList loads a data file of codelists/: header lines "# name",
// "# listURI: ...", "# listVersionID: ..." and further comments, then one
// "code TAB Beschreibung" per line. The files are embedded, so an error is a
// bug of the build and panics at package initialisation (and in every test).
func mustCodeList(file string) *codeList {
	l, err := parseCodeList(file)
	if err != nil {
		panic(fmt.Sprintf("xbau: code list %s: %v", file, err))
	}
	return l
}

func parseCodeList(file string) (*codeList, error) {
	raw, err := codeListFiles.ReadFile(path.Join("codelists", file))
	if err != nil {
		return nil, err
	}
	l := &codeList{File: file, Codes: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if c, ok := strings.CutPrefix(line, "#"); ok {
			c = strings.TrimSpace(c)
			switch {
			case n == 1:
				l.Name = c
			case strings.HasPrefix(c, "listURI:"):
				l.URI = strings.TrimSpace(strings.TrimPrefix(c, "listURI:"))
			case strings.HasPrefix(c, "listVersionID:"):
				l.Version = strings.TrimSpace(strings.TrimPrefix(c, "listVersionID:"))
			}
			continue
		}
		code, beschreibung, ok := strings.Cut(line, "\t")
		if !ok || code == "" {
			return nil, fmt.Errorf("line %d: want code TAB Beschreibung", n)
		}
		if _, dup := l.Codes[code]; dup {
			return nil, fmt.Errorf("line %d: code %q repeats", n, code)
		}
		l.Codes[code] = beschreibung
		l.Order = append(l.Order, code)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if l.Name == "" || l.URI == "" || l.Version == "" || len(l.Order) == 0 {
		return nil, fmt.Errorf("name, listURI, listVersionID or codes missing")
	}
	return l, nil
}
