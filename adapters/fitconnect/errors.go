package fitconnect

import "errors"

var (
	errSyntax = errors.New("not parseable JSON")
	errSchema = errors.New("invalid against the schema")
)
