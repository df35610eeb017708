package fhir

import "encoding/json"

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
	System string           `json:"system"`
	Value  string           `json:"value"`
	Type   *codeableConcept `json:"type"`
}

type extension struct {
	URL                  string           `json:"url"`
	ValueString          string           `json:"valueString"`
	ValueCodeableConcept *codeableConcept `json:"valueCodeableConcept"`
	Extension            []extension      `json:"extension"`
}

type humanName struct {
	Use    string   `json:"use"`
	Given  []string `json:"given"`
	Family string   `json:"family"`
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
	Focus          *reference       `json:"focus"`
	Identifier     []identifier     `json:"identifier"`
	Extension      []extension      `json:"extension"`
	BusinessStatus *codeableConcept `json:"businessStatus"`
	LastModified   string           `json:"lastModified"`
}

type patient struct {
	Active           *bool        `json:"active"`
	Name             []humanName  `json:"name"`
	Gender           string       `json:"gender"`
	BirthDate        string       `json:"birthDate"`
	DeceasedDateTime string       `json:"deceasedDateTime"`
	Identifier       []identifier `json:"identifier"`
	Address          []address    `json:"address"`
	Extension        []extension  `json:"extension"`
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
