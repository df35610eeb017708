package mosip

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"
)

func mustKeyPair(t testing.TB) *KeyPair {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test partner"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &KeyPair{Key: key, Cert: cert}
}

func TestCredentialRoundTrip(t *testing.T) {
	kp := mustKeyPair(t)
	plain := []byte(`{"credentialSubject":{"id":"10001100040000120261123185900","UIN":"1234"}}`)
	enc, err := EncryptCredential(kp.Cert, plain)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"urlsafe":  enc,
		"standard": strings.NewReplacer("-", "+", "_", "/").Replace(enc),
		"padded":   enc + strings.Repeat("=", (4-len(enc)%4)%4),
	} {
		got, err := DecryptCredential(kp.Key, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != string(plain) {
			t.Errorf("%s: got %q, want %q", name, got, plain)
		}
	}
}

func TestDecryptCredentialRejects(t *testing.T) {
	kp := mustKeyPair(t)
	other := mustKeyPair(t)
	enc, err := EncryptCredential(other.Cert, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(enc)
	tampered[len(tampered)-5] ^= 1
	for name, data := range map[string]string{
		"other key":  enc,
		"not base64": "%%%",
		"no split":   "VkVSX1IyAAAA",
		"empty":      "",
	} {
		if _, err := DecryptCredential(kp.Key, data); err == nil {
			t.Errorf("%s: decrypted, want an error", name)
		}
	}
	if _, err := DecryptCredential(other.Key, string(tampered)); err == nil {
		t.Error("tampered ciphertext decrypted, want an error")
	}
}

// A credential that a MOSIP deployment delivered (to a 4096-bit partner key
// we do not have) splits into the parts our encryption produces; the public
// development keystore cannot open it and says so.
func TestSampleCredentialFraming(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/credentials/encrypted-sample-received-credentials.json")
	if err != nil {
		t.Fatal(err)
	}
	var event struct {
		Event struct {
			Data struct {
				Credential string `json:"credential"`
			} `json:"data"`
		} `json:"event"`
	}
	if err := json.Unmarshal(raw, &event); err != nil {
		t.Fatal(err)
	}
	env, err := parseEnvelope(event.Event.Data.Credential)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.thumbprint) != 32 || len(env.encKey) != 512 || len(env.aad) != 32 || len(env.sealed) <= 16 {
		t.Errorf("parts: thumbprint %d, key %d, aad %d, sealed %d bytes; want 32, 512, 32, >16",
			len(env.thumbprint), len(env.encKey), len(env.aad), len(env.sealed))
	}
	kp, err := LoadPKCS12("../../testdata/keys/keystore.p12", "mosip123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecryptCredential(kp.Key, event.Event.Data.Credential); err == nil {
		t.Error("the development key opened a credential encrypted to another key")
	}
}

func TestPKCS12RoundTrip(t *testing.T) {
	kp := mustKeyPair(t)
	data, err := EncodePKCS12(kp, "secret")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePKCS12(data, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Key.Equal(kp.Key) || !got.Cert.Equal(kp.Cert) {
		t.Error("keystore round trip changed the key pair")
	}
	if _, err := ParsePKCS12(data, "wrong"); err == nil {
		t.Error("wrong password accepted")
	}
}

func TestVerhoeff(t *testing.T) {
	// 236 -> check digit 3 (the textbook example); 12345 -> 1.
	for in, want := range map[string]byte{"236": '3', "12345": '1', "0": '4'} {
		if got := VerhoeffDigit(in); got != want {
			t.Errorf("VerhoeffDigit(%s) = %c, want %c", in, got, want)
		}
		if !VerhoeffValid(in + string(want)) {
			t.Errorf("VerhoeffValid(%s%c) = false", in, want)
		}
	}
	if VerhoeffValid("2364") || VerhoeffValid("") || VerhoeffValid("23a3") {
		t.Error("VerhoeffValid accepted an invalid number")
	}
	// Every single-digit error is caught.
	n := "7346597054"
	n += string(VerhoeffDigit(n))
	for i := range n {
		for d := byte('0'); d <= '9'; d++ {
			if d == n[i] {
				continue
			}
			b := []byte(n)
			b[i] = d
			if VerhoeffValid(string(b)) {
				t.Fatalf("VerhoeffValid(%s) = true after changing digit %d", b, i)
			}
		}
	}
}

func FuzzDecryptCredential(f *testing.F) {
	kp := mustKeyPair(f)
	enc, _ := EncryptCredential(kp.Cert, []byte("{}"))
	f.Add(enc)
	f.Add("VkVSX1IyI0tFWV9TUExJVFRFUiM")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = DecryptCredential(kp.Key, s) // must not panic
	})
}

func TestParseCredential(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Credential
	}{
		{"mosip formatted", `{"credentialSubject":{"id":"10001100040000120261123185900","UIN":"7346597054","VID":4759308162938475}}`,
			Credential{RegistrationID: "10001100040000120261123185900", UIN: "7346597054", VID: "4759308162938475"}},
		{"w3c birth", `{"credentialSubject":{"id":"http://credential.idrepo/credentials/100011234567890","VID":"6789","birthCertificateNumber":"2025BXXDBIC","vcVer":"VC-V1"}}`,
			Credential{RegistrationID: "100011234567890", VID: "6789"}},
		{"w3c death", `{"credentialSubject":{"id":"http://credential.idrepo/credentials/100011234567891/","vcVer":"VC-V1"}}`,
			Credential{RegistrationID: "100011234567891"}},
	}
	for _, tt := range tests {
		got, err := ParseCredential([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if *got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, *got, tt.want)
		}
	}
	for _, bad := range []string{`nope`, `{}`, `{"credentialSubject":{}}`, `{"credentialSubject":{"id":{}}}`} {
		if _, err := ParseCredential([]byte(bad)); err == nil {
			t.Errorf("ParseCredential(%s) succeeded, want an error", bad)
		}
	}
}

// The mediator's one unavoidable cost per record: opening the credential
// (an RSA-2048 OAEP decryption).
func BenchmarkDecryptCredential(b *testing.B) {
	kp := mustKeyPair(b)
	enc, err := EncryptCredential(kp.Cert, []byte(`{"credentialSubject":{"id":"10001100040000120261123185900","UIN":"7346597054","VID":"4759308162938475"}}`))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := DecryptCredential(kp.Key, enc); err != nil {
			b.Fatal(err)
		}
	}
}
