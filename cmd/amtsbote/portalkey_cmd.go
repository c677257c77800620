package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/amtsbote/amtsbote/config"
)

// portalKeyBytes is the entropy of a generated portal API key.
const portalKeyBytes = 32

// portalKey generates a portal API key and prints it with its key_hash
// (config.HashKey); with --hash it prints only the hash of a key read from
// standard input, one line, fit to be written to a file and configured as
// {file: ...}. Nothing is stored.
func portalKey(_ context.Context, args []string, stdout, stderr io.Writer) int {
	return runPortalKey(args, os.Stdin, rand.Reader, stdout, stderr)
}

func runPortalKey(args []string, stdin, random io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("portal-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hashOnly := fs.Bool("hash", false, "read an existing key from standard input (one line) and print only its key_hash")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portal-key: unexpected arguments %v\n", fs.Args())
		return 2
	}
	if *hashOnly {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintf(stderr, "portal-key: read key: %v\n", err)
			return 1
		}
		key := strings.TrimRight(line, "\r\n")
		if key == "" {
			fmt.Fprintln(stderr, "portal-key: no key on standard input")
			return 1
		}
		fmt.Fprintln(stdout, config.HashKey(key))
		return 0
	}
	key, err := newPortalKey(random)
	if err != nil {
		fmt.Fprintf(stderr, "portal-key: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "key: %s\nkey_hash: %s\n", key, config.HashKey(key))
	fmt.Fprintln(stderr, "Give the key to the portal over a secure channel and configure only key_hash; the key is not stored anywhere.")
	return 0
}

// newPortalKey returns a new random API key read from random: portalKeyBytes
// bytes, base64url without padding.
func newPortalKey(random io.Reader) (string, error) {
	b := make([]byte, portalKeyBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// demoPortalKey returns the demo portal's API key: $AMTSBOTE_DEMO_PORTAL_KEY,
// or else a new one (generated true), which the caller shows once.
func demoPortalKey() (key string, generated bool, err error) {
	if key := os.Getenv(envDemoPortalKey); key != "" {
		return key, false, nil
	}
	key, err = newPortalKey(rand.Reader)
	return key, err == nil, err
}
