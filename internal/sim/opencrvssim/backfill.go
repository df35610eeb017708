package opencrvssim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/opencrvs"
)

// What backfill needs of OpenCRVS 1.8: records registered before the
// mediator ran (generated here, and kept in a compact form), a system
// client that gets a token with the client credentials grant (POST
// /token), and the GraphQL mutation upsertRegistrationIdentifier that adds
// the national ID to a registered record.

// Development system client of the simulator (Config.SystemClients nil).
const (
	DevSystemClient = "opencrvs-mosip-system"
	DevSystemSecret = "opencrvs-mosip-system-secret"
)

// SystemTokenTTL is the lifetime of system tokens: OpenCRVS's
// CONFIG_SYSTEM_TOKEN_EXPIRY_SECONDS default.
const SystemTokenTTL = 10 * time.Minute

// systemScopes are the scopes of system tokens: those the MOSIP
// integration's system client is given in OpenCRVS.
func systemScopes() []string { return []string{"record.register", "record.read", "record.correct"} }

// mintSystemToken signs a system client's token: userType system, sub the
// client id, no record.
func (s *Sim) mintSystemToken(clientID string) (string, error) {
	now := s.now()
	claims := opencrvs.Claims{
		Subject: clientID, Issuer: s.issuer, Audience: s.audience, Scope: systemScopes(),
		UserType: "system", IssuedAt: now.Unix(), Expiry: now.Add(SystemTokenTTL).Unix(),
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// SystemToken mints a token of system client clientID as the token
// endpoint would (for tests).
func (s *Sim) SystemToken(clientID string) (string, error) { return s.mintSystemToken(clientID) }

// handleToken is OpenCRVS auth's token endpoint for the client credentials
// grant: client_id, client_secret and grant_type in the query (as
// OpenCRVS 1.8 reads them) or a form body. It answers 200
// {"access_token","token_type":"Bearer"}, 400 {"error":"invalid_request"}
// or {"error":"unsupported_grant_type"}, 401 {"error":"invalid_client"}.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		body, _, err := readBody(w, r, maxControlBody)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		for k, v := range form {
			if params.Get(k) == "" {
				params[k] = v
			}
		}
	}
	id, secret, grant := params.Get("client_id"), params.Get("client_secret"), params.Get("grant_type")
	switch {
	case grant == "":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	case grant != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	case id == "" || secret == "":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if want, ok := s.systemClients[id]; !ok || want != secret {
		s.mu.Lock()
		s.counts.unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok, err := s.mintSystemToken(id)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	s.mu.Lock()
	s.counts.systemTokens++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"access_token": tok, "token_type": "Bearer"})
}

// historicRecord is a birth registered before the mediator ran, kept
// small: a million of them fit in a development machine's memory.
type historicRecord struct {
	trackingID, registrationNumber string
	identifiers                    []identifierInput
	upserts                        int32
	// writeBack is what POST /mosip-openhim-mediator stored (nil: none).
	writeBack *writeBack
}

// HistoricRequest asks for records registered before the mediator ran.
type HistoricRequest struct {
	// Count is how many births to generate (1 to MaxHistoric).
	Count int `json:"count"`
	// Authenticated shapes the in-form verification answers, as for POST
	// /sim/records (default true: the default country rules forward the
	// births; false: they do not).
	Authenticated *bool `json:"authenticated"`
}

// MaxHistoric bounds one request for historic records.
const MaxHistoric = 10_000_000

