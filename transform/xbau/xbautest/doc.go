// Package xbautest generates payloads of the procedure bau.baugenehmigung
// for tests: random valid submissions (Generator and Random, the property
// generator of the mapper's tests and of the conformance test) and the
// payload at its extremes (Extremes). It imports xbau and transform only;
// the tests of xbau and the conformance test import it.
//
// The package xbau keeps its code lists unexported; CodeLists holds their
// values, generated from the same data files (go generate), and the tests
// of xbau fail when the two drift apart.
package xbautest

//go:generate go run gen_codes.go
