// Package mappertest is the test plumbing that the mapper packages below
// transform share and that needs package transform: example submissions read
// the way the intake decodes them (ReadSubmission, DecodeSubmission), the
// checks every mapper's tests make of Map (MapDeterministic, CheckMapError)
// and the bodies of the Map and Validate benchmarks (BenchMap,
// BenchValidate).
//
// Schema validation, golden files and the raw etree benchmark floor live in
// xoevtest, which cannot import transform: the tests of din91379, which
// transform imports, use xoevtest.
package mappertest
