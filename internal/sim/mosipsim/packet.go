package mosipsim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// Packet manager answers. The KER-PUT codes are MOSIP's
// (PacketUtilityErrorCodes); the simulator reports every request
// validation failure as KER-PUT-020 with the reason appended.
const (
	packetWriterID      = "mosip.registration.packet.writer"
	packetWriterVersion = "v1"

	CodePacketValidation = "KER-PUT-020"
	CodeNoProvider       = "KER-PUT-006"
	CodeSourceMissing    = "KER-PUT-025"
	CodePacketKeeper     = "KER-PUT-015"

	msgPacketValidation = "Packet Validation exception occured"
	msgNoProvider       = "No available provider for given source and process"
)

// maxPacketBody bounds a createPacket body; documents travel base64 inside.
const maxPacketBody = 8 << 20

var (
	refIDPattern    = regexp.MustCompile(`^[0-9]{1,20}_[0-9]{1,20}$`)
	packetIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
)

// packet is a stored packet. It is never modified once stored: writing the
// same id again replaces it.
type packet struct {
	dto        mosip.PacketDto // SchemaJSON is in schema.raw
	biometrics []string
	schema     *idSchema
	infos      []mosip.PacketInfo
	createdAt  time.Time
	// creates counts the createPacket calls with this id while it was
	// kept, this one included: a packet sent twice has 2.
	creates int
}

// packetRequest is PacketDto as it arrives, before Jackson-style coercion
// of the string maps.
type packetRequest struct {
	ID                  string                       `json:"id"`
	AdditionalInfoReqID string                       `json:"additionalInfoReqId"`
	RefID               string                       `json:"refId"`
	OfflineMode         bool                         `json:"offlineMode"`
	Process             string                       `json:"process"`
	Source              string                       `json:"source"`
	SchemaVersion       string                       `json:"schemaVersion"`
	SchemaJSON          string                       `json:"schemaJson"`
	Fields              map[string]json.RawMessage   `json:"fields"`
	MetaInfo            map[string]json.RawMessage   `json:"metaInfo"`
	Audits              []map[string]json.RawMessage `json:"audits"`
	Documents           map[string]mosip.Document    `json:"documents"`
	Biometrics          map[string]json.RawMessage   `json:"biometrics"`
}

// decodedPacket is a createPacket request that passed validation.
type decodedPacket struct {
	dto        mosip.PacketDto
	biometrics []string
}

func validationErr(format string, args ...any) *mosip.ServiceError {
	e := svcErr(CodePacketValidation, msgPacketValidation+": "+fmt.Sprintf(format, args...))
	return &e
}

// decodePacketRequest parses and validates a createPacket body the way
// MOSIP's packet manager does: Jackson deserialisation first (string maps
// take strings, numbers and booleans; an object or list is an error), then
// the DTO checks and the writer provider lookup.
func decodePacketRequest(body []byte, providers map[string]map[string]bool) (*decodedPacket, *mosip.ServiceError) {
	var wrapper struct {
		ID          string         `json:"id"`
		Version     string         `json:"version"`
		RequestTime string         `json:"requesttime"`
		Request     *packetRequest `json:"request"`
	}
	if err := strictObject(body, &wrapper); err != nil {
		return nil, validationErr("body is not a MOSIP request wrapper: %s", err)
	}
	if wrapper.Request == nil {
		return nil, validationErr("request is required")
	}
	req := wrapper.Request
	fields, err := javaStrings("fields", req.Fields)
	if err != nil {
		return nil, validationErr("%s", err)
	}
	meta, err := javaStrings("metaInfo", req.MetaInfo)
	if err != nil {
		return nil, validationErr("%s", err)
	}
	audits := make([]map[string]string, 0, len(req.Audits))
	for i, a := range req.Audits {
		m, err := javaStrings(fmt.Sprintf("audits[%d]", i), a)
		if err != nil {
			return nil, validationErr("%s", err)
		}
		audits = append(audits, m)
	}

	switch {
	case req.ID == "":
		return nil, validationErr("id is required")
	case !packetIDPattern.MatchString(req.ID):
		return nil, validationErr("id must be 1-128 letters, digits, '.', '_' or '-'")
	case req.Source == "":
		e := svcErr(CodeSourceMissing, "Source not present in request.")
		return nil, &e
	case req.Process == "":
		return nil, validationErr("process is required")
	}
	if procs := providers[strings.ToUpper(req.Source)]; !procs[req.Process] {
		e := svcErr(CodeNoProvider, fmt.Sprintf("%s: no packet writer for source %q and process %q (%s)",
			msgNoProvider, truncate(req.Source, 64), truncate(req.Process, 64), describeProviders(providers)))
		return nil, &e
	}
	switch {
	case !refIDPattern.MatchString(req.RefID):
		return nil, validationErr("refId must be <centreId>_<machineId>, digits only (e.g. 10001_10004)")
	case req.SchemaVersion == "":
		return nil, validationErr("schemaVersion is required")
	case req.SchemaJSON == "":
		return nil, validationErr("schemaJson is required")
	case !json.Valid([]byte(req.SchemaJSON)):
		return nil, validationErr("schemaJson is not valid JSON (it must be the ID schema as a JSON string)")
	}
	var bio []string
	for name := range req.Biometrics {
		bio = append(bio, name)
	}
	sort.Strings(bio)
	return &decodedPacket{
		dto: mosip.PacketDto{
			ID:                  req.ID,
			AdditionalInfoReqID: req.AdditionalInfoReqID,
			RefID:               req.RefID,
			OfflineMode:         req.OfflineMode,
			Process:             req.Process,
			Source:              req.Source,
			SchemaVersion:       req.SchemaVersion,
			SchemaJSON:          req.SchemaJSON,
			Fields:              fields,
			MetaInfo:            meta,
			Audits:              audits,
			Documents:           req.Documents,
		},
		biometrics: bio,
	}, nil
}

