package mosipsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"opencrvs-mosip/internal/mosip"
)

// simIdentity reads an identity through GET /sim/identities/{id}.
func (e *env) simIdentity(id string) IdentityView {
	e.t.Helper()
	resp, body := e.do(http.MethodGet, "/sim/identities/"+url.PathEscape(id), "", nil)
	var v IdentityView
	if err := json.Unmarshal(body, &v); resp.StatusCode != http.StatusOK || err != nil {
		e.t.Fatalf("GET /sim/identities/%s: HTTP %d %s", id, resp.StatusCode, body)
	}
	return v
}

// born registers a birth and returns the finished registration.
func (e *env) born(token, rid, name string) RegistrationView {
	e.t.Helper()
	e.register(token, rid, "CRVS_NEW", birthFields(infant(name)))
	v := e.finished(rid)
	if v.Status != mosip.StatusProcessed {
		e.t.Fatalf("birth %s: %s %+v", rid, v.Status, v.Stages)
	}
	return v
}

// patchBody is an ID repository update request.
func patchBody(rid, status string, identity map[string]any) map[string]any {
	req := map[string]any{"registrationId": rid, "identity": identity, "documents": []any{}, "verifiedAttributes": []any{}}
	if status != "" {
		req["status"] = status
	}
	return map[string]any{"id": "mosip.id.update", "version": "v1", "requesttime": mosip.FormatTime(time.Now()), "metadata": nil, "request": req}
}

// patch sends an ID repository update to path (default PathIdentity+"/").
func (e *env) patch(token string, body any) mosip.Response[*mosip.IdentityUpdateResponse] {
	e.t.Helper()
	resp, data := e.do(http.MethodPatch, PathIdentity+"/", token, body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("PATCH %s: HTTP %d %s", PathIdentity+"/", resp.StatusCode, data)
	}
	return decodeMOSIP[*mosip.IdentityUpdateResponse](e.t, data)
}

// lastChange is the newest entry of an identity's history.
func lastChange(t testing.TB, v IdentityView) IdentityChange {
	t.Helper()
	if len(v.Changes) == 0 {
		t.Fatalf("identity %s has no history", v.UIN)
	}
	return v.Changes[len(v.Changes)-1]
}

// checkEvent checks an identity event's envelope and returns its data.
func checkEvent(t *testing.T, got received, topic string, change IdentityChange) mosip.IdentityEventData {
	t.Helper()
	ev := got.identity
	if ev.Publisher != "ID_REPO" || ev.Topic != topic || ev.PublishedOn == "" {
		t.Errorf("event envelope = publisher %q topic %q publishedOn %q", ev.Publisher, ev.Topic, ev.PublishedOn)
	}
	if link := got.header.Get("Link"); !strings.Contains(link, "<"+topic+`>; rel="self"`) {
		t.Errorf("Link = %q, want the topic %s", link, topic)
	}
	if ev.Event.ID != change.EventID || !uuidPattern.MatchString(ev.Event.ID) {
		t.Errorf("event id %q; the change recorded %q", ev.Event.ID, change.EventID)
	}
	if want := (mosip.EventType{Namespace: "mosip", Name: "IDENTITY_UPDATED"}); ev.Event.Type != want {
		t.Errorf("event type = %+v, want %+v", ev.Event.Type, want)
	}
	if _, err := time.Parse(mosip.TimeLayout, ev.Event.Timestamp); err != nil {
		t.Errorf("event timestamp %q: %v", ev.Event.Timestamp, err)
	}
	if change.RegistrationID != "" && ev.Event.TransactionID != change.RegistrationID {
		t.Errorf("transactionId = %q, want the registration id %q", ev.Event.TransactionID, change.RegistrationID)
	}
	if change.RegistrationID == "" && !uuidPattern.MatchString(ev.Event.TransactionID) {
		t.Errorf("transactionId = %q, want a UUID for a change without a registration id", ev.Event.TransactionID)
	}
	return ev.Event.Data
}

