package mosip

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
)

func TestVERR2RawRoundTrip(t *testing.T) {
	kp, other := mustKeyPair(t), mustKeyPair(t)
	plain := []byte(`{"record":1}`)
	raw, err := EncryptVERR2(kp.Cert, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecryptVERR2(kp.Key, raw); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("DecryptVERR2 = %q, %v; want %q", got, err, plain)
	}
	if !ThumbprintMatches(raw, kp.Cert) || ThumbprintMatches(raw, other.Cert) {
		t.Error("ThumbprintMatches does not name the recipient certificate")
	}
	// The credential form is the same bytes in URL-safe base64.
	if got, err := DecryptCredential(kp.Key, base64.RawURLEncoding.EncodeToString(raw)); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("DecryptCredential(base64 of EncryptVERR2) = %q, %v", got, err)
	}

	// A legacy peer's random thumbprint decrypts but does not match.
	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	legacy, err := EncryptVERR2Key(&kp.Key.PublicKey, random, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecryptVERR2(kp.Key, legacy); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("DecryptVERR2(random thumbprint) = %q, %v", got, err)
	}
	if ThumbprintMatches(legacy, kp.Cert) {
		t.Error("ThumbprintMatches = true for a random thumbprint")
	}
	if _, err := EncryptVERR2Key(&kp.Key.PublicKey, random[:31], plain); err == nil {
		t.Error("EncryptVERR2Key accepted a 31-byte thumbprint")
	}

	if _, err := DecryptVERR2(other.Key, raw); err == nil {
		t.Error("another key decrypted")
	}
	for name, bad := range map[string][]byte{"empty": nil, "no splitter": raw[:200], "truncated": raw[:len(raw)-1]} {
		if _, err := DecryptVERR2(kp.Key, bad); err == nil {
			t.Errorf("%s: decrypted", name)
		}
	}
	if _, err := DecryptVERR2(kp.Key, raw[:200]); !errors.Is(err, ErrCredentialFormat) {
		t.Errorf("no splitter: %v, want ErrCredentialFormat", err)
	}
}

func FuzzDecryptVERR2(f *testing.F) {
	kp := mustKeyPair(f)
	raw, err := EncryptVERR2(kp.Cert, []byte("{}"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte("VER_R2#KEY_SPLITTER#"))
	f.Add([]byte("#KEY_SPLITTER#"))
	f.Add(append([]byte("VER_R2"), make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		plain, err := DecryptVERR2(kp.Key, data) // must not panic
		if err == nil && plain == nil {
			t.Fatal("no error and no plaintext")
		}
		_ = ThumbprintMatches(data, kp.Cert)
	})
}
