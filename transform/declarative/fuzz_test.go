package declarative_test

import (
	"testing"

	"github.com/amtsbote/amtsbote/transform/declarative"
)

// FuzzLoad: any mapping.yaml and procedure.yaml give a Procedure or an
// error, never a panic; a Procedure maps the test example or fails with an
// error.
func FuzzLoad(f *testing.F) {
	f.Add(testMapping, testProcedure)
	f.Add("root: {element: t:x, children: [{use: a}]}\ntemplates: {a: [{use: a}]}\nnamespaces: {t: 'urn:t'}", testProcedure)
	f.Add("root: {element: x, attributes: [{name: 'xmlns:a', text: b}]}", testProcedure)
	f.Fuzz(func(t *testing.T, mapping, procedure string) {
		p, err := declarative.Load(files(map[string]string{"mapping.yaml": mapping, "procedure.yaml": procedure}), "p")
		if err != nil {
			return
		}
		s, err := declarative.DecodeExample([]byte(testExample))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = p.Map(p.ExampleInput(s))
	})
}