// strictObject decodes a JSON object into v, refusing other JSON values
// and trailing data.
func strictObject(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", jsonProblem(err))
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// javaStrings reads a JSON object into map<String,String> as Jackson does:
// strings as they are, numbers and booleans as their text, null as absent;
// an object or a list is a deserialisation error (MOSIP wants JSON text
// inside a string for structured values).
func javaStrings(name string, raw map[string]json.RawMessage) (map[string]string, error) {
	if raw == nil {
		return nil, nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		if len(v) == 0 {
			continue
		}
		switch v[0] {
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("%s.%s: %s", name, k, jsonProblem(err))
			}
			out[k] = s
		case 'n':
			// null: Jackson keeps a null entry, which every reader treats as absent.
		case '{', '[':
			kind := "an object"
			if v[0] == '[' {
				kind = "a list"
			}
			return nil, fmt.Errorf("%s.%s: cannot deserialize %s into a string; send structured values as JSON text inside a string", name, truncate(k, 64), kind)
		default:
			out[k] = string(v) // number or boolean, as Jackson coerces them
		}
	}
	return out, nil
}

func describeProviders(providers map[string]map[string]bool) string {
	srcs := make([]string, 0, len(providers))
	for src := range providers {
		srcs = append(srcs, src)
	}
	sort.Strings(srcs)
	parts := make([]string, 0, len(srcs))
	for _, src := range srcs {
		procs := make([]string, 0, len(providers[src]))
		for p := range providers[src] {
			procs = append(procs, p)
		}
		sort.Strings(procs)
		parts = append(parts, "source "+src+": "+strings.Join(procs, "|"))
	}
	return "configured writers: " + strings.Join(parts, "; ")
}

func (s *Sim) handleCreatePacket(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, err := readBody(w, r, maxPacketBody)
	if err != nil {
		s.mosipErrors(w, packetWriterID, packetWriterVersion, *validationErr("%s", err))
		return
	}
	dp, verr := decodePacketRequest(body, s.providers)
	if verr != nil {
		s.log.Info("mosipsim: createPacket refused", "code", verr.ErrorCode, "reason", verr.Message)
		s.mosipErrors(w, packetWriterID, packetWriterVersion, *verr)
		return
	}
	schema, err := s.schemaFor(dp.dto.SchemaJSON)
	if err != nil {
		// MOSIP's PacketWriter logs and swallows exceptions while building a
		// packet: the answer is a null response with no errors.
		s.log.Warn("mosipsim: createPacket failed while building the packet; answering a null response as MOSIP does",
			"registration_id", dp.dto.ID, "reason", err.Error())
		s.writeMOSIP(w, http.StatusOK, packetWriterID, packetWriterVersion, nil, []mosip.ServiceError{})
		return
	}
	p := &packet{dto: dp.dto, biometrics: dp.biometrics, schema: schema, createdAt: s.now()}
	p.dto.SchemaJSON = ""
	p.infos = s.writeSubPackets(p)

	overwritten := s.storePacket(p)
	s.stats.packets.Add(1)
	s.log.Info("mosipsim: packet created", "registration_id", p.dto.ID, "process", p.dto.Process,
		"source", p.dto.Source, "overwritten", overwritten)
	s.writeMOSIP(w, http.StatusOK, packetWriterID, packetWriterVersion, p.infos, []mosip.ServiceError{})
}

// storePacket puts p in the packet store, replacing the packet with its
// id, and reports whether it replaced one. The oldest packets beyond
// Config.Retain are forgotten.
func (s *Sim) storePacket(p *packet) (overwritten bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, overwritten := s.packets[p.dto.ID]
	p.creates = 1
	if overwritten {
		p.creates = old.creates + 1
	}
	s.packets[p.dto.ID] = p
	s.packetOrder.push(p)
	for s.packetOrder.len() > s.cfg.Retain {
		old, _ := s.packetOrder.pop()
		if s.packets[old.dto.ID] == old {
			delete(s.packets, old.dto.ID)
		}
	}
	return overwritten
}

// subPacket is what a sub-packet's signature and hash cover: MOSIP splits
// a packet's fields by the schema's fieldCategory into <id>_id,
// <id>_evidence and <id>_optional.
type subPacket struct {
	ID            string            `json:"id"`
	PacketName    string            `json:"packetName"`
	Process       string            `json:"process"`
	Source        string            `json:"source"`
	RefID         string            `json:"refId"`
	SchemaVersion string            `json:"schemaVersion"`
	CreationDate  string            `json:"creationDate"`
	Identity      map[string]string `json:"identity"`
	Documents     []string          `json:"documents,omitempty"`
	MetaInfo      map[string]string `json:"metaInfo,omitempty"`
}

var subPacketKinds = []string{"id", "evidence", "optional"}

// subPackets splits p into its sub-packets, in subPacketKinds order.
func (p *packet) subPackets() []*subPacket {
	created := mosip.FormatTime(p.createdAt)
	out := make([]*subPacket, len(subPacketKinds))
	byKind := make(map[string]*subPacket, len(subPacketKinds))
	for i, kind := range subPacketKinds {
		out[i] = &subPacket{
			ID: p.dto.ID, PacketName: p.dto.ID + "_" + kind, Process: p.dto.Process, Source: p.dto.Source,
			RefID: p.dto.RefID, SchemaVersion: p.dto.SchemaVersion, CreationDate: created,
			Identity: map[string]string{"IDSchemaVersion": p.dto.SchemaVersion},
		}
		byKind[kind] = out[i]
	}
	byKind["id"].MetaInfo = p.dto.MetaInfo
	for name, v := range p.dto.Fields {
		byKind[p.schema.subPacket(name)].Identity[name] = v
	}
	for name := range p.dto.Documents {
		sp := byKind[p.schema.subPacket(name)]
		sp.Documents = append(sp.Documents, name)
	}
	for _, sp := range out {
		slices.Sort(sp.Documents)
	}
	return out
}

// writeSubPackets signs each sub-packet with the packet writer key.
func (s *Sim) writeSubPackets(p *packet) []mosip.PacketInfo {
	infos := make([]mosip.PacketInfo, 0, len(subPacketKinds))
	for _, sp := range p.subPackets() {
		content, _ := json.Marshal(sp) // strings and string maps only
		hash := sha256.Sum256(content)
		infos = append(infos, mosip.PacketInfo{
			ID:              p.dto.ID,
			PacketName:      sp.PacketName,
			Source:          p.dto.Source,
			Process:         p.dto.Process,
			RefID:           p.dto.RefID,
			SchemaVersion:   p.dto.SchemaVersion,
			Signature:       base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.packetKey, content)),
			EncryptedHash:   base64.RawURLEncoding.EncodeToString(hash[:]),
			ProviderName:    "PacketWriterImpl",
			ProviderVersion: "v1.0",
			CreationDate:    sp.CreationDate,
		})
	}
	return infos
}

// SubPacketContent returns the bytes that the signature and encryptedHash
// of sub-packet packetName (<id>_id, <id>_evidence, <id>_optional) cover,
// so that a signature can be checked with the packet-writer key of
// /.well-known/jwks.json.
func (s *Sim) SubPacketContent(registrationID, packetName string) ([]byte, bool) {
	s.mu.Lock()
	p := s.packets[registrationID]
	s.mu.Unlock()
	if p == nil {
		return nil, false
	}
	for _, sp := range p.subPackets() {
		if sp.PacketName == packetName {
			content, _ := json.Marshal(sp)
			return content, true
		}
	}
	return nil, false
}

// PacketView is a stored packet as /sim/packets/{id} shows it.
type PacketView struct {
	mosip.PacketDto
	Biometrics  []string           `json:"biometrics,omitempty"`
	PacketInfos []mosip.PacketInfo `json:"packetInfos"`
	CreatedAt   time.Time          `json:"createdAt"`
	// Creates counts the createPacket calls with this id (1: sent once).
	Creates int `json:"creates"`
}

// Packet returns the stored packet with the registration id.
func (s *Sim) Packet(id string) (PacketView, bool) {
	s.mu.Lock()
	p := s.packets[id]
	s.mu.Unlock()
	if p == nil {
		return PacketView{}, false
	}
	v := PacketView{PacketDto: p.dto, Biometrics: p.biometrics, PacketInfos: p.infos, CreatedAt: p.createdAt, Creates: p.creates}
	v.SchemaJSON = p.schema.raw
	return v, true
}
