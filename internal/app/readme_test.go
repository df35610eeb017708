package app

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"opencrvs-mosip/internal/jobs"
)

// The README's configuration table is PrintOptions' output: a new option is
// documented or this test fails. UPDATE_README=1 rewrites it.
func TestREADMEListsEveryOption(t *testing.T) {
	var table strings.Builder
	table.WriteString("```\n")
	PrintOptions(&table)
	table.WriteString("```\n")
	checkREADMEBlock(t, "options", table.String())
}

// The README's failure policy is jobs.Policy.
func TestREADMEShowsFailurePolicy(t *testing.T) {
	checkREADMEBlock(t, "failure-policy", jobs.PolicyMarkdown())
}

// checkREADMEBlock compares the README's block between <!-- name:begin ...
// and <!-- name:end --> with want; UPDATE_README=1 rewrites it.
func checkREADMEBlock(t *testing.T, name, want string) {
	t.Helper()
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin", "<!-- "+name+":end -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s block", begin, end)
	}
	i += bytes.IndexByte(readme[i:], '\n') + 1
	if got := string(readme[i:j]); got != want {
		if os.Getenv("UPDATE_README") != "" {
			out := append(append(append([]byte{}, readme[:i]...), want...), readme[j:]...)
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's %s block is out of date; run UPDATE_README=1 go test ./internal/app -run README", name)
	}
}
