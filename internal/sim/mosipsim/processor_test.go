package mosipsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"opencrvs-mosip/internal/mosip"
)

func TestRegistrationOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	now := time.Now()

	for i, tc := range []struct {
		name    string
		process string
		fields  func() map[string]any
		meta    func(m map[string]any)
		status  string
		stage   string
		reason  string
	}{
		{
			name: "minor", process: "CRVS_NEW",
			fields: func() map[string]any {
				p := infant("Older Child")
				p.dob = now.AddDate(-7, 0, 0)
				return birthFields(p)
			},
			status: mosip.StatusRejected, stage: StageCMDValidator,
			reason: "INFANT packet is allowed but received the MINOR packet hence rejecting",
		},
		{
			name: "adult", process: "CRVS_NEW",
			fields: func() map[string]any {
				p := infant("Grown Person")
				p.dob = now.AddDate(-30, 0, 0)
				return birthFields(p)
			},
			status: mosip.StatusRejected, stage: StageCMDValidator,
			reason: "INFANT packet is allowed but received the ADULT packet hence rejecting",
		},
		{
			name: "adult through NEW has no infant rule", process: "NEW",
			fields: func() map[string]any {
				p := infant("Adult Through New")
				p.dob = now.AddDate(-30, 0, 0)
				return birthFields(p)
			},
			status: mosip.StatusProcessed, stage: StageCredential,
		},
		{
			name: "no officer", process: "CRVS_NEW",
			fields: func() map[string]any { return birthFields(infant("No Officer")) },
			meta: func(m map[string]any) {
				m["operationsData"] = `[{"label":"officerId","value":""},{"label":"supervisorId","value":null}]`
			},
			status: mosip.StatusFailed, stage: StageOperator, reason: "neither an officerId nor a supervisorId",
		},
		{
			name: "no operationsData", process: "CRVS_NEW",
			fields: func() map[string]any { return birthFields(infant("No Operations")) },
			meta:   func(m map[string]any) { delete(m, "operationsData") },
			status: mosip.StatusFailed, stage: StageOperator, reason: "operationsData is missing",
		},
		{
			name: "supervisor only", process: "CRVS_NEW",
			fields: func() map[string]any { return birthFields(infant("Supervised Only")) },
			meta: func(m map[string]any) {
				m["operationsData"] = `[{"label":"officerId","value":null},{"label":"supervisorId","value":"sup.1"}]`
			},
			status: mosip.StatusProcessed, stage: StageCredential,
		},
		{
			name: "fullName too short for its lookahead validator", process: "CRVS_NEW",
			fields: func() map[string]any {
				f := birthFields(infant("Xy Long Enough"))
				f["fullName"] = simpleValue("Xy")
				return f
			},
			status: mosip.StatusRejected, stage: StagePacketValidator, reason: "fullName: value does not match validator ^(?=.{3,50}$).*",
		},
		{
			name: "simpleType sent as plain text", process: "CRVS_NEW",
			fields: func() map[string]any {
				f := birthFields(infant("Plain Text Name"))
				f["fullName"] = "Plain Text Name"
				return f
			},
			status: mosip.StatusRejected, stage: StagePacketValidator, reason: "fullName: must be a JSON list",
		},
		{
			name: "FHIR date", process: "CRVS_NEW",
			fields: func() map[string]any {
				f := birthFields(infant("Fhir Dated"))
				f["dateOfBirth"] = now.AddDate(-1, 0, 0).Format("2006-01-02")
				return f
			},
			status: mosip.StatusRejected, stage: StagePacketValidator, reason: "dateOfBirth",
		},
		{
			name: "born tomorrow", process: "CRVS_NEW",
			fields: func() map[string]any {
				f := birthFields(infant("Not Yet Born"))
				f["dateOfBirth"] = mosipDay(now.AddDate(0, 0, 2))
				return f
			},
			status: mosip.StatusRejected, stage: StagePacketValidator, reason: "dateOfBirth: is in the future",
		},
		{
			name: "mandatory field missing", process: "CRVS_NEW",
			fields: func() map[string]any {
				f := birthFields(infant("No Address Line"))
				delete(f, "addressLine1")
				return f
			},
			status: mosip.StatusRejected, stage: StagePacketValidator, reason: "addressLine1: mandatory field missing",
		},
		{
			name: "field outside the schema", process: "CRVS_NEW",
			fields: func() map[string]any {
				f := birthFields(infant("Extra Field"))
				f["deathCertificateNumber"] = "2025DXX"
				return f
			},
			status: mosip.StatusRejected, stage: StagePacketValidator, reason: "deathCertificateNumber: not a field of the ID schema",
		},
		{
			name: "postal code validator with an alternative", process: "CRVS_NEW",
			fields: func() map[string]any {
				f := birthFields(infant("Bad Postal"))
				f["postalCode"] = "12"
				return f
			},
			status: mosip.StatusRejected, stage: StagePacketValidator, reason: "postalCode",
		},
		{
			name: "death of an unknown UIN", process: "CRVS_DEATH",
			fields: func() map[string]any { return map[string]any{"UIN": "2345678901", "dateOfDeath": mosipDay(now)} },
			status: mosip.StatusFailed, stage: StageUINGenerator, reason: "UIN not found",
		},
		{
			name: "death naming nobody", process: "CRVS_DEATH",
			fields: func() map[string]any { return map[string]any{"dateOfDeath": mosipDay(now)} },
			status: mosip.StatusFailed, stage: StageUINGenerator, reason: "UIN not found",
		},
		{
			name: "OPENCRVS_NEW ends with the OpenCRVS stage", process: "OPENCRVS_NEW",
			fields: func() map[string]any { return birthFields(infant("Route Exists")) },
			status: mosip.StatusProcessed, stage: StageOpenCRVS,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rid := fmt.Sprintf("20001%010d", i)
			body := packetBody(rid, tc.process, tc.fields())
			if tc.meta != nil {
				tc.meta(body["request"].(map[string]any)["metaInfo"].(map[string]any))
			}
			e.createPacket(token, body)
			e.startWorkflow(token, rid, tc.process)
			v := e.finished(rid)
			last := lastStage(t, v)
			if v.Status != tc.status || last.Stage != tc.stage || !strings.Contains(last.Reason, tc.reason) {
				t.Errorf("ended %s at %s (%s: %q), want %s at %s with %q", v.Status, last.Stage, last.Status, last.Reason, tc.status, tc.stage, tc.reason)
			}
			if tc.status == mosip.StatusProcessed && v.UIN == "" {
				t.Errorf("processed without a UIN")
			}
			if tc.status != mosip.StatusProcessed && v.UIN != "" && tc.process == "CRVS_NEW" {
				t.Errorf("a %s birth got a UIN", v.Status)
			}
		})
	}
}

