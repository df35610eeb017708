package esignet

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Claims are the user info claims the mediator reads, from a verified user
// info JWT. E-Signet sends what the person consented to; any may be empty.
type Claims struct {
	Subject    string // the partner-specific user token (PSUT), not the national ID
	Name       string
	GivenName  string
	MiddleName string
	FamilyName string
	Gender     string
	// Birthdate as E-Signet sends it: "YYYY/MM/DD" (MOSIP), or the OIDC
	// "YYYY-MM-DD".
	Birthdate   string
	Email       string
	PhoneNumber string
}

// claimsFromJSON reads the claims of a user info payload. A claim may also
// come language-tagged ("name#eng") when the client asked for claims
// locales; the plain claim wins, else the first tagged one in key order.
func claimsFromJSON(payload []byte) (Claims, map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		return Claims{}, nil, fmt.Errorf("the user info payload is not a JSON object: %w", err)
	}
	get := func(name string) string {
		if v, ok := m[name]; ok {
			return text(v)
		}
		best := ""
		for k := range m {
			if strings.HasPrefix(k, name+"#") && (best == "" || k < best) {
				best = k
			}
		}
		if best == "" {
			return ""
		}
		return text(m[best])
	}
	return Claims{
		Subject:     get("sub"),
		Name:        get("name"),
		GivenName:   get("given_name"),
		MiddleName:  get("middle_name"),
		FamilyName:  get("family_name"),
		Gender:      get("gender"),
		Birthdate:   get("birthdate"),
		Email:       get("email"),
		PhoneNumber: get("phone_number"),
	}, m, nil
}

// text is a claim value as text: a string as it is, a number or boolean
// in JSON, a [{language, value}] list (MOSIP's multilingual form) its
// first value; anything else "".
func text(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64, bool:
		b, _ := json.Marshal(v)
		return string(b)
	case []any:
		for _, e := range v {
			if o, ok := e.(map[string]any); ok {
				if s, ok := o["value"].(string); ok {
					return strings.TrimSpace(s)
				}
			}
		}
	}
	return ""
}

// FormName is a person's name as OpenCRVS's form fields read it.
type FormName struct {
	Firstname  string `json:"firstname"`
	Middlename string `json:"middlename"`
	Surname    string `json:"surname"`
}

// FormData is the answer of POST /esignet/get-oidp-user-info: the shape
// OpenCRVS forms read (the same keys as OpenCRVS's mosip-api answers, so a
// form works with either), plus the signed user info itself.
type FormData struct {
	Name   FormName `json:"name"`
	Gender string   `json:"gender"`
	// BirthDate is "YYYY-MM-DD"; empty (and left out) when E-Signet sent
	// none or sent a date that could not be read.
	BirthDate string `json:"birthDate,omitempty"`
	// VerificationStatus is "authenticated": the person signed in to
	// E-Signet.
	VerificationStatus string `json:"verificationStatus"`
	// UserInfoToken is the verified user info JWT as E-Signet signed it,
	// for a form that keeps it (it is what MOSIP takes as a packet's
	// introducerInfoToken).
	UserInfoToken string `json:"userInfoToken"`
}

// MarshalJSON writes dobUnknown null next to a birth date, and idType and
// nid null, as mosip-api does: the form's ID-reader fields are cleared.
func (f FormData) MarshalJSON() ([]byte, error) {
	type plain FormData
	out := struct {
		plain
		DobUnknown *bool   `json:"dobUnknown"`
		IDType     *string `json:"idType"`
		NID        *string `json:"nid"`
	}{plain: plain(f)}
	if f.BirthDate == "" {
		return json.Marshal(struct {
			plain
			IDType *string `json:"idType"`
			NID    *string `json:"nid"`
		}{plain: plain(f)})
	}
	return json.Marshal(out)
}

// Form maps verified claims to what the form reads. The name comes from
// given_name, middle_name and family_name; when E-Signet sent only name,
// its first word is the first name, its last the surname and the words
// between the middle name. Gender is lower-cased ("Male" -> "male").
func (c Claims) Form() FormData {
	n := FormName{Firstname: c.GivenName, Middlename: c.MiddleName, Surname: c.FamilyName}
	if n.Firstname == "" && n.Surname == "" && c.Name != "" {
		words := strings.Fields(c.Name)
		n.Firstname = words[0]
		if len(words) > 1 {
			n.Surname = words[len(words)-1]
			n.Middlename = strings.Join(words[1:len(words)-1], " ")
		}
	}
	return FormData{
		Name:               n,
		Gender:             strings.ToLower(c.Gender),
		BirthDate:          isoDate(c.Birthdate),
		VerificationStatus: "authenticated",
	}
}

// isoDate turns E-Signet's "YYYY/MM/DD" (or "YYYY-MM-DD") into
// "YYYY-MM-DD", checking that the date exists; "" for anything else. The
// date is never converted through a time zone.
func isoDate(s string) string {
	for _, layout := range []string{"2006/01/02", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02")
		}
	}
	return ""
}
