// Command amtsbote is the Amtsbote gateway: it accepts portal submissions over
// HTTP, turns them into XÖV messages and delivers them through a transactional
// outbox.
//
//	amtsbote serve [--config FILE] [--data-dir DIR] [--listen ADDR]
//	amtsbote check-config FILE
//	amtsbote demo-config [--data-dir DIR]
//	amtsbote procedure test DIR [--update]
//	amtsbote outbox list|show|replay|discard ...
//	amtsbote reload --config FILE
//	amtsbote audit SUBMISSION-ID
//	amtsbote portal-key [--hash]
//	amtsbote encryption-key generate|rotate ...
//	amtsbote version
//
// "amtsbote COMMAND --help" prints a command's usage.
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

// command is a subcommand of amtsbote.
type command struct {
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	// usage is what "amtsbote COMMAND --help" prints.
	usage string
}

// commands maps subcommands to their entry points.
var commands = map[string]command{
	"serve": {serve, `Usage:
  amtsbote serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--metrics-listen ADDR]
      Run the gateway until SIGINT or SIGTERM. Without --config it runs the
      built-in demo configuration ("amtsbote demo-config" prints it) on the
      embedded SQLite store in --data-dir.

  --config FILE            configuration file (YAML)
  --data-dir DIR           directory of the embedded SQLite database and of the
                           demo drop directories (default ./amtsbote-data)
  --listen ADDR            listen address of the portal API (default server.listen)
  --metrics-listen ADDR    listen address of /metrics, /healthz and /readyz
                           (default metrics.listen; none)
`},
	"check-config": {checkConfig, `Usage:
  amtsbote check-config FILE
      Validate a configuration file the way serve would and print every
      problem with its path. Exit 0 when it is valid, 1 when not.
`},
	"demo-config": {demoConfigCmd, demoConfigUsage},
	"procedure":   {procedureCmd, procedureUsage},
	"reload":      {reloadCmd, reloadUsage},
	"outbox":      {outboxCmd, outboxUsage},
	"answers":     {answersCmd, answersUsage},
	"audit": {auditCmd, `Usage:
  amtsbote audit SUBMISSION-ID [--json] [--config FILE | --data-dir DIR]
      Print a submission's audit trail, oldest first.
`},
	"portal-key": {portalKey, `Usage:
  amtsbote portal-key
      Generate a portal API key; print it and the key_hash to configure.
      Nothing is stored.
  amtsbote portal-key --hash
      Print only the key_hash of a key read from standard input (one line).
`},
	"encryption-key": {encryptionKeyCmd, encryptionKeyUsage},
	"version": {func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		fmt.Fprintln(stdout, "amtsbote", buildVersion())
		return 0
	}, `Usage:
  amtsbote version
      Print the version.
`},
}

// run runs the command args name and returns the exit code: 0 for success
// and for --help, 2 for a usage error, 1 for any other failure.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if isHelp(args[0]) || args[0] == "help" {
		return help(args[1:], stdout, stderr)
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "amtsbote: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if wantsHelp(args[1:]) {
		fmt.Fprint(stdout, cmd.usage)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return cmd.run(ctx, args[1:], stdout, stderr)
}

// help prints the usage of amtsbote, or of the command args name, to stdout.
func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args[0]) {
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "amtsbote help: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	fmt.Fprint(stdout, cmd.usage)
	return 0
}

// wantsHelp reports whether a command's arguments ask for its usage: -h,
// -help or --help anywhere before a "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  amtsbote serve [--config FILE] [--data-dir DIR] [--listen ADDR] [--metrics-listen ADDR]
      Run the gateway. Without --config it runs the built-in demo configuration
      on the embedded SQLite store in --data-dir (default ./amtsbote-data).
  amtsbote check-config FILE
      Validate a configuration file and print every problem.
  amtsbote demo-config [--data-dir DIR]
      Print the built-in demo configuration as YAML, a starting point for your own.
  amtsbote procedure test DIR [--update] [--xsd-path DIR]
      Run the examples of a declarative procedure against their golden outputs.
  amtsbote outbox list|show|replay|discard ...
      List outbox messages, show one with its attempts and replays, replay
      or discard dead ones ("amtsbote outbox --help" prints the details).
  amtsbote audit SUBMISSION-ID [--json]
      Print a submission's audit trail, oldest first.
  amtsbote portal-key [--hash]
      Generate a portal API key and the key_hash to configure (nothing is stored);
      --hash prints only the key_hash of a key read from standard input.
  amtsbote encryption-key generate | rotate --config FILE [--data-dir DIR] [--batch N]
      Generate a key for database.encryption; re-encrypt stored data under the current key.
  amtsbote version
      Print the version.

"amtsbote COMMAND --help" prints the usage of a command.
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
