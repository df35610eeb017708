package mosipsim

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

type userDto struct {
	UserID string `json:"userId"`
	Role   string `json:"role"`
}

func (e *env) validate(cookie string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+PathValidateToken, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, body
}

func TestValidateToken(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.token(DevRegprocClient)

	resp, body := e.validate("Authorization=" + tok)
	r := decodeMOSIP[*userDto](t, body)
	if resp.StatusCode != http.StatusOK || len(r.Errors) != 0 || r.Response == nil {
		t.Fatalf("valid token: HTTP %d, %s", resp.StatusCode, body)
	}
	if got, want := r.Response.UserID, DevRegprocClient; got != want {
		t.Errorf("userId = %q, want %q", got, want)
	}
	if got, want := r.Response.Role, "OPENCRVS_MEDIATOR,REGISTRATION_PROCESSOR,"; got != want {
		t.Errorf("role = %q, want %q (MOSIP's comma-separated list, trailing comma)", got, want)
	}

	for _, tc := range []struct {
		name, cookie string
		status       int
		code         string
	}{
		{"no cookie", "", http.StatusOK, CodeCookiesEmpty},
		{"other cookie", "session=abc", http.StatusOK, CodeNoToken},
		{"not a JWT", "Authorization=abc", http.StatusUnauthorized, CodeAuthFailed},
		{"tampered", "Authorization=" + tamper(tok), http.StatusOK, CodeAuthFailed},
	} {
		resp, body := e.validate(tc.cookie)
		r := decodeMOSIP[*userDto](t, body)
		if resp.StatusCode != tc.status || r.Response != nil || !slices.Equal(errorCodes(r.Errors), []string{tc.code}) {
			t.Errorf("%s: HTTP %d %s; want HTTP %d with %s and no response", tc.name, resp.StatusCode, body, tc.status, tc.code)
		}
	}

	e.clock.advance(2 * time.Hour) // past TokenTTL
	resp, body = e.validate("Authorization=" + tok)
	if r := decodeMOSIP[*userDto](t, body); resp.StatusCode != http.StatusOK || !slices.Equal(errorCodes(r.Errors), []string{CodeAuthFailed}) {
		t.Errorf("expired token: HTTP %d %s; want HTTP 200 with %s", resp.StatusCode, body, CodeAuthFailed)
	}
}

func TestValidateTokenClientRoles(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.ClientRoles = map[string][]string{DevWebsubClient: {"PARTNER_ADMIN"}}
	})
	for client, want := range map[string]string{DevWebsubClient: "PARTNER_ADMIN,", DevRegprocClient: ""} {
		resp, body := e.validate("Authorization=" + e.token(client))
		r := decodeMOSIP[*userDto](t, body)
		if resp.StatusCode != http.StatusOK || r.Response == nil {
			t.Fatalf("%s: HTTP %d %s", client, resp.StatusCode, body)
		}
		if r.Response.Role != want {
			t.Errorf("%s: role = %q, want %q", client, r.Response.Role, want)
		}
	}
}

// tamper changes one character inside the token's signature.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
