package esignet

import (
	"encoding/json"
	"testing"
)

// FuzzUserInfoClaims feeds arbitrary (verified, but E-Signet-controlled)
// user info payloads to the claim reader and the form mapping: no panic,
// and a birth date is either empty or YYYY-MM-DD.
func FuzzUserInfoClaims(f *testing.F) {
	f.Add([]byte(`{"sub":"x","given_name":"Jenny","middle_name":"Debra","family_name":"Doe","gender":"Female","birthdate":"2002/02/01"}`))
	f.Add([]byte(`{"name#eng":"Mary Ann Smith","gender":[{"language":"eng","value":"Male"}],"birthdate":7}`))
	f.Add([]byte(`{"name":"   "}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, _, err := claimsFromJSON(payload)
		if err != nil {
			return
		}
		form := c.Form()
		if d := form.BirthDate; d != "" && len(d) != len("2006-01-02") {
			t.Fatalf("birth date %q", d)
		}
		if _, err := json.Marshal(form); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseClientKey: a key file of any content is an error or a key that
// can sign.
func FuzzParseClientKey(f *testing.F) {
	f.Add([]byte(`{"kty":"RSA"}`))
	f.Add([]byte("eyJrdHkiOiJSU0EifQ=="))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParseClientKey(data)
		if err != nil {
			return
		}
		if _, err := signingAlgorithm(key); err != nil {
			t.Fatalf("parsed a key that cannot sign: %v", err)
		}
	})
}
