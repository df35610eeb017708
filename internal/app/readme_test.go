package app

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// The README's configuration table is PrintOptions' output: a new option is
// documented or this test fails. UPDATE_README=1 rewrites it.
func TestREADMEListsEveryOption(t *testing.T) {
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- options:begin", "<!-- options:end -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s block", begin, end)
	}
	i += bytes.IndexByte(readme[i:], '\n') + 1
	var table strings.Builder
	table.WriteString("```\n")
	PrintOptions(&table)
	table.WriteString("```\n")
	if got := string(readme[i:j]); got != table.String() {
		if os.Getenv("UPDATE_README") != "" {
			out := append(append(append([]byte{}, readme[:i]...), table.String()...), readme[j:]...)
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's configuration table is out of date; run UPDATE_README=1 go test ./internal/app -run README")
	}
}
