// Package testlog is test support for capturing what a logger or a child
// process writes: Buffer collects concurrent writes and hands them out as
// one string for the assertions.
//
// It is imported only by tests (package-level *_test.go files and the e2e
// package); production code does not use it.
package testlog