func TestRegistrationWithoutPacket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)

	e.startWorkflow(token, "300010000000001", "CRVS_NEW")
	if v := e.finished("300010000000001"); v.Status != mosip.StatusFailed || lastStage(t, v).Code != CodePacketNotFound {
		t.Errorf("no packet: %s %+v", v.Status, v.Stages)
	}

	// A packet written for another process is not found either.
	e.createPacket(token, packetBody("300010000000002", "CRVS_NEW", birthFields(infant("Wrong Process"))))
	e.startWorkflow(token, "300010000000002", "CRVS_UPDATE")
	if v := e.finished("300010000000002"); v.Status != mosip.StatusFailed || !strings.Contains(lastStage(t, v).Reason, "process CRVS_NEW") {
		t.Errorf("process mismatch: %s %+v", v.Status, v.Stages)
	}

	e.startWorkflow(token, "300010000000003", "LOST")
	if v := e.finished("300010000000003"); v.Status != mosip.StatusFailed || !strings.Contains(lastStage(t, v).Reason, "no registration processor route") {
		t.Errorf("unknown process: %s %+v", v.Status, v.Stages)
	}
}

func TestDemoDedupe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		disable bool
		want    string
	}{
		{"on", false, mosip.StatusRejected},
		{"switched off", true, mosip.StatusProcessed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.DisableDemoDedupe = tc.disable })
			token := e.token(DevRegprocClient)
			p := infant("Twin Name")
			e.register(token, "400010000000001", "CRVS_NEW", birthFields(p))
			if v := e.finished("400010000000001"); v.Status != mosip.StatusProcessed {
				t.Fatalf("first birth: %s", v.Status)
			}
			// The same person again, written differently (case, spacing).
			again := birthFields(p)
			again["fullName"] = simpleValue("  twin   NAME ")
			e.register(token, "400010000000002", "CRVS_NEW", again)
			v := e.finished("400010000000002")
			if v.Status != tc.want {
				t.Fatalf("second birth: %s, want %s; %+v", v.Status, tc.want, v.Stages)
			}
			if tc.want == mosip.StatusRejected {
				last := lastStage(t, v)
				if last.Stage != StageDemoDedupe || !strings.Contains(last.Reason, "duplicate identity") || !strings.Contains(last.Reason, "400010000000001") {
					t.Errorf("rejected at %s: %q", last.Stage, last.Reason)
				}
			}
			// A different parent is a different child.
			other := birthFields(p)
			other["guardianOrParentName"] = simpleValue("Someone Else")
			e.register(token, "400010000000003", "CRVS_NEW", other)
			if v := e.finished("400010000000003"); v.Status != mosip.StatusProcessed {
				t.Errorf("different parent: %s", v.Status)
			}
		})
	}
}

