package opencrvs

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClaimsUnmarshalJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Claims
		wantErr bool
	}{
		{"aud string", `{"aud":"a","exp":10}`, Claims{Audience: []string{"a"}, Expiry: 10}, false},
		{"aud list", `{"aud":["a","b"]}`, Claims{Audience: []string{"a", "b"}}, false},
		{"aud null, empty string", `{"aud":null,"sub":""}`, Claims{}, false},
		{"aud empty string", `{"aud":""}`, Claims{}, false},
		{"scope list", `{"scope":["x","y"]}`, Claims{Scope: []string{"x", "y"}}, false},
		{"scope space-separated", `{"scope":" x  y "}`, Claims{Scope: []string{"x", "y"}}, false},
		{"fractional dates", `{"exp":10.9,"nbf":5.2,"iat":1e3}`, Claims{Expiry: 10, NotBefore: 5, IssuedAt: 1000}, false},
		{"1.9 ids", `{"eventId":"e","actionId":"a","userType":"system"}`, Claims{EventID: "e", ActionID: "a", UserType: "system"}, false},
		{"aud number", `{"aud":1}`, Claims{}, true},
		{"aud list of numbers", `{"aud":[1]}`, Claims{}, true},
		{"scope object", `{"scope":{}}`, Claims{}, true},
		{"exp string", `{"exp":"10"}`, Claims{}, true},
		{"exp too large", `{"exp":1e300}`, Claims{}, true},
		{"exp int too large", `{"exp":9223372036854775807}`, Claims{}, true},
		{"recordId number", `{"recordId":5}`, Claims{}, true},
		{"not an object", `[]`, Claims{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got Claims
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				if err == nil {
					t.Errorf("Unmarshal(%s) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimsHasScope(t *testing.T) {
	t.Parallel()
	c := Claims{Scope: []string{ScopeConfirmRegistration}}
	if !c.HasScope(ScopeConfirmRegistration) || c.HasScope(ScopeRejectRegistration) {
		t.Errorf("HasScope wrong for %v", c.Scope)
	}
}
