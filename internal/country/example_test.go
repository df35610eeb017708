package country_test

import (
	"fmt"
	"os"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/country"
)

// A small configuration: births of children under 5 go to MOSIP when the
// mother proved her identity with E-Signet.
func Example() {
	const yaml = `
timeZone: Africa/Lusaka
birth:
  verification:
    mother: {answers: [birth.mother.mother-view-group.verified]}
  forward: ageInYears(child.birthDate) < 5 && mother.verification == "authenticated"
  fields: |
    {
      fullName: (.child.name.full | mosipText),
      dateOfBirth: (.child.birthDate | mosipDate),
      gender: (.child.gender | titleCase | mosipText),
      guardianOrParentName: (firstNonEmpty(.mother.name.full, .father.name.full) | mosipText),
      birthCertificateNumber: .registrationNumber
    }
`
	cfg, err := country.Parse([]byte(yaml), "example.yaml", country.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := &bridge.Record{
		Event: bridge.EventBirth, RecordID: "3f1c", TrackingID: "BXXDBIC",
		Child:   &bridge.Person{Name: bridge.Name{Full: "Toni Sami"}, BirthDate: "2024-01-01", Gender: "male"},
		Mother:  &bridge.Person{Name: bridge.Name{Full: "Mom Sami"}},
		Answers: map[string]string{"birth.mother.mother-view-group.verified": "authenticated"},
	}
	out, err := cfg.Evaluate(rec, time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("forward:", out.Forward)
	fmt.Println("reason:", out.Reason)
	fmt.Println("registration number:", out.RegistrationNumber)
	for _, k := range []string{"fullName", "dateOfBirth", "gender", "guardianOrParentName", "birthCertificateNumber"} {
		fmt.Printf("%s: %s\n", k, out.Packet.Fields[k])
	}
	// Output:
	// forward: true
	// reason: birth.forward is true: ageInYears(child.birthDate) < 5 is true (ageInYears(child.birthDate) = 1), mother.verification == "authenticated" is true
	// registration number: 2025BXXDBIC
	// fullName: [{"language":"eng","value":"Toni Sami"}]
	// dateOfBirth: "2024/01/01"
	// gender: [{"language":"eng","value":"Male"}]
	// guardianOrParentName: [{"language":"eng","value":"Mom Sami"}]
	// birthCertificateNumber: "2025BXXDBIC"
}

// Mistakes stop the load, each with its line.
func ExampleParse_errors() {
	const yaml = `
birth:
  forward: ageInYears(chld.birthDate) < 10
  fields: |
    {
      fullName: (.child.name.full | mosipText)
      dateOfBirth: (.child.birthDate | mosipDate)
    }
deth:
  forward: true
`
	_, err := country.Parse([]byte(yaml), "country.yaml", country.Options{})
	fmt.Println(err)
	// Output:
	// country.yaml:9: unknown key "deth" (allowed here: timeZone, language, registrationNumber, passed, idSchema, vars, jq, metaInfo, audit, notification, birth, death, rejectionReasons)
}

// Once the keys are right, rules and programs are compiled and checked.
func ExampleParse_programErrors() {
	const yaml = `
birth:
  forward: ageInYears(chld.birthDate) < 10
  fields: |
    {
      fullName: (.child.name.full | mosipText)
      dateOfBirth: (.child.birthDate | mosipDate)
    }
`
	_, err := country.Parse([]byte(yaml), "country.yaml", country.Options{})
	fmt.Println(err)
	// Output:
	// country.yaml:3: birth.forward: unknown name chld (rule line 1, column 12)
	// country.yaml:7: birth.fields: jq: unexpected token "dateOfBirth" (program line 3)
}

// `opencrvs-mosip config check` without --record: the embedded default on
// the embedded sample birth.
func ExampleConfig_Check() {
	cfg, err := country.Load("", country.Options{Vars: map[string]string{"centerId": "10002", "machineId": "10003"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := cfg.Check(os.Stdout, nil, time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// configuration        default.yaml (embedded)
	// record               birth BN6TQN5 (OpenCRVS record be3d5c4a-3100-4501-80e3-d19d65b371d3)
	// decision             forward to MOSIP as CRVS_NEW
	// reason               birth.forward is true: ageInYears(child.birthDate) < 10 is true (ageInYears(child.birthDate) = 0), mother.authenticated is true, father.authenticated is false, informant.authenticated is true
	// registration number  2025BN6TQN5
	//
	// verification
	//   child               none recorded
	//   mother              verified (passed)
	//   father              none recorded
	//   informant (MOTHER)  verified (passed)
	//
	// fields (process CRVS_NEW)
	//   addressLine1            [{"language":"eng","value":"Ibombo"}]
	//   birthCertificateNumber  2025BN6TQN5
	//   dateOfBirth             2025/01/01
	//   district                [{"language":"eng","value":"Ibombo"}]
	//   email                   mother@mother.com
	//   fullName                [{"language":"eng","value":"John Doe"}]
	//   gender                  [{"language":"eng","value":"Male"}]
	//   guardianOrParentName    [{"language":"eng","value":"Jane Doe"}]
	//   phone                   0911111111
	//   province                [{"language":"eng","value":"Central"}]
	//
	// metaInfo
	//   capturedRegisteredDevices  []
	//   creationDate               20250315100000
	//   metaData                   [{"label":"centerId","value":"10002"},{"label":"machineId","value":"10003"},{"label":"registrationType","value":"CRVS_NEW"}]
	//   operationsData             [{"label":"officerId","value":"opencrvs"}]
	//   registrationId             2025BN6TQN5
	//
	// audit
	//   actionTimeStamp  2025-03-15T10:00:00.000Z
	//   applicationId    REG
	//   applicationName  REGISTRATION
	//   createdAt        2025-03-15T10:00:00.000Z
	//   createdBy        opencrvs
	//   description      Packet created for OpenCRVS record BN6TQN5
	//   eventId          REG-EVT-066
	//   eventName        PACKET_CREATION_SUCCESS
	//   eventType        USER
	//   hostIp           127.0.0.1
	//   hostName         opencrvs-mosip
	//   id               be3d5c4a-3100-4501-80e3-d19d65b371d3
	//   idType           REGISTRATION_ID
	//   moduleId         REG-MOD-117
	//   moduleName       Packet Handler
	//   sessionUserId    opencrvs
	//   sessionUserName  opencrvs
	//   uuid             452a6f67-3919-5033-885c-eaa0215435ae
	//
	// notification
	//   name   Jane Doe
	//   email  mother@mother.com
	//   phone  0911111111
}
