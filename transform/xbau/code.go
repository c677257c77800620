package xbau

import "github.com/amtsbote/amtsbote/transform/xoev"

// Code lists of baugenehmigung.antrag.0200, as the listURI and listVersionID
// attributes of their code elements carry them. XBau fixes both values for its
// own lists (the schema rejects any other value); for the lists of type 3
// (listVersionID required, not fixed) the values here are documented
// defaults, see the package documentation.
var (
	listNachrichten       = xoev.CodeList{URI: "urn:xoev-de:xbau:codeliste:xbau-nachrichten", Version: "4.0"}                              // fixed by XBau 2.6
	listVerzeichnisdienst = xoev.CodeList{URI: "urn:xoev-de:kosit:codeliste:verzeichnisdienst", Version: "2"}                              // version: default
	listBaumassnahmeArt   = xoev.CodeList{URI: "urn:xoev-de:xbau:codeliste:baumassnahmeart", Version: "2.0"}                               // fixed by XBau 2.6
	listBauherrArt        = xoev.CodeList{URI: "urn:xoev-de:xbau:codeliste:bauherrodereigentuemerart", Version: "2.0"}                     // fixed by XBau 2.6
	listBundesland        = xoev.CodeList{URI: "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:bundesland", Version: "2010-04-01"} // version: default
	listAnlageArt         = xoev.CodeList{URI: "urn:xoev-de:xbau:codeliste:anlagen", Version: "3.0"}                                       // version: default
	listMimeType          = xoev.CodeList{URI: "urn:xoev-de:xbau:codeliste:xbau-mimetypes", Version: "1.0"}                                // version: default
	listErreichbarkeit    = xoev.CodeList{URI: "urn:de:xoev:codeliste:erreichbarkeit", Version: "3"}                                       // version: default
)
