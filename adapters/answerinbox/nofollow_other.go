//go:build !unix

package answerinbox

const openFlags = 0

func isSymlinkErr(error) bool { return false }
