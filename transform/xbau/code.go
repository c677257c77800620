package xbau

import "github.com/beevik/etree"

// codeList names an XÖV code list as the listURI and listVersionID
// attributes of a code element carry it. XBau fixes both values for its own
// lists (the schema rejects any other value); for the lists of type 3
// (listVersionID required, not fixed) the values here are documented
// defaults, see the package documentation.
type codeList struct {
	URI     string
	Version string
}

// Code lists of baugenehmigung.antrag.0200.
var (
	listNachrichten       = codeList{"urn:xoev-de:xbau:codeliste:xbau-nachrichten", "4.0"}                              // fixed by XBau 2.6
	listVerzeichnisdienst = codeList{"urn:xoev-de:kosit:codeliste:verzeichnisdienst", "2"}                              // version: default
	listBaumassnahmeArt   = codeList{"urn:xoev-de:xbau:codeliste:baumassnahmeart", "2.0"}                               // fixed by XBau 2.6
	listBauherrArt        = codeList{"urn:xoev-de:xbau:codeliste:bauherrodereigentuemerart", "2.0"}                     // fixed by XBau 2.6
	listBundesland        = codeList{"urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:bundesland", "2010-04-01"} // version: default
	listAnlageArt         = codeList{"urn:xoev-de:xbau:codeliste:anlagen", "3.0"}                                       // version: default
	listMimeType          = codeList{"urn:xoev-de:xbau:codeliste:xbau-mimetypes", "1.0"}                                // version: default
	listErreichbarkeit    = codeList{"urn:de:xoev:codeliste:erreichbarkeit", "3"}                                       // version: default
)

// codeElement appends a code element <tag listURI=".." listVersionID=".."><code>value</code></tag>
// to parent. tag carries its own prefix (or none); the code child is always
// unprefixed, as xoev-code:Code declares it unqualified.
func codeElement(parent *etree.Element, tag string, list codeList, value string) *etree.Element {
	e := parent.CreateElement(tag)
	if list.URI != "" {
		e.CreateAttr("listURI", list.URI)
	}
	if list.Version != "" {
		e.CreateAttr("listVersionID", list.Version)
	}
	e.CreateElement("code").SetText(value)
	return e
}
