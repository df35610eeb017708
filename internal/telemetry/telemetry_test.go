package telemetry

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"forged\nlevel=INFO msg=ok": "forged level=INFO msg=ok",
		"bad \xff utf8":             "bad   utf8",
		"  trimmed\t":               "trimmed",
		"ünïcode stays":             "ünïcode stays",
	} {
		if got := Printable(in, 100); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Printable(strings.Repeat("é", 10), 4); got != "éééé…" {
		t.Errorf("cut to 4 runes: %q", got)
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "transaction_id", "A1")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"transaction_id":"A1"`) {
		t.Errorf("log output %q", out)
	}
	for _, bad := range [][2]string{{"loud", "json"}, {"info", "xml"}} {
		if _, err := NewLogger(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("NewLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