// WriteHistoric generates req.Count births already registered in this
// OpenCRVS, registers them here (without sending them anywhere) and writes
// them to w, one FHIR document bundle a line (NDJSON), as OpenCRVS 1.8
// stores a registered record: the Task REGISTERED, with identifiers
// birth-tracking-id and birth-registration-number (<year of
// registration><tracking id>). The children were born up to 4 years ago
// (MOSIP's CRVS_NEW route takes infants, under 5, only).
// The mediator's backfill adds their national IDs with
// upsertRegistrationIdentifier. It returns how many lines it wrote; it
// stops early when ctx ends or w fails.
func (s *Sim) WriteHistoric(ctx context.Context, w io.Writer, req HistoricRequest) (int, error) {
	if req.Count < 1 || req.Count > MaxHistoric {
		return 0, fmt.Errorf("count %d: want 1 to %d", req.Count, MaxHistoric)
	}
	authenticated := req.Authenticated == nil || *req.Authenticated
	bw := bufio.NewWriterSize(w, 256<<10)
	now := s.now()
	for i := range req.Count {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		trackingID, err := s.reserveTrackingID(KindBirth)
		if err != nil {
			return i, err
		}
		s.genMu.Lock()
		// Registered on some day of the last 3 years, within a year of the
		// birth: every child is under 5, which MOSIP's CRVS_NEW route
		// requires (INFANT).
		ref := daysBefore(now, s.gen.rng.IntN(3*365))
		d := s.gen.birth(ref, authenticated)
		s.genMu.Unlock()
		id := newUUID()
		regNo := ref.Format("2006") + trackingID
		doc, err := json.Marshal(registeredBundle(d, id, trackingID, regNo))
		if err != nil {
			return i, fmt.Errorf("opencrvssim: encode historic record: %w", err)
		}
		s.mu.Lock()
		s.historic[id] = &historicRecord{trackingID: trackingID, registrationNumber: regNo}
		s.mu.Unlock()
		if _, err := bw.Write(doc); err != nil {
			return i, err
		}
		if err := bw.WriteByte('\n'); err != nil {
			return i, err
		}
	}
	return req.Count, bw.Flush()
}

// registeredBundle is buildBundle's document for a record OpenCRVS has
// registered: the Task REGISTERED with the registration number, the
// Composition final.
func registeredBundle(d *declaration, compositionID, trackingID, registrationNumber string) obj {
	b := buildBundle(d, compositionID, trackingID)
	for _, e := range b["entry"].([]any) {
		res := e.(obj)["resource"].(obj)
		switch res["resourceType"] {
		case "Composition":
			res["status"] = "final"
		case "Task":
			res["businessStatus"] = coding(sysRegStatus, "REGISTERED")
			res["identifier"] = append(res["identifier"].([]any),
				obj{"system": sysTrackingIDPrefix + d.kind + "-registration-number", "value": registrationNumber})
		}
	}
	return b
}

// handleHistoric: POST /sim/historic {"count": N, "authenticated": true}
// answers the generated records as NDJSON (WriteHistoric).
func (s *Sim) handleHistoric(w http.ResponseWriter, r *http.Request) {
	body, _, err := readBody(w, r, maxControlBody)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "unreadable body", "the request body could not be read")
		return
	}
	var req HistoricRequest
	if err := decodeStrict(body, &req); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid historic request", err.Error())
		return
	}
	if req.Count < 1 || req.Count > MaxHistoric {
		writeProblem(w, http.StatusBadRequest, "invalid historic request", fmt.Sprintf("count %d: want 1 to %d", req.Count, MaxHistoric))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if _, err := s.WriteHistoric(r.Context(), w, req); err != nil {
		s.log.Warn("opencrvssim: historic records cut short", "error", err)
	}
}

