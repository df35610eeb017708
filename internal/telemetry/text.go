package telemetry

import (
	"strings"
	"unicode"
)

// Printable makes text that came from outside (a remote error message, a
// reason) safe to log or to keep: at most n runes (an ellipsis marks the
// cut), control characters and invalid UTF-8 replaced by spaces, so that it
// cannot forge log lines.
func Printable(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			r = ' '
		}
		b.WriteRune(r)
		count++
	}
	return strings.TrimSpace(b.String())
}