func TestUpdateKeepsHistoryAndPublishes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	sub := newEventSubscriber(t, "identity-secret")
	e.subscribe(e.token(DevWebsubClient), sub, "IDENTITY_UPDATED")

	birth := e.born(token, "700010000000001", "Misspelt Nmae")
	sub.none() // a creation is no update

	const rid = "700010000000002"
	fixed := simpleValue("Corrected Name")
	e.register(token, rid, "CRVS_UPDATE", map[string]any{"UIN": birth.UIN, "fullName": fixed, "gender": simpleValue("Female")})
	if v := e.finished(rid); v.Status != mosip.StatusProcessed || !strings.Contains(v.Stages[3].Reason, "1 field(s) changed") {
		t.Fatalf("update: %s %+v", v.Status, v.Stages)
	}

	id := e.simIdentity(birth.VID)
	if id.Fields["fullName"] != fixed {
		t.Errorf("fullName after the update = %s", id.Fields["fullName"])
	}
	want := []IdentityChange{
		{RegistrationID: birth.RegistrationID, Process: "CRVS_NEW", Status: IdentityActivated,
			Fields: []string{"addressLine1", "birthCertificateNumber", "dateOfBirth", "fullName", "gender", "guardianOrParentName", "postalCode"}},
		{RegistrationID: rid, Process: "CRVS_UPDATE", Fields: []string{"fullName"}},
	}
	if diff := cmp.Diff(want, id.Changes, cmpopts.IgnoreFields(IdentityChange{}, "At", "EventID")); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if id.Changes[0].EventID != "" || id.Changes[1].At.IsZero() {
		t.Errorf("history = %+v; a creation publishes no event, a change has a time", id.Changes)
	}

	got := sub.next()
	data := checkEvent(t, got, "IDENTITY_UPDATED", id.Changes[1])
	wantData := mosip.IdentityEventData{
		UIN: birth.UIN, VID: birth.VID, RegistrationID: rid, Process: "CRVS_UPDATE", Status: IdentityActivated,
		ChangedAttributes: []string{"fullName"},
	}
	if diff := cmp.Diff(wantData, data); diff != "" {
		t.Errorf("event data (-want +got):\n%s", diff)
	}
	// The event carries no demographics, only where to find them.
	if strings.Contains(string(got.body), "Corrected Name") {
		t.Errorf("the event carries the new name: %s", got.body)
	}

	// An update that changes nothing is processed and publishes nothing.
	const same = "700010000000003"
	e.register(token, same, "CRVS_UPDATE", map[string]any{"vid": birth.VID, "fullName": fixed})
	if v := e.finished(same); v.Status != mosip.StatusProcessed || !strings.Contains(v.Stages[3].Reason, "no field changed") {
		t.Errorf("update without change: %s %+v", v.Status, v.Stages)
	}
	eventually(t, "deliveries to settle", func() bool { return e.sim.Stats().Deliveries.Pending == 0 })
	sub.none()
	if n := len(e.simIdentity(birth.UIN).Changes); n != 2 {
		t.Errorf("history has %d entries after an update without change, want 2", n)
	}
	st := e.sim.Stats()
	if st.Updates.Packets != 1 || st.Updates.Unchanged != 1 || st.IdentityEvents != 1 {
		t.Errorf("stats updates %+v, identityEvents %d", st.Updates, st.IdentityEvents)
	}
	// The no-change update is still linked, as MOSIP's uin_h keeps it.
	if _, r := e.readIdentity(token, same, "RID"); r.Response == nil {
		t.Errorf("identity by the no-change update's RID: %+v", r.Errors)
	}
}

func TestUpdateOfUnknownIdentityFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	for _, tc := range []struct {
		rid    string
		fields map[string]any
		reason string
	}{
		{"710010000000001", map[string]any{"UIN": "2345678901", "fullName": simpleValue("Nobody")}, "UIN not found"},
		{"710010000000002", map[string]any{"nationalIdNumber": "9876543210987654", "fullName": simpleValue("Nobody")}, "UIN not found"},
		{"710010000000003", map[string]any{"fullName": simpleValue("Nobody")}, "UIN not found: the packet has none of the fields UIN, VID, vid, nationalIdNumber"},
	} {
		e.register(token, tc.rid, "CRVS_UPDATE", tc.fields)
		v := e.finished(tc.rid)
		last := lastStage(t, v)
		if v.Status != mosip.StatusFailed || last.Stage != StageUINGenerator || last.Reason != tc.reason {
			t.Errorf("update %s: %s at %s %q; want FAILED at %s %q", tc.rid, v.Status, last.Stage, last.Reason, StageUINGenerator, tc.reason)
		}
	}
	if st := e.sim.Stats(); st.IdentityEvents != 0 || st.Failed != 3 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDeathAndReversalByPacket(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		deactivate    bool
		flag, yes, no string
		deadStatus    string
	}{
		{name: "flag only (MOSIP's policy)", flag: "deathDeclared", yes: "yes", no: "no", deadStatus: IdentityActivated},
		{name: "deactivate", deactivate: true, flag: "deathDeclared", yes: "yes", no: "no", deadStatus: IdentityDeactivated},
		{name: "configured flag field", flag: "deceasedStatus", yes: "true", no: "false", deadStatus: IdentityActivated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) {
				c.DeactivateOnDeath = tc.deactivate
				if tc.flag != "deathDeclared" {
					c.DeathFlagFields = []string{tc.flag}
				}
			})
			token := e.token(DevRegprocClient)
			sub := newEventSubscriber(t, "s")
			e.subscribe(e.token(DevWebsubClient), sub, "IDENTITY_UPDATED")
			birth := e.born(token, "720010000000001", "Short Life")

			dod := mosipDay(time.Now().AddDate(0, 0, -2))
			e.register(token, "720010000000002", "CRVS_DEATH", map[string]any{"nationalIdNumber": birth.VID, tc.flag: tc.yes, "dateOfDeath": dod})
			if v := e.finished("720010000000002"); v.Status != mosip.StatusProcessed {
				t.Fatalf("death: %s %+v", v.Status, v.Stages)
			}
			id := e.simIdentity(birth.UIN)
			if !id.Deceased || id.DateOfDeath != dod || id.Status != tc.deadStatus || id.Fields["dateOfDeath"] != dod {
				t.Errorf("after the death: deceased %v date %q status %s fields %v; want deceased, %s, %s",
					id.Deceased, id.DateOfDeath, id.Status, id.Fields, dod, tc.deadStatus)
			}
			wantAttrs := []string{"dateOfDeath", tc.flag, "deceased"}
			if tc.deactivate {
				wantAttrs = []string{"dateOfDeath", tc.flag, "status", "deceased"}
			}
			slices.Sort(wantAttrs[:2])
			data := checkEvent(t, sub.next(), "IDENTITY_UPDATED", lastChange(t, id))
			if diff := cmp.Diff(mosip.IdentityEventData{
				UIN: birth.UIN, VID: birth.VID, RegistrationID: "720010000000002", Process: "CRVS_DEATH",
				Status: tc.deadStatus, Deceased: true, ChangedAttributes: wantAttrs,
			}, data); diff != "" {
				t.Errorf("death event (-want +got):\n%s", diff)
			}
			if _, r := e.readIdentity(token, birth.UIN, "UIN"); r.Response == nil || r.Response.Status != tc.deadStatus {
				t.Errorf("ID repository read after the death: %+v", r)
			}

			// The death was a mistake: an update packet reverses it.
			e.register(token, "720010000000003", "CRVS_UPDATE", map[string]any{"UIN": birth.UIN, tc.flag: tc.no})
			v := e.finished("720010000000003")
			if v.Status != mosip.StatusProcessed || !strings.Contains(v.Stages[3].Reason, "death reversed") {
				t.Fatalf("reversal: %s %+v", v.Status, v.Stages)
			}
			id = e.simIdentity(birth.UIN)
			if id.Deceased || id.DateOfDeath != "" || id.Status != IdentityActivated || id.Fields[tc.flag] != tc.no {
				t.Errorf("after the reversal: deceased %v date %q status %s flag %q; want alive, ACTIVATED",
					id.Deceased, id.DateOfDeath, id.Status, id.Fields[tc.flag])
			}
			if _, ok := id.Fields["dateOfDeath"]; ok {
				t.Errorf("the date of death is still a field: %v", id.Fields)
			}
			change := lastChange(t, id)
			if change.Deceased == nil || *change.Deceased || change.Process != "CRVS_UPDATE" {
				t.Errorf("reversal in the history = %+v", change)
			}
			data = checkEvent(t, sub.next(), "IDENTITY_UPDATED", change)
			if !slices.Contains(data.ChangedAttributes, "deceased") || data.Deceased || data.Status != IdentityActivated {
				t.Errorf("reversal event data = %+v", data)
			}
			_, r := e.readIdentity(token, birth.UIN, "UIN")
			if r.Response == nil || r.Response.Status != IdentityActivated || r.Response.Identity["dateOfDeath"] != nil {
				t.Errorf("ID repository read after the reversal: %+v", r.Response)
			}
			st := e.sim.Stats().Updates
			if st.Deaths != 1 || st.DeathReversals != 1 || st.Packets != 1 {
				t.Errorf("update stats = %+v", st)
			}
		})
	}
}

func TestIDRepoUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.DeactivateOnDeath = true })
	token := e.token(DevRegprocClient)
	sub := newEventSubscriber(t, "s")
	e.subscribe(e.token(DevWebsubClient), sub, "IDENTITY_UPDATED")
	birth := e.born(token, "730010000000001", "Patched Person")

	// Block, then reactivate with a corrected name.
	r := e.patch(token, patchBody("730010000000002", "BLOCKED", map[string]any{"UIN": birth.UIN, "IDSchemaVersion": 0.5}))
	if r.ID != "mosip.id.update" || r.Version != "v1" || len(r.Errors) != 0 || r.Response == nil || r.Response.Status != "BLOCKED" {
		t.Fatalf("PATCH BLOCKED: %+v", r)
	}
	id := e.simIdentity(birth.UIN)
	if id.Status != "BLOCKED" {
		t.Errorf("status = %s, want BLOCKED", id.Status)
	}
	data := checkEvent(t, sub.next(), "IDENTITY_UPDATED", lastChange(t, id))
	if diff := cmp.Diff(mosip.IdentityEventData{
		UIN: birth.UIN, VID: birth.VID, RegistrationID: "730010000000002", Process: ProcessIDRepoUpdate,
		Status: "BLOCKED", ChangedAttributes: []string{"status"},
	}, data); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}

	name := []map[string]string{{"language": "eng", "value": "Corrected Person"}}
	r = e.patch(token, patchBody("730010000000003", "ACTIVATED", map[string]any{"UIN": birth.UIN, "IDSchemaVersion": 0.5, "fullName": name, "phone": nil}))
	if r.Response == nil || r.Response.Status != IdentityActivated {
		t.Fatalf("PATCH ACTIVATED: %+v", r)
	}
	_, read := e.readIdentity(token, "730010000000003", "RID")
	var gotName []map[string]string
	if read.Response == nil || json.Unmarshal(read.Response.Identity["fullName"], &gotName) != nil || !cmp.Equal(gotName, name) {
		t.Errorf("identity read after the update: %+v", read.Response)
	}
	if _, ok := read.Response.Identity["IDSchemaVersion"]; ok {
		t.Errorf("IDSchemaVersion stored as a field")
	}
	change := lastChange(t, e.simIdentity(birth.UIN))
	if change.Status != IdentityActivated || !cmp.Equal(change.Fields, []string{"fullName"}) || change.Process != ProcessIDRepoUpdate {
		t.Errorf("history entry = %+v", change)
	}
	if data := checkEvent(t, sub.next(), "IDENTITY_UPDATED", change); !cmp.Equal(data.ChangedAttributes, []string{"fullName", "status"}) {
		t.Errorf("changedAttributes = %v", data.ChangedAttributes)
	}

	// The same registration id again: MOSIP's uin_h already has it.
	r = e.patch(token, patchBody("730010000000003", "ACTIVATED", map[string]any{"UIN": birth.UIN, "IDSchemaVersion": 0.5}))
	if want := []mosip.ServiceError{{ErrorCode: "IDR-IDC-012", Message: "Record already exists in DB"}}; !cmp.Equal(want, r.Errors) || r.Response != nil {
		t.Errorf("repeated registration id: %+v", r)
	}

	// A death deactivates (DeactivateOnDeath); reactivation alone leaves the
	// deceased flag, the death flag field clears it.
	e.register(token, "730010000000004", "CRVS_DEATH", map[string]any{"UIN": birth.UIN, "deathDeclared": "yes", "dateOfDeath": mosipDay(time.Now())})
	e.finished("730010000000004")
	sub.next()
	r = e.patch(token, patchBody("730010000000005", "ACTIVATED", map[string]any{"UIN": birth.UIN, "IDSchemaVersion": 0.5}))
	if id := e.simIdentity(birth.UIN); r.Response == nil || id.Status != IdentityActivated || !id.Deceased {
		t.Errorf("reactivated without the flag: status %s deceased %v", id.Status, id.Deceased)
	}
	sub.next()
	r = e.patch(token, patchBody("730010000000006", "", map[string]any{"UIN": birth.UIN, "IDSchemaVersion": 0.5, "deathDeclared": "No"}))
	if id := e.simIdentity(birth.UIN); r.Response == nil || id.Status != IdentityActivated || id.Deceased || id.DateOfDeath != "" {
		t.Errorf("after the flag: status %s deceased %v date %q", id.Status, id.Deceased, id.DateOfDeath)
	}
	if data := sub.next().identity.Event.Data; data.Deceased || !slices.Contains(data.ChangedAttributes, "deceased") {
		t.Errorf("reversal event data = %+v", data)
	}

	// Without the trailing slash too; an update changing nothing answers
	// the status and publishes nothing.
	resp, body := e.do(http.MethodPatch, PathIdentity, token, patchBody("730010000000007", "", map[string]any{"UIN": birth.UIN, "IDSchemaVersion": 0.5}))
	if r := decodeMOSIP[*mosip.IdentityUpdateResponse](t, body); resp.StatusCode != http.StatusOK || r.Response == nil || r.Response.Status != IdentityActivated {
		t.Errorf("PATCH without slash: HTTP %d %s", resp.StatusCode, body)
	}
	eventually(t, "deliveries to settle", func() bool { return e.sim.Stats().Deliveries.Pending == 0 })
	sub.none()
	if st := e.sim.Stats(); st.Updates.IDRepo != 4 || st.Updates.Unchanged != 1 || st.IdentityEvents != 5 {
		t.Errorf("stats updates %+v events %d", st.Updates, st.IdentityEvents)
	}
}

func TestIDRepoUpdateErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	seeded, err := e.sim.AddIdentity(SeedIdentity{UIN: "4444444444", Fields: map[string]string{"fullName": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	ident := func(extra map[string]any) map[string]any {
		m := map[string]any{"UIN": seeded.UIN, "IDSchemaVersion": 0.5}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	with := func(b map[string]any, key string, v any) map[string]any {
		if v == nil {
			delete(b, key)
		} else {
			b[key] = v
		}
		return b
	}
	miss := func(name string) mosip.ServiceError {
		return mosip.ServiceError{ErrorCode: "IDR-IDC-001", Message: "Missing Input Parameter - " + name}
	}
	bad := func(name string) mosip.ServiceError {
		return mosip.ServiceError{ErrorCode: "IDR-IDC-002", Message: "Invalid Input Parameter - " + name}
	}
	for _, tc := range []struct {
		name string
		body any
		want []mosip.ServiceError
	}{
		{"unknown UIN", patchBody("740010000000001", "ACTIVATED", ident(map[string]any{"UIN": "2345678901"})),
			[]mosip.ServiceError{{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"}}},
		{"VID instead of the UIN", patchBody("740010000000001", "", ident(map[string]any{"UIN": seeded.VID})),
			[]mosip.ServiceError{{ErrorCode: "IDR-IDC-007", Message: "No Record(s) found"}}},
		{"bad status", patchBody("740010000000001", "DEAD", ident(nil)), []mosip.ServiceError{bad("status")}},
		{"no UIN", patchBody("740010000000001", "", ident(map[string]any{"UIN": nil})), []mosip.ServiceError{miss("identity/UIN")}},
		{"no identity", patchBody("740010000000001", "", nil), []mosip.ServiceError{miss("identity/UIN")}},
		{"no request", with(patchBody("", "", nil), "request", nil), []mosip.ServiceError{miss("request")}},
		{"wrong id", with(patchBody("740010000000001", "", ident(nil)), "id", "mosip.id.create"), []mosip.ServiceError{bad("id")}},
		{"no IDSchemaVersion", patchBody("740010000000001", "", ident(map[string]any{"IDSchemaVersion": nil})),
			[]mosip.ServiceError{miss("identity/IDSchemaVersion")}},
		{"everything the validator collects", with(with(patchBody("", "GONE", ident(nil)), "requesttime", "yesterday"), "version", "v2"),
			[]mosip.ServiceError{bad("requesttime"), bad("version"), bad("status"), miss("registrationId")}},
		{"not JSON", "{", []mosip.ServiceError{{ErrorCode: "IDR-IDC-003", Message: "Invalid Request"}}},
		{"status not a string", with(patchBody("740010000000001", "", ident(nil)), "request",
			map[string]any{"registrationId": "740010000000001", "status": 1, "identity": ident(nil)}),
			[]mosip.ServiceError{{ErrorCode: "IDR-IDC-003", Message: "Invalid Request"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.patch(token, tc.body)
			if diff := cmp.Diff(tc.want, r.Errors); diff != "" || r.Response != nil {
				t.Errorf("errors (-want +got):\n%s\nresponse %+v", diff, r.Response)
			}
		})
	}
	if id := e.simIdentity(seeded.UIN); len(id.Changes) != 1 || id.Status != IdentityActivated {
		t.Errorf("refused updates changed the identity: %+v", id)
	}

	// The idrepo fault target covers the update.
	if err := e.sim.SetFaults(Faults{ErrorRate: 1, ErrorMode: ModeErrors200, Endpoints: []string{EndpointIDRepo}}); err != nil {
		t.Fatal(err)
	}
	r := e.patch(token, patchBody("740010000000002", "", ident(nil)))
	if len(r.Errors) != 1 || r.Errors[0].ErrorCode != "IDR-IDC-004" {
		t.Errorf("injected errors200: %+v", r)
	}
	if err := e.sim.SetFaults(Faults{Outage: true, Endpoints: []string{EndpointIDRepo}}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do(http.MethodPatch, PathIdentity+"/", token, patchBody("740010000000002", "", ident(nil))); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("outage: HTTP %d", resp.StatusCode)
	}
}

func TestResidentUpdate(t *testing.T) {
	t.Parallel()
	const topic = "opencrvs/IDENTITY_UPDATED"
	e := newEnv(t, func(c *Config) { c.IdentityUpdateTopic = topic })
	sub := newEventSubscriber(t, "resident-secret")
	e.subscribe(e.token(DevWebsubClient), sub, topic)
	seeded, err := e.sim.AddIdentity(SeedIdentity{Fields: map[string]string{"fullName": simpleValue("Resident Person")}})
	if err != nil {
		t.Fatal(err)
	}

	address := simpleValue("7 New Road")
	resp, body := e.do(http.MethodPost, "/sim/identities/"+seeded.VID+"/update", "", map[string]any{"fields": map[string]string{"addressLine1": address}})
	var res UpdateResult
	if err := json.Unmarshal(body, &res); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("resident update: HTTP %d %s", resp.StatusCode, body)
	}
	if !cmp.Equal(res.Changed, []string{"addressLine1"}) || res.EventID == "" || res.Identity.Fields["addressLine1"] != address {
		t.Errorf("result = %+v", res)
	}
	change := lastChange(t, res.Identity)
	data := checkEvent(t, sub.next(), topic, change)
	if diff := cmp.Diff(mosip.IdentityEventData{
		UIN: seeded.UIN, VID: seeded.VID, Process: ProcessResidentUpdate, Status: IdentityActivated,
		ChangedAttributes: []string{"addressLine1"},
	}, data); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}

	// With the resident request's registration id, which is then taken.
	upd := map[string]any{"fields": map[string]string{"phone": "0977000000"}, "registrationId": "750010000000001"}
	if resp, body := e.do(http.MethodPost, "/sim/identities/"+seeded.UIN+"/update", "", upd); resp.StatusCode != http.StatusOK {
		t.Fatalf("resident update with a registration id: HTTP %d %s", resp.StatusCode, body)
	}
	if d := sub.next().identity; d.Event.Data.RegistrationID != "750010000000001" || d.Event.TransactionID != "750010000000001" {
		t.Errorf("event with a registration id: %+v", d.Event)
	}
	if resp, _ := e.do(http.MethodPost, "/sim/identities/"+seeded.UIN+"/update", "", upd); resp.StatusCode != http.StatusConflict {
		t.Errorf("reused registration id: HTTP %d, want 409", resp.StatusCode)
	}

	// Nothing changes: no event.
	res, err = e.sim.UpdateIdentity(seeded.UIN, ResidentUpdate{Fields: map[string]string{"addressLine1": address}})
	if err != nil || len(res.Changed) != 0 || res.EventID != "" {
		t.Errorf("update without change: %+v %v", res, err)
	}
	for _, tc := range []struct {
		path string
		body any
		want int
	}{
		{"/sim/identities/2000000000/update", map[string]any{"fields": map[string]string{"phone": "1"}}, http.StatusNotFound},
		{"/sim/identities/" + seeded.UIN + "/update", map[string]any{"fields": map[string]string{}}, http.StatusBadRequest},
		{"/sim/identities/" + seeded.UIN + "/update", map[string]any{"fields": map[string]string{"UIN": "1"}}, http.StatusBadRequest},
		{"/sim/identities/" + seeded.UIN + "/update", map[string]any{"fields": map[string]any{"phone": 1}}, http.StatusBadRequest},
		{"/sim/identities/" + seeded.UIN + "/update", map[string]any{"fields": map[string]string{"phone": "1"}, "registrationId": "a/b"}, http.StatusBadRequest},
		{"/sim/identities/" + seeded.UIN + "/update", map[string]any{"field": map[string]string{"phone": "1"}}, http.StatusBadRequest},
	} {
		resp, body := e.do(http.MethodPost, tc.path, "", tc.body)
		if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("POST %s %v: HTTP %d %s, want %d", tc.path, tc.body, resp.StatusCode, body, tc.want)
		}
	}
	eventually(t, "deliveries to settle", func() bool { return e.sim.Stats().Deliveries.Pending == 0 })
	sub.none()
	if st := e.sim.Stats(); st.Updates.Resident != 2 || st.IdentityEvents != 2 {
		t.Errorf("stats updates %+v events %d", st.Updates, st.IdentityEvents)
	}
}

func TestIdentityEventDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	seeded, err := e.sim.AddIdentity(SeedIdentity{Fields: map[string]string{"phone": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	update := func(phone string) string {
		t.Helper()
		res, err := e.sim.UpdateIdentity(seeded.UIN, ResidentUpdate{Fields: map[string]string{"phone": phone}})
		if err != nil || res.EventID == "" {
			t.Fatalf("update: %+v %v", res, err)
		}
		return res.EventID
	}

	// Without a subscriber the event waits in the topic's backlog.
	first := update("1")
	if st := e.sim.Stats(); st.Deliveries.Backlog != 1 {
		t.Errorf("backlog = %d, want the event", st.Deliveries.Backlog)
	}
	sub := newEventSubscriber(t, "s")
	e.subscribe(e.token(DevWebsubClient), sub, "IDENTITY_UPDATED")
	if got := sub.next(); got.identity.Event.ID != first {
		t.Errorf("backlog delivered event %q, want %q", got.identity.Event.ID, first)
	}

	// A failing subscriber gets it again.
	sub.answer(http.StatusInternalServerError, http.StatusServiceUnavailable)
	second := update("2")
	if got := sub.next(); got.identity.Event.ID != second || sub.posts.Load() < 4 {
		t.Errorf("redelivered event %q after %d posts; want %q after 4", got.identity.Event.ID, sub.posts.Load(), second)
	}

	if err := e.sim.SetFaults(Faults{DuplicateDeliveryRate: 1}); err != nil {
		t.Fatal(err)
	}
	third := update("3")
	a, b := sub.next(), sub.next()
	if a.identity.Event.ID != third || string(a.body) != string(b.body) {
		t.Errorf("duplicate delivery differs: %s / %s", a.body, b.body)
	}
	eventually(t, "deliveries to settle", func() bool { return e.sim.Stats().Deliveries.Pending == 0 })

	if err := e.sim.SetFaults(Faults{LostDeliveryRate: 1}); err != nil {
		t.Fatal(err)
	}
	update("4")
	eventually(t, "the loss", func() bool { return e.sim.Stats().Deliveries.Lost == 1 })
	sub.none()
	if st := e.sim.Stats(); st.IdentityEvents != 4 || st.Deliveries.Duplicated != 1 {
		t.Errorf("stats: events %d deliveries %+v", st.IdentityEvents, st.Deliveries)
	}
}

// FuzzIDRepoUpdate throws arbitrary bodies at the identity update: each
// must answer HTTP 200 with a MOSIP response wrapper, and a refused update
// must leave the identity as it was.
func FuzzIDRepoUpdate(f *testing.F) {
	for _, b := range []map[string]any{
		patchBody("1", "ACTIVATED", map[string]any{"UIN": "1234567890", "IDSchemaVersion": 0.5, "fullName": []any{map[string]any{"language": "eng", "value": "x"}}}),
		patchBody("2", "BLOCKED", map[string]any{"UIN": 1234567890, "IDSchemaVersion": "0.5", "deathDeclared": "no", "n": nil}),
		patchBody("", "x", nil),
	} {
		data, _ := json.Marshal(b)
		f.Add(data)
	}
	f.Add([]byte(`{"request":{"identity":{"UIN":true}}}`))
	f.Add([]byte(`[]`))
	var once sync.Once
	var sim *Sim
	var token string
	f.Cleanup(func() {
		if sim != nil {
			sim.Close()
		}
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		once.Do(func() {
			k := mustKeys(t)
			var err error
			sim, err = New(Config{PartnerCert: k.cert, CredentialKey: k.vc, StageDelay: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sim.AddIdentity(SeedIdentity{UIN: "1234567890", Fields: map[string]string{"fullName": "x"}}); err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(authRequest(DevRegprocClient, DevSecret))
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, PathAuth, bytes.NewReader(data)))
			token = strings.TrimPrefix(strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0], "Authorization=")
		})
		before, _ := sim.Identity("1234567890")
		req := httptest.NewRequest(http.MethodPatch, PathIdentity+"/", bytes.NewReader(body))
		req.Header.Set("Cookie", "Authorization="+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		var r mosip.Response[json.RawMessage]
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil {
			t.Fatalf("PATCH answered HTTP %d %q", rec.Code, rec.Body)
		}
		if after, _ := sim.Identity("1234567890"); len(r.Errors) > 0 && !cmp.Equal(before, after) {
			t.Fatalf("a refused update (%v) changed the identity", r.Errors)
		}
	})
}