// upsertIdentifier is GraphQL upsertRegistrationIdentifier(id,
// identifierType, identifierValue) on a registered record (sent through
// the simulator and registered, or historic): the identifier of that type
// is replaced, or added. The token must be a system client's (userType
// system) or the record's own; each authenticated, well-formed call on a
// registered record is counted (identifierUpserts), so tests can assert
// that each record got its national ID once.
func (s *Sim) upsertIdentifier(w http.ResponseWriter, claims *opencrvs.Claims, args map[string]json.RawMessage) {
	id, gerr := argID(args["id"])
	if gerr != nil {
		gerr.write(w)
		return
	}
	if claims.UserType != "system" && claims.RecordID != id {
		s.unauthenticated(w, fmt.Errorf("%w: token is neither a system client's nor for record %q", errUnauthenticated, id))
		return
	}
	typ, gerr := argString(args["identifierType"], "identifierType")
	if gerr != nil {
		gerr.write(w)
		return
	}
	value, gerr := argString(args["identifierValue"], "identifierValue")
	if gerr != nil {
		gerr.write(w)
		return
	}
	if !slices.Contains(identifierTypes, typ) {
		writeGraphQLError(w, http.StatusOK, fmt.Sprintf("identifierType %q is not an identifier type OpenCRVS knows", typ), CodeBadUserInput, nil)
		return
	}
	in := identifierInput{Type: typ, Value: value}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch rec, h := s.records[id], s.historic[id]; {
	case rec != nil && rec.status == StatusRegistered:
		rec.identifiers = upsert(rec.identifiers, in)
		if typ == "NATIONAL_ID" {
			rec.nationalID = value
		}
		rec.upserts++
	case rec != nil:
		writeGraphQLError(w, http.StatusOK, fmt.Sprintf("record %s is %s, not registered: identifiers are added to registered records", id, rec.status), CodeBadUserInput, nil)
		return
	case h != nil:
		h.identifiers = upsert(h.identifiers, in)
		h.upserts++
	default:
		writeGraphQLError(w, http.StatusOK, fmt.Sprintf("record %s not found", id), CodeNotFound, nil)
		return
	}
	s.counts.upserts++
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"upsertRegistrationIdentifier": id}})
}

func upsert(ids []identifierInput, in identifierInput) []identifierInput {
	for i := range ids {
		if ids[i].Type == in.Type {
			ids[i] = in
			return ids
		}
	}
	return append(ids, in)
}

func argString(raw json.RawMessage, name string) (string, *gqlError) {
	if isNull(raw) {
		return "", gqlErrorf(http.StatusOK, CodeBadUserInput, "Argument %q of required type \"String!\" was not provided.", name)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", gqlErrorf(http.StatusOK, CodeBadUserInput, "Argument %q of type \"String!\" must be a string.", name)
	}
	if strings.TrimSpace(v) == "" {
		return "", gqlErrorf(http.StatusOK, CodeBadUserInput, "Argument %q must not be empty.", name)
	}
	return v, nil
}

// Identifiers is what the simulator knows of a record's identifiers: the
// national ID (NATIONAL_ID), how many upsertRegistrationIdentifier calls
// it took, and whether it is a historic record (WriteHistoric).
type Identifiers struct {
	NationalID string
	Upserts    int
	Historic   bool
}

// RecordIdentifiers returns the identifiers of record id; ok is false for
// an unknown record.
func (s *Sim) RecordIdentifiers(id string) (Identifiers, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.records[id]; ok {
		return Identifiers{NationalID: rec.nationalID, Upserts: int(rec.upserts)}, true
	}
	h, ok := s.historic[id]
	if !ok {
		return Identifiers{}, false
	}
	out := Identifiers{Upserts: int(h.upserts), Historic: true}
	for _, in := range h.identifiers {
		if in.Type == "NATIONAL_ID" {
			out.NationalID = in.Value
		}
	}
	return out, true
}

// historicView renders a historic record for GET /sim/records/{id}.
// Callers hold s.mu.
func historicView(id string, h *historicRecord) recordView {
	v := recordView{
		ID: id, TrackingID: h.trackingID, Kind: KindBirth, Mode: ModeFHIR, Version: Version18,
		Status: StatusRegistered, Historic: true, IdentifierUpserts: int(h.upserts),
	}
	v.RegistrationNumber = optional(h.registrationNumber)
	writeBackView(&v, h.writeBack)
	for _, in := range h.identifiers {
		if in.Type == "NATIONAL_ID" {
			v.NationalID = optional(in.Value)
		}
	}
	return v
}
