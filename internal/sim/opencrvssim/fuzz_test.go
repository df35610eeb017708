package opencrvssim

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecodeSendRequest(f *testing.F) {
	f.Add([]byte(``))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"kind":"death","mode":"mapped","authenticated":false}`))
	f.Add([]byte(`{"bundle":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Composition","id":"c","identifier":{"value":"BABCDEF"},"type":{"coding":[{"code":"birth-declaration"}]}}}]}}`))
	f.Add([]byte(`{"bundle":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Task","code":{"coding":[{"code":"DEATH"}]},"identifier":[{"system":"x-tracking-id","value":"D1"}]}},{"resource":{"resourceType":"Composition","id":"c","type":[]}}]}}`))
	f.Add([]byte(`{"mode":"mapped","bundle":{"compositionId":"c","trackingId":"B","requestFields":{"birthCertificateNumber":"2025B"}}}`))
	f.Add([]byte(`{"bundle":null,"kind":"birth"} `))
	f.Add([]byte(`{"kind":"death","of":"3fa85f64-5717-4562-b3fc-2c963f66afa6","mode":"mapped"}`))
	f.Add([]byte(`{"kind":"birth-correction","of":"r1","changes":false}`))
	f.Add([]byte(`{"kind":"death-correction","of":"r1","mode":"fhir"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeSendRequest(body)
		if err != nil {
			return
		}
		switch req.Kind {
		case "", KindBirth, KindDeath, KindBirthCorrection, KindDeathCorrection:
		default:
			t.Fatalf("accepted kind %q", req.Kind)
		}
		if isCorrection(req.Kind) && (req.Of == "" || req.Bundle != nil || req.Authenticated != nil) {
			t.Fatalf("accepted a correction without of, or with a bundle or authenticated: %+v", req)
		}
		if req.Of != "" && req.Kind != KindDeath && !isCorrection(req.Kind) {
			t.Fatalf("accepted of with kind %q", req.Kind)
		}
		if req.Changes != nil && !isCorrection(req.Kind) {
			t.Fatalf("accepted changes with kind %q", req.Kind)
		}
		if req.Mode != ModeFHIR && req.Mode != ModeMapped {
			t.Fatalf("accepted mode %q", req.Mode)
		}
		if req.Bundle == nil {
			return
		}
		inspect := inspectBundle
		if req.Mode == ModeMapped {
			inspect = inspectMapped
		}
		id, _, kind, err := inspect(req.Bundle)
		if err != nil {
			return
		}
		if id == "" {
			t.Fatal("accepted a document without a record id")
		}
		if kind != "" && kind != KindBirth && kind != KindDeath {
			t.Fatalf("inspected kind %q", kind)
		}
	})
}

func FuzzParseGraphQLRequest(f *testing.F) {
	f.Add([]byte(`{"query":"mutation confirmRegistration($id: ID!, $details: ConfirmRegistrationInput!) { confirmRegistration(id: $id, details: $details) }","variables":{"id":"x","details":{"registrationNumber":"1"}}}`))
	f.Add([]byte(`{"query":"mutation { r: rejectRegistration(id: \"x\", details: {reason: \"other\", comment: \"\"\"block\"\"\"}) @skip(if: false) }"}`))
	f.Add([]byte(`{"query":"query a { x } mutation b { confirmRegistration(id: 1, details: {identifiers: [{type: NATIONAL_ID, value: \"1\"}], registrationNumber: \"r\"}) }","operationName":"b"}`))
	f.Add([]byte(`{"query":"# comment\n{ x }"}`))
	f.Add([]byte(`{"query":"mutation { a(b: [[[[1.5e3, -2, true, null]]]]) }"}`))
	f.Add([]byte(`{"query":"fragment f on X { y }"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, gerr := parseGraphQLRequest(body)
		if gerr != nil {
			if gerr.code == "" || gerr.message == "" || gerr.status == 0 {
				t.Fatalf("error without code, message or status: %+v", gerr)
			}
			return
		}
		if m.field == "" {
			t.Fatal("parsed a mutation without a field name")
		}
		for name, raw := range m.args {
			if !json.Valid(raw) {
				t.Fatalf("argument %s is not valid JSON: %s", name, raw)
			}
		}
	})
}

func FuzzDecodeFaults(f *testing.F) {
	f.Add([]byte(`{"latencyMs":10,"errorRate":0.5,"mode":"graphqlError","outage":false}`))
	f.Add([]byte(`{"errorRate":1e400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fl, err := decodeFaults(body)
		if err == nil && fl.validate() != nil {
			t.Fatalf("accepted invalid faults %+v", fl)
		}
	})
}

func TestParseMutation(t *testing.T) {
	t.Parallel()
	vars := map[string]json.RawMessage{"recordId": json.RawMessage(`"r1"`), "d": json.RawMessage(`{"registrationNumber":"N"}`)}
	tests := []struct {
		name      string
		query, op string
		wantField string
		wantArgs  map[string]string
		wantCode  string
	}{
		{
			name:      "variables under other names",
			query:     "mutation C($recordId: ID!, $d: ConfirmRegistrationInput!) {\n confirmRegistration(id: $recordId, details: $d)\n}",
			wantField: "confirmRegistration",
			wantArgs:  map[string]string{"id": `"r1"`, "details": `{"registrationNumber":"N"}`},
		},
		{
			name:      "literals, nested variables and enums",
			query:     `mutation { rejectRegistration(id: "r2", details: {reason: OTHER, comment: $recordId}) }`,
			wantField: "rejectRegistration",
			wantArgs:  map[string]string{"id": `"r2"`, "details": `{"comment":"r1","reason":"OTHER"}`},
		},
		{
			name:      "absent variable is null",
			query:     `mutation ($x: ID) { confirmRegistration(id: $x) }`,
			wantField: "confirmRegistration",
			wantArgs:  map[string]string{"id": `null`},
		},
		{
			name:      "operation chosen by name",
			query:     `mutation a { rejectRegistration(id: "1") } mutation b { confirmRegistration(id: "2") }`,
			op:        "b",
			wantField: "confirmRegistration",
			wantArgs:  map[string]string{"id": `"2"`},
		},
		{name: "several operations, no name", query: `mutation a { x } mutation b { y }`, wantCode: CodeBadRequest},
		{name: "unknown operation name", query: `mutation a { x }`, op: "z", wantCode: CodeBadRequest},
		{name: "subscription", query: `subscription { confirmRegistration(id: "1") }`, wantCode: CodeValidationFailed},
		{name: "fragment spread", query: `mutation { ...F }`, wantCode: CodeParseFailed},
		{name: "unterminated string", query: `mutation { a(b: "x) }`, wantCode: CodeParseFailed},
		{name: "unbalanced", query: `mutation ($a: [ID!]! { a }`, wantCode: CodeParseFailed},
		{name: "empty arguments", query: `mutation { a() }`, wantCode: CodeParseFailed},
		{name: "duplicate argument", query: `mutation { a(b: 1, b: 2) }`, wantCode: CodeParseFailed},
		{name: "bad number", query: `mutation { a(b: 1.2.3) }`, wantCode: CodeParseFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, gerr := parseMutation(tt.query, tt.op, vars)
			if tt.wantCode != "" {
				if gerr == nil || gerr.code != tt.wantCode {
					t.Fatalf("parseMutation = %+v, %v; want error %s", m, gerr, tt.wantCode)
				}
				return
			}
			if gerr != nil {
				t.Fatalf("parseMutation: %v", gerr)
			}
			got := map[string]string{}
			for k, v := range m.args {
				got[k] = string(v)
			}
			if m.field != tt.wantField {
				t.Errorf("field %q, want %q", m.field, tt.wantField)
			}
			if diff := cmp.Diff(tt.wantArgs, got); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}
