//go:build unix

package answerinbox

import (
	"errors"
	"syscall"
)

// openFlags make opening a symbolic link fail (ELOOP), so that a link in
// the inbox cannot make Amtsbote read a file elsewhere, and opening a FIFO
// not block.
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// isSymlinkErr reports whether err is that of opening a link with openFlags.
func isSymlinkErr(err error) bool { return errors.Is(err, syscall.ELOOP) }
