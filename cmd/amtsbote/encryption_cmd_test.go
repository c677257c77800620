package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/amtsbote/amtsbote/outbox/sealed"
)

func TestEncryptionKeyGenerate(t *testing.T) {
	t.Parallel()
	var a, b, errOut bytes.Buffer
	if code := run([]string{"encryption-key", "generate"}, &a, &errOut); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, errOut.String())
	}
	run([]string{"encryption-key", "generate"}, &b, &errOut)
	if _, err := sealed.ParseKey(strings.TrimSpace(a.String())); err != nil || a.String() == b.String() {
		t.Fatalf("generate printed %q then %q: %v", a.String(), b.String(), err)
	}
	for _, args := range [][]string{{"encryption-key"}, {"encryption-key", "generate", "x"}, {"encryption-key", "frobnicate"},
		{"encryption-key", "rotate"}} {
		if code := run(args, &a, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
