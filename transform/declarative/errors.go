package declarative

import (
	"fmt"
	"strings"
)

// Error is a problem of a procedure directory or of one mapping step: the
// file, the line in it (0 where none applies) and, where one is involved, the
// JSON pointer.
type Error struct {
	File    string // path of the file, as the directory was named to Load
	Line    int    // 1-based line; 0 for the whole file
	Pointer string // the JSON pointer the problem concerns, if any
	Err     error
}

// Error returns "file:line: pointer: problem".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Pointer != "" {
		b.WriteString(": " + e.Pointer)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }
