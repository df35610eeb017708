package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
	"opencrvs-mosip/internal/ida"
)

// reviewPerson is one person of a bundle to verify.
type reviewPerson struct {
	section string // informant, mother, father, deceased, spouse
	person  *bridge.Person
	fieldID string
	status  string // verified, failed, authenticated
	err     error
}

// reviewAnswer is the answer of POST /events/review: mosip-api's
// verification status (a person is true when IDA verified them or
// E-Signet authenticated them), which the country config's
// shouldForwardToIDSystem reads, plus Persons: the status of each person
// that was checked ("verified", "failed", "authenticated").
type reviewAnswer struct {
	Father    bool              `json:"father"`
	Mother    bool              `json:"mother"`
	Informant bool              `json:"informant"`
	Deceased  bool              `json:"deceased"`
	Spouse    bool              `json:"spouse"`
	Persons   map[string]string `json:"persons"`
}

// review is POST /events/review (OpenCRVS 1.8): every person of the FHIR
// bundle with a national ID (informant, mother, father, deceased, spouse;
// the informant only when they have no section of their own) is verified
// against MOSIP IDA, then the section's verified field
// ("<event>.<section>.<section>-view-group.verified") is set in OpenCRVS
// through GraphQL updateField with the caller's token. A form's own
// "authenticated" (E-Signet) is not taken on trust: the person is verified
// through IDA too. The token must be for the bundle's record.
//
// If IDA gives no answer for someone, nothing is written to OpenCRVS and
// the answer is 502 problem JSON: the hook can send the bundle again.
func (h *handler) review(w http.ResponseWriter, r *http.Request) {
	claims, token, err := h.authenticateScope(r, "")
	if err == nil {
		err = h.idaConfigured()
	}
	if err == nil && h.Fields == nil {
		err = bridge.Errorf(bridge.EUnavailable, "the mediator has no OpenCRVS GraphQL gateway to update fields")
	}
	var body []byte
	if err == nil {
		body, err = readBody(w, r, h.MaxBodyBytes)
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	rec, err := fhir.Parse(body)
	if err == nil && claims.RecordID != "" && claims.RecordID != rec.RecordID {
		// The token may write to its own record only.
		err = bridge.Errorf(bridge.EForbidden, "the token is for OpenCRVS record %s but the bundle is record %s", claims.RecordID, rec.RecordID)
	}
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	persons := reviewPersons(rec)
	ctx := r.Context()

	var wg sync.WaitGroup
	for _, p := range persons {
		if p.status != "" {
			continue
		}
		wg.Go(func() {
			p.status, p.err = h.verifyPerson(ctx, ida.Person{
				IndividualID: p.person.NationalID, Name: p.person.Name.Full,
				BirthDate: p.person.BirthDate, Gender: p.person.Gender,
			}, p.section+"-"+rec.RecordID, p.section+".birthDate")
		})
	}
	wg.Wait()

	var unanswered []string
	for _, p := range persons {
		switch {
		case p.err == nil:
		case bridge.ErrorCodeOf(p.err) == bridge.EInvalid:
			// The form holds data IDA cannot compare (e.g. a partial
			// date): the person is not verified.
			h.Logger.InfoContext(ctx, "review: person not verifiable", "record_id", rec.RecordID, "section", p.section, "err", p.err)
			p.status, p.err = failed, nil
		default:
			unanswered = append(unanswered, p.section)
		}
	}
	if len(unanswered) > 0 {
		var cause error
		for _, p := range persons {
			cause = errors.Join(cause, p.err)
		}
		writeError(w, r, h.Logger, &bridge.Error{Code: bridge.EUpstream, Err: cause,
			Message: fmt.Sprintf("MOSIP IDA gave no answer for %s; nothing was written to OpenCRVS. Send the record again", strings.Join(unanswered, ", "))})
		return
	}

	ans := reviewAnswer{Persons: map[string]string{}}
	var written []string
	for _, p := range persons {
		ans.Persons[p.section] = p.status
		ok := p.status == verified
		switch p.section {
		case "father":
			ans.Father = ok
		case "mother":
			ans.Mother = ok
		case "informant":
			ans.Informant = ok
		case "deceased":
			ans.Deceased = ok
		case "spouse":
			ans.Spouse = ok
		}
		if err := h.Fields.UpdateField(ctx, token, rec.RecordID, p.fieldID, p.status); err != nil {
			msg := "OpenCRVS did not take the verification result of " + p.section
			if len(written) > 0 {
				msg += " (already written: " + strings.Join(written, ", ") + ")"
			}
			writeError(w, r, h.Logger, &bridge.Error{Code: bridge.EUpstream, Err: err, Message: msg + ". Send the record again"})
			return
		}
		written = append(written, p.section)
	}
	h.Logger.InfoContext(ctx, "review: persons verified", "record_id", rec.RecordID, "persons", len(persons))
	writeJSON(w, http.StatusOK, ans)
}

// reviewPersons lists the persons of rec to verify, in a stable order.
// Those already authenticated by E-Signet have their status set.
func reviewPersons(rec *bridge.Record) []*reviewPerson {
	var out []*reviewPerson
	add := func(section string, p *bridge.Person) {
		if p == nil || strings.TrimSpace(p.NationalID) == "" {
			return
		}
		fieldID := fmt.Sprintf("%s.%s.%s-view-group.verified", rec.Event, section, section)
		// A form's "authenticated" is not taken on trust (the browser sets
		// it): everyone with a national ID is verified through IDA.
		out = append(out, &reviewPerson{section: section, person: p, fieldID: fieldID})
	}
	if inf := rec.Informant; inf != nil && !ownSection(rec, inf.Relationship) {
		add("informant", &inf.Person)
	}
	add("mother", rec.Mother)
	add("father", rec.Father)
	add("deceased", rec.Deceased)
	add("spouse", rec.Spouse)
	return out
}

// ownSection reports whether an informant of this relationship is also a
// person with a section of their own in rec.
func ownSection(rec *bridge.Record, relationship string) bool {
	switch strings.ToUpper(relationship) {
	case "MOTHER":
		return rec.Mother != nil
	case "FATHER":
		return rec.Father != nil
	case "SPOUSE":
		return rec.Spouse != nil
	}
	return false
}
