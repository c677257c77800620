package xmeld_test

import (
	"maps"
	"os"
	"testing"
	"time"

	"github.com/amtsbote/amtsbote/transform/xoev/mappertest"
)

// FuzzWohnungsgeberbestaetigung feeds request bodies to Validate and Map
// and checks what every mapper promises (mappertest.Suite.Check): Validate
// never panics and points only into applicant, data and identity;
// every submission it accepts maps, deterministically, to well-formed XML,
// which (outside -fuzz runs) is valid against the XSD. The seed corpus is the
// example requests plus testdata/fuzz/FuzzWohnungsgeberbestaetigung.
func FuzzWohnungsgeberbestaetigung(f *testing.F) {
	for _, path := range examples {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	check := suite(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := mappertest.DecodeSubmission(body, false)
		if err != nil {
			return
		}
		check.Check(t, fullInput(s))
	})
}

// FuzzDates feeds the dates of a Wohnungsgeberbestätigung and the time of
// receipt to Validate: it never panics, and when it finds no problem at a
// date, the dates keep every plausibility rule (checked here from their
// definitions in docs/procedures.md, not with the code under test).
func FuzzDates(f *testing.F) {
	f.Add("2026-11-15", "2026-11-27", int64(1795856398), false)
	f.Add("2027-02-28", "2026-11-27", int64(1795856398), true)
	f.Add("1899-12-31", "2015-10-31", int64(0), false)
	f.Add("2026-02-30", "10.12.2026", int64(-62135596800), true)
	f.Add("9999-12-31", "0001-01-01", int64(253402300799), false)
	m := newMapper(f)
	base := mappertest.ReadSubmission(f, examples["maximal"])
	f.Fuzz(func(t *testing.T, move, bestaetigung string, receivedUnix int64, auszug bool) {
		s := base
		s.Data = maps.Clone(base.Data)
		delete(s.Data, "einzugsdatum")
		member := "einzugsdatum"
		if auszug {
			member = "auszugsdatum"
			s.Data["art"] = "auszug"
		}
		s.Data[member], s.Data["bestaetigungsdatum"] = move, bestaetigung
		s.ReceivedAt = time.Unix(receivedUnix, 0)
		blamed := false
		for _, e := range m.Validate(s) {
			if e.Pointer == "/data/"+member || e.Pointer == "/data/bestaetigungsdatum" {
				blamed = true
			}
		}
		d, err1 := time.Parse(time.DateOnly, move)
		b, err2 := time.Parse(time.DateOnly, bestaetigung)
		if blamed || err1 != nil || err2 != nil {
			return
		}
		y, mo, day := s.ReceivedAt.In(berlin).Date()
		received := time.Date(y, mo, day, 0, 0, 0, 0, time.UTC)
		switch {
		case d.Year() < 1900:
			t.Errorf("accepted a move on %s, before 1900", move)
		case b.Before(time.Date(2015, 11, 1, 0, 0, 0, 0, time.UTC)):
			t.Errorf("accepted a confirmation on %s, before the BMG", bestaetigung)
		case b.After(received):
			t.Errorf("accepted a confirmation on %s, after the receipt on %s", bestaetigung, received.Format(time.DateOnly))
		case d.After(endOfMonthClamped(received, 3)):
			t.Errorf("accepted a move on %s, more than 3 months after the receipt on %s", move, received.Format(time.DateOnly))
		case b.Before(endOfMonthClamped(d, -3)) || b.After(endOfMonthClamped(d, 120)):
			t.Errorf("accepted a confirmation on %s for a move on %s", bestaetigung, move)
		}
	})
}

var berlin, _ = time.LoadLocation("Europe/Berlin")

// endOfMonthClamped adds months to t as § 188 Abs. 3 BGB counts them,
// written independently of xmeld.AddMonths: t.AddDate normalises 31 May
// minus 3 months to 3 March, so step back to the target month's last day.
func endOfMonthClamped(t time.Time, months int) time.Time {
	r := t.AddDate(0, months, 0)
	for r.Day() != t.Day() && r.Day() < 4 {
		r = r.AddDate(0, 0, -r.Day())
	}
	return r
}
