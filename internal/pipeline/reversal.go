package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/mosip"
	"opencrvs-mosip/internal/store"
)

// Death reversal modes.
const (
	// ReversalPacket sends a packet (ReversalConfig.Process) that clears
	// the death flag: MOSIP's registration processor applies it, with its
	// checks and manual verification where configured.
	ReversalPacket = "packet"
	// ReversalIDRepo sets the UIN ACTIVATED and clears the death flag
	// through the ID repository's identity update API.
	ReversalIDRepo = "idrepo"
)

// ReversalConfig is how a death registered by mistake is undone in MOSIP.
type ReversalConfig struct {
	Mode    string // ReversalPacket or ReversalIDRepo
	Process string // the packet's process (ReversalPacket), e.g. CRVS_UPDATE
	// FlagField is the identity field that marks the person deceased,
	// FlagDeceased its value when they are, FlagAlive the value that
	// clears it (MOSIP's schema: deathDeclared, yes, no).
	FlagField, FlagDeceased, FlagAlive string
}

// DefaultReversal matches MOSIP's ID schema and sends a packet.
var DefaultReversal = ReversalConfig{Mode: ReversalPacket, Process: bridge.ProcessUpdate,
	FlagField: "deathDeclared", FlagDeceased: "yes", FlagAlive: "no"}

// IdentityReader reads an identity from MOSIP's ID repository.
type IdentityReader interface {
	IdentityByNationalID(ctx context.Context, id, idType string) (*mosip.Identity, error)
}

// ReversalRequest is the body of POST /events/death-reversal: which death
// (its registration number, or the deceased's UIN or VID) and the
// demographics that must match the identity MOSIP holds.
type ReversalRequest struct {
	DeathRegistrationNumber string `json:"deathRegistrationNumber"`
	NationalID              string `json:"nationalId"`
	// NationalIDType is UIN or VID; empty: a 16-digit number is a VID,
	// anything else a UIN.
	NationalIDType string `json:"nationalIdType"`
	FullName       string `json:"fullName"`
	DateOfBirth    string `json:"dateOfBirth"` // YYYY-MM-DD
	Gender         string `json:"gender"`      // optional
}

