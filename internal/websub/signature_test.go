package websub

import "testing"

func TestSignVerify(t *testing.T) {
	secret, body := []byte("mosip-websub-secret"), []byte(`{"event":{"id":"1"}}`)
	sig := Sign(secret, body)
	// Reference value: printf '%s' '{"event":{"id":"1"}}' | openssl dgst -sha256 -hmac mosip-websub-secret
	if want := "sha256=9ebdfffa3d903d3e4a95d9fcb5c36c2e62eeee5e5b6b3e4d20553eea91804d89"; sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}
	if !Verify(secret, sig, body) {
		t.Error("Verify rejected its own signature")
	}
	for name, h := range map[string]string{
		"missing":      "",
		"other secret": Sign([]byte("x"), body),
		"sha1":         "sha1=" + sig[len("sha256="):],
		"not hex":      "sha256=zz",
		"bare":         sig[len("sha256="):],
	} {
		if Verify(secret, h, body) {
			t.Errorf("%s: Verify accepted %q", name, h)
		}
	}
	if Verify(secret, sig, append(body, ' ')) {
		t.Error("Verify accepted a changed body")
	}
}
