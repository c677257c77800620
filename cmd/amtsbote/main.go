// Command amtsbote is the Amtsbote gateway: it accepts portal submissions over
// HTTP, turns them into XÖV messages and delivers them through a transactional
// outbox.
//
//	amtsbote serve [--config FILE] [--data-dir DIR] [--listen ADDR]
//	amtsbote check-config FILE
//	amtsbote outbox list|show|replay|discard ...
//	amtsbote audit SUBMISSION-ID
//	amtsbote version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// commands maps subcommands to their entry points.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"serve":        serve,
	"check-config": checkConfig,
	"outbox":       outboxCmd,
	"audit":        auditCmd,
	"portal-key":   portalKey,
	"version": func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		fmt.Fprintln(stdout, "amtsbote", buildVersion())
		return 0
	},
	"encryption-key": encryptionKeyCmd,
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "amtsbote: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return cmd(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  amtsbote serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--metrics-listen ADDR]
      Run the gateway. Without --config it runs the built-in demo configuration
      on the embedded SQLite store in --data-dir (default ./amtsbote-data).
  amtsbote check-config FILE
      Validate a configuration file and print every problem.
  amtsbote outbox list|show|replay|discard ...
      List outbox messages, show one with its attempts and replays, replay
      or discard dead ones ("amtsbote outbox" prints the details).
  amtsbote audit SUBMISSION-ID [--json]
      Print a submission's audit trail, oldest first.
  amtsbote portal-key [--hash]
      Generate a portal API key and the key_hash to configure (nothing is stored);
      --hash prints the key_hash of a key read from standard input.
  amtsbote encryption-key generate | rotate --config FILE [--data-dir DIR] [--batch N]
      Generate a key for database.encryption; re-encrypt stored data under the current key.
  amtsbote version
      Print the version.
`)
}

// buildVersion is the -X version, else the module version, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
