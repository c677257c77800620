// Package testpki is test support for TLS: a throwaway certificate
// authority that issues server certificates for given host names and IP
// addresses and client certificates for given common names, in memory and
// as PEM files for configurations that name files.
//
// Keys are ECDSA P-256; certificates are valid from an hour ago for a day.
// It is imported only by tests (package-level *_test.go files, the e2e
// package and test servers such as adapters/smtp/smtptest); production code
// does not use it.
package testpki
