package emit

import (
	"fmt"
	"strings"
)

// Mangle escapes space, tab, newline and backslash as \ooo, as
// seq_escape(m, s, " \t\n\\") does.
func Mangle(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
