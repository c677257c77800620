package main

import "syscall"

// releasePages tells the kernel that b's pages are not needed (MADV_DONTNEED):
// they stop being resident and read as zeros when touched again, which is
// what a block that was never written holds. b must be a whole heap span of
// its own, as a large allocation is, so that no other object shares a page.
func releasePages(b []byte) {
	// An error leaves the pages resident: memory, not correctness.
	_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
}
