package xgewerbe

import (
	"maps"
	"slices"
)

// CodeKeys returns the payload values of one of the code tables of codes.go,
// for the test that keeps them in step with the payload schema.
func CodeKeys(table string) []string {
	switch table {
	case "anmeldegrund":
		return slices.Collect(maps.Keys(anmeldegruende))
	case "niederlassung":
		return slices.Collect(maps.Keys(niederlassungsArten))
	case "betriebArt":
		return slices.Clone(betriebsArten)
	case "register":
		return slices.Collect(maps.Keys(registerArten))
	case "geschlecht":
		return slices.Collect(maps.Keys(geschlechter))
	}
	return nil
}