// AcceptReversal verifies a death reversal request against MOSIP (the
// identity exists, is recorded as deceased, and its name, date of birth
// and, if given, gender match) and, when it holds, stores the reactivation
// with its first job. A request that does not hold is refused with the
// reason; nothing is stored.
func (s *Service) AcceptReversal(ctx context.Context, body []byte, caller Caller) ([]Accepted, error) {
	var req ReversalRequest
	if err := decodeStrict(body, &req); err != nil {
		return nil, err
	}
	req.NationalID = strings.TrimSpace(req.NationalID)
	switch {
	case strings.TrimSpace(req.FullName) == "":
		return nil, bridge.FieldErrorf(bridge.EInvalid, "fullName", "the deceased's full name is required: MOSIP's identity must match it")
	case !isDate(req.DateOfBirth):
		return nil, bridge.FieldErrorf(bridge.EInvalid, "dateOfBirth", "the deceased's date of birth is required, as YYYY-MM-DD")
	case req.NationalID == "" && req.DeathRegistrationNumber == "":
		return nil, bridge.FieldErrorf(bridge.EInvalid, "nationalId", "give the deceased's nationalId (UIN or VID) or the deathRegistrationNumber")
	case req.NationalIDType != "" && req.NationalIDType != "UIN" && req.NationalIDType != "VID":
		return nil, bridge.FieldErrorf(bridge.EInvalid, "nationalIdType", "must be UIN or VID")
	}
	tr := &bridge.Transaction{
		Kind: bridge.EventDeathReversal, Version: bridge.OpenCRVS18, Intake: bridge.IntakeReversal,
		RecordID: caller.RecordID, RegistrationNumber: req.DeathRegistrationNumber, Token: caller.Token,
	}
	if req.NationalID == "" {
		death, err := s.Store.DeathByRegistrationNumber(ctx, req.DeathRegistrationNumber)
		if err != nil {
			return nil, err
		}
		if death == nil {
			return nil, bridge.FieldErrorf(bridge.ENotFound, "deathRegistrationNumber",
				"no death was registered through the mediator under %s: give the deceased's nationalId", req.DeathRegistrationNumber)
		}
		if _, req.NationalID = identityRef(death); req.NationalID == "" {
			return nil, bridge.FieldErrorf(bridge.EConflict, "deathRegistrationNumber",
				"the death %s named no national ID, so MOSIP never marked anyone: there is nothing to reverse", req.DeathRegistrationNumber)
		}
		tr.RecordID, tr.TrackingID = death.RecordID, death.TrackingID
	}
	idType := req.NationalIDType
	if idType == "" {
		idType = "UIN"
		if len(req.NationalID) == 16 {
			idType = "VID"
		}
	}
	if s.Identities == nil {
		return nil, bridge.Errorf(bridge.EUnavailable, "death reversal needs MOSIP's ID repository, and none is configured (MOSIP_IDENTITY_URL)")
	}
	ident, err := s.Identities.IdentityByNationalID(ctx, req.NationalID, idType)
	switch {
	case mosip.IsNotFound(err):
		return nil, bridge.FieldErrorf(bridge.ENotFound, "nationalId", "MOSIP has no identity with that %s", idType)
	case err != nil && mosip.IsTransient(err):
		return nil, &bridge.Error{Code: bridge.EUnavailable, Message: "MOSIP's ID repository cannot be read now; try again later", Err: err}
	case err != nil:
		return nil, &bridge.Error{Code: bridge.EUnavailable, Message: "MOSIP's ID repository refused the look-up", Err: err}
	}
	cfg := s.reversal()
	if !s.deceased(ident) {
		return nil, bridge.Errorf(bridge.EConflict, "MOSIP does not record this person as deceased: there is no death to reverse")
	}
	if diff := demographicsDiffer(ident, req); len(diff) > 0 {
		verb := "differs"
		if len(diff) > 1 {
			verb = "differ"
		}
		return nil, bridge.Errorf(bridge.EConflict, "the request does not match the identity MOSIP holds: %s %s; check against the death record", strings.Join(diff, ", "), verb)
	}
	tr.UIN = ident.UIN
	alive, _ := json.Marshal(cfg.FlagAlive)
	uin, _ := json.Marshal(ident.UIN)
	tr.Packet = bridge.Packet{Process: cfg.Process, Fields: map[string]json.RawMessage{cfg.FlagField: alive}}
	if cfg.Mode == ReversalIDRepo {
		tr.Packet.Process = bridge.ProcessIDRepoUpdate
	} else {
		tr.Packet.Fields["UIN"] = uin
	}
	checked := "fullName, dateOfBirth"
	if req.Gender != "" {
		checked += ", gender"
	}
	// One reversal per death: the same request again is the same reversal,
	// but a later death of the same person (after a reversal) is another.
	key := "death-reversal:" + ident.UIN + ":" + identityText(ident.Fields["dateOfDeath"]) + ":" + ident.Status
	item := intakeItem{tr: tr, forward: true, key: key,
		reason: "MOSIP's identity is recorded as deceased and matches the request (" + checked + "); reactivation by " + cfg.Mode}
	var out []Accepted
	err = s.Store.InDurableTx(ctx, func(tx *store.Tx) error {
		a, err := s.insertItem(ctx, tx, caller.RecordID, item)
		out = []Accepted{a}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.logAccepted(ctx, out)
	return out, nil
}

func (s *Service) reversal() ReversalConfig {
	if s.Reversal.FlagField == "" {
		return DefaultReversal
	}
	return s.Reversal
}

// deceased reports whether MOSIP records the identity as deceased: the
// death flag, or a deactivated UIN (deployments that deactivate on death).
func (s *Service) deceased(ident *mosip.Identity) bool {
	cfg := s.reversal()
	if ident.Status == mosip.UINDeactivated {
		return true
	}
	return strings.EqualFold(identityText(ident.Fields[cfg.FlagField]), cfg.FlagDeceased)
}

// demographicsDiffer names the request's demographics that do not match
// the identity: names compared without case and extra spaces, in any of
// the identity's languages; dates as days.
func demographicsDiffer(ident *mosip.Identity, req ReversalRequest) []string {
	var out []string
	if !anyValueMatches(ident.Fields["fullName"], req.FullName) {
		out = append(out, "fullName")
	}
	if strings.ReplaceAll(identityText(ident.Fields["dateOfBirth"]), "/", "-") != req.DateOfBirth {
		out = append(out, "dateOfBirth")
	}
	if req.Gender != "" && !anyValueMatches(ident.Fields["gender"], req.Gender) {
		out = append(out, "gender")
	}
	return out
}

// anyValueMatches compares want with a field that is a string or MOSIP's
// [{language, value}] list.
func anyValueMatches(raw json.RawMessage, want string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	want = norm(want)
	var list []struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(raw, &list) == nil {
		for _, v := range list {
			if norm(v.Value) == want {
				return true
			}
		}
		return false
	}
	return norm(identityText(raw)) == want
}

// identityText reads a field that is a JSON string, a number or a boolean
// as text ("" for anything else).
func identityText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var v any
	if json.Unmarshal(raw, &v) == nil {
		switch v.(type) {
		case float64, bool:
			return fmt.Sprint(v)
		}
	}
	return ""
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
