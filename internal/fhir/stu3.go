package fhir

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Minimal FHIR STU3 shapes: only what the mediator reads. encoding/json
// ignores every other key, so OpenCRVS's extra keys (_transforms, _request,
// geojson extensions) cost nothing but scanning.

type bundle struct {
	ResourceType string  `json:"resourceType"`
	Meta         *meta   `json:"meta"`
	Entry        []entry `json:"entry"`
}

type entry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

type meta struct {
	LastUpdated string `json:"lastUpdated"`
}

// resourceHeader is decoded from every entry to index the bundle.
type resourceHeader struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type codeableConcept struct {
	Coding []coding `json:"coding"`
	Text   string   `json:"text"`
}

// code returns the first non-empty code.
func (c *codeableConcept) code() string {
	if c == nil {
		return ""
	}
	for _, cd := range c.Coding {
		if cd.Code != "" {
			return cd.Code
		}
	}
	return ""
}

type reference struct {
	Reference string `json:"reference"`
}

type identifier struct {
	System string          `json:"system"`
	Value  string          `json:"value"`
	Type   *identifierType `json:"type"`
}

// sysIdentifierType is the system of OpenCRVS's identifier type codes.
const sysIdentifierType = "http://opencrvs.org/specs/identifier-type"

// identifierType is an identifier's type. OpenCRVS writes a
// CodeableConcept, {"coding":[{"system":sysIdentifierType,
// "code":"BIRTH_REGISTRATION_NUMBER"}]}; OpenCRVS of 2022 (the webhook
// samples of mosip/mosip-opencrvs) a bare code, "BIRTH_REGISTRATION_NUMBER".
// Both are read; a bare code becomes the one coding.
type identifierType struct {
	codeableConcept
}

func (t *identifierType) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) > 0 && data[0] == '"':
		var code string
		if err := json.Unmarshal(data, &code); err != nil {
			return err
		}
		*t = identifierType{codeableConcept{Coding: []coding{{Code: strings.TrimSpace(code)}}}}
		return nil
	case string(data) == "null":
		return nil
	case len(data) == 0 || data[0] != '{':
		return &json.UnmarshalTypeError{Value: jsonKind(data), Type: reflect.TypeFor[codeableConcept]()}
	}
	type plain codeableConcept // without this method
	return json.Unmarshal(data, (*plain)(&t.codeableConcept))
}

// code returns the type code: the code of OpenCRVS's identifier-type
// coding, else the first non-empty code.
func (t *identifierType) code() string {
	if t == nil {
		return ""
	}
	for _, c := range t.Coding {
		if c.System == sysIdentifierType && strings.TrimSpace(c.Code) != "" {
			return strings.TrimSpace(c.Code)
		}
	}
	return strings.TrimSpace(t.codeableConcept.code())
}

// is reports whether any coding has code.
func (t *identifierType) is(code string) bool {
	if t == nil {
		return false
	}
	for _, c := range t.Coding {
		if strings.TrimSpace(c.Code) == code {
			return true
		}
	}
	return false
}

// familyName is a HumanName's family: a string in FHIR STU3, an array of
// strings in OpenCRVS bundles of 2022 (the webhook samples); the parts are
// joined with spaces.
type familyName string

func (f *familyName) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '[' {
		var parts []string
		if err := json.Unmarshal(data, &parts); err != nil {
			return err
		}
		*f = familyName(strings.Join(parts, " "))
		return nil
	}
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(data), Type: reflect.TypeFor[string]()}
	}
	*f = familyName(s)
	return nil
}

// jsonKind names the kind of a JSON value as encoding/json's errors do.
func jsonKind(data []byte) string {
	if len(data) == 0 {
		return "nothing"
	}
	switch data[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

type extension struct {
	URL                  string           `json:"url"`
	ValueString          string           `json:"valueString"`
	ValueCodeableConcept *codeableConcept `json:"valueCodeableConcept"`
	Extension            []extension      `json:"extension"`
}

type humanName struct {
	Use    string     `json:"use"`
	Given  []string   `json:"given"`
	Family familyName `json:"family"`
}

type address struct {
	Type       string   `json:"type"`
	Line       []string `json:"line"`
	City       string   `json:"city"`
	District   string   `json:"district"`
	State      string   `json:"state"`
	PostalCode string   `json:"postalCode"`
	Country    string   `json:"country"`
}

type composition struct {
	ID         string           `json:"id"`
	Type       *codeableConcept `json:"type"`
	Identifier *identifier      `json:"identifier"`
	Section    []struct {
		Code  *codeableConcept `json:"code"`
		Entry []reference      `json:"entry"`
	} `json:"section"`
}

type task struct {
	Code           json.RawMessage  `json:"code"` // read by ParseDelivered only
	Focus          *reference       `json:"focus"`
	Identifier     []identifier     `json:"identifier"`
	Extension      []extension      `json:"extension"`
	BusinessStatus *codeableConcept `json:"businessStatus"`
	LastModified   string           `json:"lastModified"`
}

type patient struct {
	Active           *bool           `json:"active"`
	Name             []humanName     `json:"name"`
	Gender           string          `json:"gender"`
	BirthDate        string          `json:"birthDate"`
	DeceasedBoolean  json.RawMessage `json:"deceasedBoolean"` // read by ParseDelivered only
	DeceasedDateTime string          `json:"deceasedDateTime"`
	Identifier       []identifier    `json:"identifier"`
	Address          []address       `json:"address"`
	Extension        []extension     `json:"extension"`
}

type relatedPerson struct {
	Relationship *codeableConcept `json:"relationship"`
	Patient      *reference       `json:"patient"`
}

type encounter struct {
	Location []struct {
		Location *reference `json:"location"`
	} `json:"location"`
}

type location struct {
	ID   string           `json:"id"`
	Name string           `json:"name"`
	Type *codeableConcept `json:"type"`
}

type questionnaireResponse struct {
	Item []qrItem `json:"item"`
}

type qrItem struct {
	Text   string     `json:"text"`
	Answer []qrAnswer `json:"answer"`
	Item   []qrItem   `json:"item"`
}

type qrAnswer struct {
	ValueString   *string      `json:"valueString"`
	ValueBoolean  *bool        `json:"valueBoolean"`
	ValueInteger  *json.Number `json:"valueInteger"`
	ValueDate     *string      `json:"valueDate"`
	ValueDateTime *string      `json:"valueDateTime"`
	ValueCoding   *coding      `json:"valueCoding"`
}
