package mosipsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestIdentityQR(t *testing.T) {
	e := newEnv(t, nil)
	v, err := e.sim.AddIdentity(SeedIdentity{Fields: map[string]string{"fullName": `[{"language":"eng","value":"Amina Banda"}]`, "dateOfBirth": "2001/02/03"}})
	if err != nil {
		t.Fatal(err)
	}

	// The JWS verifies with the key the simulator publishes under its kid.
	resp, body := e.do(http.MethodGet, "/sim/identities/"+v.VID+"/qr", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET qr: %d %s", resp.StatusCode, body)
	}
	obj, err := jose.ParseSignedCompact(string(body), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	set := e.sim.JWKS()
	keys := set.Key(obj.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q names %d published keys", obj.Signatures[0].Header.KeyID, len(keys))
	}
	payload, err := obj.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("the printed code does not verify with the published key: %v", err)
	}
	var claims struct {
		Subject map[string]any `json:"credentialSubject"`
		Exp     *int64         `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Subject["UIN"] != v.UIN || claims.Subject["dateOfBirth"] != "2001/02/03" || claims.Exp != nil {
		t.Errorf("payload %s", payload)
	}
	if _, ok := claims.Subject["fullName"].([]any); !ok {
		t.Errorf("fullName is not kept as MOSIP's language list: %s", payload)
	}

	resp, body = e.do(http.MethodGet, "/sim/identities/"+v.UIN+"/qr?format=claim169&validity=24h", "", nil)
	if resp.StatusCode != http.StatusOK || strings.Trim(string(body), base45Chars) != "" {
		t.Errorf("claim169: %d %q is not Base45", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/sim/identities/999999999/qr", http.StatusNotFound},
		{"/sim/identities/" + v.UIN + "/qr?format=pdf", http.StatusBadRequest},
		{"/sim/identities/" + v.UIN + "/qr?validity=soon", http.StatusBadRequest},
	} {
		if resp, body := e.do(http.MethodGet, tc.path, "", nil); resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d %s, want %d", tc.path, resp.StatusCode, body, tc.want)
		}
	}
}

const base45Chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
