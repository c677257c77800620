package xbau

// CodeLists gives the tests of package xbau_test the values of the code
// lists Validate checks, by the name of their data file without version.
var CodeLists = map[string][]string{
	"baumassnahmeart":                   codesBaumassnahmeArt.Order,
	"bauherrodereigentuemerart":         codesBauherrArt.Order,
	"gebaeudeklasse":                    codesGebaeudeklasse.Order,
	"mbogaragentyp":                     codesGaragentyp.Order,
	"wohngebaeudeart":                   codesWohngebaeudeArt.Order,
	"nichtwohngebaeudeart":              codesNichtwohngebaeudeArt.Order,
	"kammer":                            codesKammer.Order,
	"anlagen":                           codesAnlageArt.Order,
	"bauvorlageberechtigungsachverhalt": codesBauvorlageberechtigungSachverhalt.Order,
}

// ParseCodeList exposes the loader of the data files to the tests.
func ParseCodeList(file string) (uri, version string, codes map[string]string, err error) {
	l, err := parseCodeList(file)
	if err != nil {
		return "", "", nil, err
	}
	return l.URI, l.Version, l.Codes, nil
}
