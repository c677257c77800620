//go:build linux

package main

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func TestHeapHeadroomOnPostgreSQLOnly(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{{"GOGC": "200"}, {"GOMEMLIMIT": "400MiB"}, {"GOGC": "100", "GOMEMLIMIT": "1GiB"}} {
		if b := reserveHeapHeadroom(true, func(k string) string { return env[k] }); b != nil {
			t.Errorf("with %v in the environment: a headroom of %d bytes, want none", env, len(b))
		}
	}
	if b := reserveHeapHeadroom(true, func(string) string { return "" }); len(b) != heapHeadroom {
		t.Errorf("on PostgreSQL without GOGC or GOMEMLIMIT: a headroom of %d bytes, want %d", len(b), heapHeadroom)
	}
	if b := reserveHeapHeadroom(false, func(string) string { return "" }); b != nil {
		t.Errorf("on SQLite: a headroom of %d bytes, want none", len(b))
	}
}

// TestHeapHeadroomRaisesTheGoal checks the mechanism: after a collection,
// the heap goal with the headroom held exceeds the goal without it by at
// least the headroom (by twice as much at GOGC=100).
func TestHeapHeadroomRaisesTheGoal(t *testing.T) {
	skipUnlessReserved(t)
	goal := func() uint64 {
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	without := goal()
	b := reserveHeapHeadroom(true, func(string) string { return "" })
	with := goal()
	runtime.KeepAlive(b)
	if with < without+heapHeadroom {
		t.Fatalf("heap goal %d MiB with the headroom, %d MiB without: want at least %d MiB more",
			with>>20, without>>20, heapHeadroom>>20)
	}
}

// TestHeapHeadroomNotResident checks that the headroom costs no memory: in
// a fresh process of this binary (the same package initialisation as the
// gateway's, which allocates before serve runs), none of its pages is
// resident after reserveHeapHeadroom, nor after the heap has been churned
// and collected a few times. Before reserving, the child frees 24 MiB it
// has written at the top of its heap, so that the allocator places the
// block there and zeroes it: without releasePages all its pages would be
// resident, as they were once in CI.
func TestHeapHeadroomNotResident(t *testing.T) {
	if os.Getenv("AMTSBOTE_TEST_HEADROOM_CHILD") == "" {
		t.Parallel()
		skipUnlessReserved(t)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHeapHeadroomNotResident$", "-test.v")
		cmd.Env = append(os.Environ(), "AMTSBOTE_TEST_HEADROOM_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "resident pages: 0 0") {
			t.Fatalf("child did not report its pages:\n%s", out)
		}
		return
	}
	used := make([][]byte, 24)
	for i := range used {
		used[i] = make([]byte, 1<<20)
		for j := range used[i] {
			used[i][j] = 1
		}
	}
	// An address, not a pointer: a pointer would keep the last MiB live.
	top := uintptr(unsafe.Pointer(&used[len(used)-1][0]))
	clear(used)
	runtime.GC()
	b := reserveHeapHeadroom(true, os.Getenv)
	if uintptr(unsafe.Pointer(&b[0])) > top {
		t.Logf("the headroom was placed above the freed memory, not over it")
	}
	first := residentPages(t, b)
	var sink [][]byte
	for i := range 4 << 10 {
		sink = append(sink, make([]byte, 64<<10))
		if len(sink) > 64 {
			sink = sink[:0]
		}
		if i%1024 == 0 {
			runtime.GC()
		}
	}
	runtime.KeepAlive(sink)
	after := residentPages(t, b)
	runtime.KeepAlive(b)
	t.Logf("resident pages: %d %d", first, after)
	if first != 0 || after != 0 {
		t.Fatalf("%d of %d pages of the headroom resident after allocation, %d after churn: want none",
			first, len(b)/os.Getpagesize(), after)
	}
}

// skipUnlessReserved skips where this process's environment turns the
// headroom off (GOGC or GOMEMLIMIT set), as serve would.
func skipUnlessReserved(t *testing.T) {
	t.Helper()
	if reserveHeapHeadroom(true, os.Getenv) == nil {
		t.Skip("GOGC or GOMEMLIMIT is set: the gateway reserves no headroom then")
	}
}

// residentPages counts the pages of b in memory (mincore(2)).
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	vec := make([]byte, (len(b)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
