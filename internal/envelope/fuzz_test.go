package envelope

import (
	"errors"
	"testing"
)

// Decode never panics, refuses with ErrFormat only, and what it accepts
// survives a round trip through encoding/json.
func FuzzDecode(f *testing.F) {
	for _, p := range allProtocols {
		s, _ := pair(f, p)
		f.Add(mustMarshal(f, mustSeal(f, s, "txn-1", []byte(`{"x":1}`))))
	}
	for _, seed := range []string{``, `{}`, `[]`, `{"data":"A","signature":"B"}`, `{"data":"A","data":"A"}`, `{"id":1}`, `{"data":"A","signature":"B"} x`, "{\"data\":\"\xff\",\"signature\":\"B\"}"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrFormat) || e != nil {
				t.Fatalf("Decode = %v, %v; want nil and ErrFormat", e, err)
			}
			return
		}
		again, err := Decode(mustMarshal(t, e))
		if err != nil || *again != *e {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, *e)
		}
	})
}

// Open never panics, fails only with the package's errors, and succeeds
// only in the protocol an envelope was made for.
func FuzzOpen(f *testing.F) {
	openers := make([]*Opener, len(allProtocols))
	for i, p := range allProtocols {
		s, o := pair(f, p)
		openers[i] = o
		e := mustSeal(f, s, "txn-1", []byte(`{"x":1}`))
		f.Add(uint8(p), e.ID, e.RequestTime, e.Data, e.Signature, e.Version)
	}
	f.Add(uint8(0), "", "", "", "", "")
	f.Add(uint8(0), "a\nb", "2026-03-01T10:00:00Z", "VkVSX1IyI0tFWV9TUExJVFRFUiM", "AAAA", "2")
	f.Fuzz(func(t *testing.T, proto uint8, id, requestTime, data, signature, version string) {
		p := allProtocols[int(proto)%len(allProtocols)]
		e := &Envelope{ID: id, RequestTime: requestTime, Data: data, Signature: signature, Version: version}
		plain, key, err := openers[p].Open(e)
		if err != nil {
			if !isSentinel(err) || plain != nil || key != "" {
				t.Fatalf("Open = %q, %q, %v; want nothing and one of the package's errors", plain, key, err)
			}
			return
		}
		if version != p.wireVersion() || key == "" {
			t.Fatalf("%v opened an envelope with version %q (replay key %q)", p, version, key)
		}
	})
}
