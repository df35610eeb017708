package opencrvssim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MOSIP registration client values a country config puts in packet
// metadata (the ids of its MOSIP registration centre and machine).
const (
	mosipCenterID  = "10002"
	mosipMachineID = "10003"
)

// mosipDate formats a date as MOSIP ID schema fields want it (YYYY/MM/DD).
func mosipDate(t time.Time) string { return t.Format("2006/01/02") }

// mosipPhone turns "+2609XXXXXXXX" into the ten digits MOSIP's phone
// validator (^[+]*([0-9]{1})([0-9]{9})$) accepts: the national form 0 + 9
// digits.
func mosipPhone(e164 string) string {
	digits := strings.TrimPrefix(e164, "+260")
	return "0" + digits
}

func eng(v string) []any { return []any{obj{"language": "eng", "value": v}} }

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// labelled renders MOSIP's metaInfo lists: JSON text of [{label, value}].
func labelled(pairs ...any) string {
	list := make([]obj, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		list = append(list, obj{"label": pairs[i], "value": pairs[i+1]})
	}
	b, _ := json.Marshal(list) // strings and nils only: cannot fail
	return string(b)
}

// buildMapped renders a declaration as the @opencrvs/mosip country-config
// library posts it to /events/registration after the country's rules and
// mapping (the MosipInteropPayload, with MOSIP-style field values as the
// later Farajaland handler produces them).
func buildMapped(d *declaration, compositionID, trackingID string) obj {
	created := d.createdAt.UTC()
	certificate := fmt.Sprintf("%d%s", created.Year(), trackingID)
	subject := d.subject
	addr := subject.addr
	if addr == nil { // a child lives at the mother's address
		addr = d.mother.addr
	}
	fields := obj{
		"fullName":      eng(subject.fullName()),
		"dateOfBirth":   mosipDate(subject.birthDate),
		"gender":        eng(capitalise(subject.gender)),
		"addressLine1":  eng(addr.number + " " + addr.street),
		"addressLine2":  eng(addr.area),
		"district":      eng(addr.district.name),
		"province":      eng(addr.district.state),
		"postalCode":    addr.district.postalCode,
		"preferredLang": "eng",
		"email":         d.email,
		"phone":         mosipPhone(d.phone),
	}
	regType := "CRVS_NEW"
	if d.kind == "birth" {
		fields["birthCertificateNumber"] = certificate
		fields["guardianOrParentName"] = eng(d.mother.fullName())
	} else {
		regType = "CRVS_DEATH"
		fields["deathCertificateNumber"] = certificate
		fields["nationalIdNumber"] = subject.nid
		fields["deathDeclared"] = "yes"
		fields["dateOfDeath"] = mosipDate(d.deathDate)
	}
	reg := registrars[d.registrar]
	informant := d.informantPerson()
	at := created.Format(fhirInstant)
	return obj{
		"compositionId": compositionID,
		"trackingId":    trackingID,
		"notification": obj{
			"recipientFullName": informant.fullName(),
			"recipientEmail":    d.email,
			"recipientPhone":    d.phone,
		},
		"requestFields": fields,
		"metaInfo": obj{
			"metaData": labelled(
				"registrationType", regType,
				"centerId", mosipCenterID,
				"machineId", mosipMachineID,
			),
			"operationsData": labelled(
				"officerId", reg.username,
				"officerPIN", nil,
				"officerPassword", nil,
				"officerBiometricFileName", nil,
				"officerOTPAuthentication", nil,
				"supervisorId", nil,
				"supervisorPIN", nil,
				"supervisorPassword", nil,
				"supervisorBiometricFileName", nil,
				"supervisorOTPAuthentication", nil,
			),
			"registrationId":            certificate,
			"creationDate":              created.Format("20060102150405"),
			"capturedRegisteredDevices": "[]",
		},
		"audit": obj{
			"uuid":            newUUID(),
			"createdAt":       at,
			"eventId":         "REG-EVT-066",
			"eventName":       "PACKET_CREATION_SUCCESS",
			"eventType":       "USER",
			"hostName":        "countryconfig",
			"hostIp":          "127.0.0.1",
			"applicationId":   "REG",
			"applicationName": "REGISTRATION",
			"sessionUserId":   reg.username,
			"sessionUserName": reg.given + " " + reg.family,
			"id":              certificate,
			"idType":          "REGISTRATION_ID",
			"createdBy":       reg.username,
			"moduleName":      "Packet Handler",
			"moduleId":        "REG-MOD-117",
			"description":     "Packet created for OpenCRVS record " + trackingID,
			"actionTimeStamp": at,
		},
	}
}
