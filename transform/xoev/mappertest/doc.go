// Package mappertest is the shared test code of the mappers below transform
// (xbau, xgewerbe, xmeld, envelope, the xdomea filing, and every mapper still
// to come, such as declarative ones): each mapper's tests describe it in a
// Suite and call Run, which checks the contract every mapper meets (golden
// files, schema validity, determinism, the errors of Map, problems located by
// JSON pointers, Map agreeing with Validate); the fuzz targets call
// Suite.Check for every input. What is particular to one mapper stays in its
// package.
//
// It also holds the parts those tests share: the fixed input of the golden
// tests (Input, with the Musterstadt offices that more than one mapper
// names), example submissions read the way the intake decodes them
// (ReadSubmission, DecodeSubmission), checks of Map, Validate and the schema
// (MapDeterministic, CheckMapError, Problems, CheckProblems, SchemaRejects,
// CheckTexts) and the bodies of the benchmarks (BenchMap, BenchValidate,
// BenchRawEtree).
//
// Schema validation with xmllint, golden files and the raw etree floor live
// in xoevtest, which cannot import transform: the tests of din91379, which
// transform imports, use xoevtest.
//
// A new mapper's test, in short:
//
//	func TestMapper(t *testing.T) {
//		mappertest.Run(t, mappertest.Suite{
//			Mapper:      m,
//			MessageType: "xyz.nachricht.0001",
//			Root:        "nachricht.0001",
//			Schema:      func(t testing.TB) string { return xoevtest.Schema(t, "xyz/xyz.xsd") },
//			Valid:       func(t testing.TB) transform.Input { return mappertest.Input(read(t, "minimal"), author, reader) },
//			Golden:      []mappertest.Golden{{Name: "minimal", Input: ...}},
//		})
//	}
//
// go test -update rewrites the golden files in testdata; without it they
// are only compared.
package mappertest
