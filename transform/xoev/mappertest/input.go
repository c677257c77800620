package mappertest

import (
	"time"

	"github.com/amtsbote/amtsbote/transform"
)

// MessageID is the nachrichtenUUID of the inputs Input builds.
const MessageID = "5f2c8e1a-93b7-4d06-8e4f-a1b2c3d4e5f6"

// CreatedAt is the erstellungszeitpunkt of the inputs Input builds:
// 2026-11-28 10:00:00 UTC.
func CreatedAt() time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC) }

// Product is the produkt of the inputs Input builds: Amtsbote in its
// development version, so that the golden files do not change with a release.
var Product = transform.Product{Name: "Amtsbote", Manufacturer: "Amtsbote-Projekt", Version: "dev"}

// Offices of Stadt Musterstadt that the golden files of more than one mapper
// name: the Bürgeramt and the Meldebehörde, author and reader of the example
// Wohnungsgeberbestätigungen (xmeld, envelope), and the Gewerbeamt, author of
// the example Gewerbeanmeldungen and of their filing (xgewerbe, xdomea).
var (
	Buergeramt = transform.Party{
		ID: "musterstadt-buergeramt", Name: "Stadt Musterstadt, Bürgeramt",
		Kennung: "psw:01234567", AGS: "01234567",
	}
	Meldebehoerde = transform.Party{
		ID: "musterstadt-meldebehoerde", Name: "Stadt Musterstadt, Meldebehörde",
		Kennung: "psw:01234568",
	}
	Gewerbeamt = transform.Party{
		ID: "musterstadt-gewerbeamt", Name: "Stadt Musterstadt, Gewerbeamt",
		Kennung: "gad:01234567", AGS: "01234567",
	}
)

// Input returns the input of a golden test: s sent by author to reader, with
// every other Nachrichtenkopf value fixed (MessageID, Product, CreatedAt). A
// test that needs another value sets it on the result.
func Input(s transform.Submission, author, reader transform.Party) transform.Input {
	return transform.Input{
		Submission: s,
		MessageID:  MessageID,
		Author:     author,
		Reader:     reader,
		Product:    Product,
		CreatedAt:  CreatedAt(),
	}
}
