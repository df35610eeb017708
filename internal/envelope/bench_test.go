package envelope

import (
	"bytes"
	"testing"
)

// A record of the size of a typical birth declaration without documents.
var benchRecord = bytes.Repeat([]byte(`{"name":"x","birthDate":"2026-01-01"},`), 100)

func BenchmarkSeal(b *testing.B) {
	s, _ := pair(b, V2)
	for b.Loop() {
		if _, err := s.Seal("txn-1", benchRecord); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s, o := pair(b, V2)
	e := mustSeal(b, s, "txn-1", benchRecord)
	for b.Loop() {
		if _, _, err := o.Open(e); err != nil {
			b.Fatal(err)
		}
	}
}