func TestDeath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	hubToken := e.token(DevWebsubClient)
	sub := newSubscriber(t, e.keys.partner, "death-secret")
	e.subscribe(hubToken, sub, TopicCredentialIssued)

	e.register(token, "500010000000001", "CRVS_NEW", birthFields(infant("Will Pass")))
	birth := e.finished("500010000000001")
	sub.next()

	dod := mosipDay(time.Now().AddDate(0, 0, -3))
	for i, ref := range []map[string]any{
		{"UIN": birth.UIN},
		{"vid": birth.VID},              // already deceased: no change
		{"nationalIdNumber": birth.UIN}, // mosip-api sends the NID here
	} {
		rid := fmt.Sprintf("50002000000000%d", i)
		fields := map[string]any{"dateOfDeath": dod, "deathDeclared": "yes"}
		for k, v := range ref {
			fields[k] = v
		}
		e.register(token, rid, "CRVS_DEATH", fields)
		v := e.finished(rid)
		if v.Status != mosip.StatusProcessed || v.UIN != birth.UIN {
			t.Fatalf("death %d: %s UIN %q; %+v", i, v.Status, v.UIN, v.Stages)
		}
		got := sub.next()
		var c struct {
			CredentialSubject map[string]any `json:"credentialSubject"`
		}
		if err := json.Unmarshal(got.credential, &c); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"id": credentialsURL + rid, "vcVer": "VC-V1"}
		if fmt.Sprint(c.CredentialSubject) != fmt.Sprint(want) {
			t.Errorf("death credential subject = %v, want %v", c.CredentialSubject, want)
		}
		if i > 0 && !strings.Contains(v.Stages[5].Reason, "already marked deceased") {
			t.Errorf("repeated death: UIN stage said %q", v.Stages[5].Reason)
		}
	}
	id, _ := e.sim.Identity(birth.UIN)
	if !id.Deceased || id.DateOfDeath != dod || id.Status != IdentityActivated {
		t.Errorf("identity after death = deceased %v dateOfDeath %q status %s; want flagged, %s, still ACTIVATED", id.Deceased, id.DateOfDeath, id.Status, dod)
	}
	if len(id.RegistrationIDs) != 2 {
		t.Errorf("identity registrations = %v, want the birth and the first death", id.RegistrationIDs)
	}

	// A seeded identity (for example from mock-identities.json) can die too.
	seeded, err := e.sim.AddIdentity(SeedIdentity{UIN: "1234567890", Fields: map[string]string{"fullName": "Charles Dikkens"}})
	if err != nil {
		t.Fatal(err)
	}
	e.register(token, "500030000000001", "CRVS_DEATH", map[string]any{"nationalIdNumber": seeded.UIN, "dateOfDeath": dod})
	if v := e.finished("500030000000001"); v.Status != mosip.StatusProcessed {
		t.Errorf("death of a seeded identity: %s", v.Status)
	}
	sub.next()
}

func TestDeathCredentialSwitchedOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.DisableDeathCredential = true })
	token := e.token(DevRegprocClient)
	sub := newSubscriber(t, e.keys.partner, "s")
	e.subscribe(e.token(DevWebsubClient), sub, TopicCredentialIssued)
	id, err := e.sim.AddIdentity(SeedIdentity{Fields: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	e.register(token, "510010000000001", "CRVS_DEATH", map[string]any{"UIN": id.UIN})
	v := e.finished("510010000000001")
	if v.Status != mosip.StatusProcessed || !strings.Contains(lastStage(t, v).Reason, "switched off") {
		t.Errorf("death: %s %+v", v.Status, v.Stages)
	}
	if st := e.sim.Stats(); st.Deliveries.Pending != 0 || st.Deliveries.Sent != 0 {
		t.Errorf("deliveries after a death without credential: %+v", st.Deliveries)
	}
	sub.none()
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	token := e.token(DevRegprocClient)
	sub := newSubscriber(t, e.keys.partner, "update-secret")
	e.subscribe(e.token(DevWebsubClient), sub, "opencrvs-partner/CREDENTIAL_ISSUED")

	e.register(token, "600010000000001", "CRVS_NEW", birthFields(infant("Misspelt Nmae")))
	birth := e.finished("600010000000001")
	sub.next()

	fixed := simpleValue("Corrected Name")
	e.register(token, "0f0c7a52-4bd7-4b62-9d6e-3f6c1b1c9a10", "CRVS_UPDATE", map[string]any{"VID": birth.VID, "fullName": fixed})
	v := e.finished("0f0c7a52-4bd7-4b62-9d6e-3f6c1b1c9a10")
	if v.Status != mosip.StatusProcessed || v.UIN != birth.UIN {
		t.Fatalf("update: %s %+v", v.Status, v.Stages)
	}
	id, _ := e.sim.Identity(birth.UIN)
	if id.Fields["fullName"] != fixed || id.Fields["VID"] != "" {
		t.Errorf("identity fields after update = %v", id.Fields)
	}
	got := sub.next()
	if got.event.Event.Data.RegistrationID != "0f0c7a52-4bd7-4b62-9d6e-3f6c1b1c9a10" {
		t.Errorf("update credential for %q", got.event.Event.Data.RegistrationID)
	}

	// A new birth with the corrected name is now a duplicate, and the old
	// name is free.
	e.register(token, "600010000000002", "CRVS_NEW", birthFields(infant("Corrected Name")))
	if v := e.finished("600010000000002"); v.Status != mosip.StatusRejected {
		t.Errorf("birth duplicating the corrected identity: %s", v.Status)
	}
	e.register(token, "600010000000003", "CRVS_NEW", birthFields(infant("Misspelt Nmae")))
	if v := e.finished("600010000000003"); v.Status != mosip.StatusProcessed {
		t.Errorf("birth with the old name: %s", v.Status)
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Retain = 2 })
	token := e.token(DevRegprocClient)
	for i, name := range []string{"Kept Not", "Kept One", "Kept Two"} {
		rid := fmt.Sprintf("95001000000000%d", i)
		e.register(token, rid, "CRVS_NEW", birthFields(infant(name)))
		e.finished(rid)
	}
	if _, ok := e.sim.Registration("950010000000000"); ok {
		t.Errorf("the oldest registration outlived the retention limit")
	}
	if _, ok := e.sim.Packet("950010000000000"); ok {
		t.Errorf("the oldest packet outlived the retention limit")
	}
	for _, rid := range []string{"950010000000001", "950010000000002"} {
		if _, ok := e.sim.Registration(rid); !ok {
			t.Errorf("registration %s forgotten too early", rid)
		}
	}
	if got := e.sim.Stats().Identities; got != 3 {
		t.Errorf("identities = %d; the ID repository keeps them all", got)
	}
}
