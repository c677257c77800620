package main

import (
	"bytes"
	"strings"
	"testing"
)

// runArgs runs amtsbote's run with args, in process, and returns its exit
// code and output.
func runArgs(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelp: --help and -h print the usage to stdout and exit 0, for amtsbote
// and for every command and subcommand; a usage error prints it to stderr
// and exits 2.
func TestHelp(t *testing.T) {
	t.Parallel()
	type call struct {
		args []string
		want string // in stdout
	}
	calls := []call{
		{[]string{"--help"}, "amtsbote check-config FILE"},
		{[]string{"-h"}, "amtsbote check-config FILE"},
		{[]string{"help"}, "amtsbote check-config FILE"},
		{[]string{"help", "outbox"}, "amtsbote outbox list"},
		{[]string{"check-config", "--help", "amtsbote.yaml"}, "amtsbote check-config FILE"},
		{[]string{"outbox", "list", "--help"}, "amtsbote outbox list"},
		{[]string{"outbox", "replay", "id", "-h"}, "amtsbote outbox replay"},
		{[]string{"encryption-key", "rotate", "--help"}, "amtsbote encryption-key rotate"},
		{[]string{"serve", "--config", "amtsbote.yaml", "--help"}, "amtsbote serve"},
	}
	for name := range commands {
		calls = append(calls, call{[]string{name, "--help"}, "amtsbote " + name}, call{[]string{name, "-h"}, "amtsbote " + name})
	}
	for _, c := range calls {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runArgs(c.args...)
			if code != 0 || !strings.HasPrefix(stdout, "Usage:") || !strings.Contains(stdout, c.want) || stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and the usage naming %q on stdout", code, stdout, stderr, c.want)
			}
		})
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"help", "frobnicate"}, {"outbox"}, {"check-config"}, {"serve", "--nope"}} {
		t.Run(strings.Join(append([]string{"usage error"}, args...), " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runArgs(args...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, "sage") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and the usage on stderr", code, stdout, stderr)
			}
		})
	}
}
