package xschule

import (
	"embed"
	"io/fs"

	"github.com/amtsbote/amtsbote/transform/declarative"
)

// Procedure is the procedure id (the Registry key) of Schüler Online.
const Procedure = "schule.schueleranmeldung"

// Names of the message.
const (
	Namespace      = "urn:amtsbote:xschule:anmeldung:1"
	Nachrichtentyp = "schule.anmeldung.0001"
	MessageType    = "xschule.anmeldung.0001"
)

//go:embed procedure
var files embed.FS

// Schema is the XML Schema of the messages; it imports xoev-code.xsd and
// din-norm-91379-datatypes.xsd from its own directory.
//
//go:embed procedure/xschule-anmeldung.xsd
var Schema []byte

// PayloadJSONSchema is the JSON Schema (draft 2020-12) of the payload.
//
//go:embed procedure/schema.json
var PayloadJSONSchema []byte

// Files returns the procedure directory (procedure.yaml, schema.json,
// mapping.yaml, the XSD and the examples).
func Files() fs.FS {
	sub, err := fs.Sub(files, "procedure")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}

// New compiles the embedded procedure directory.
func New() (*declarative.Procedure, error) {
	return declarative.Load(Files(), "xschule")
}
