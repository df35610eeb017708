package mosipsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// The ID repository: identities by UIN, VID and registration id, and the
// demographic dedupe index. Everything here is guarded by Sim.mu.

// Identity statuses (MOSIP's mosip.idrepo.identity.uin-status).
const (
	IdentityActivated   = "ACTIVATED"
	IdentityBlocked     = "BLOCKED"
	IdentityDeactivated = "DEACTIVATED"
)

type identity struct {
	uin, vid    string
	status      string
	deceased    bool
	dateOfDeath string
	// deathDeactivated: a death set the status DEACTIVATED
	// (Config.DeactivateOnDeath), so reversing the death reactivates it.
	deathDeactivated bool
	fields           map[string]string
	rids             []string // registrations that created or changed it
	changes          []IdentityChange
	dedupeKey        string
	createdAt        time.Time
	updatedAt        time.Time
}

type dedupeEntry struct {
	rid string // the registration that claimed the key
	uin string // empty until that registration got its UIN
}

type idRepo struct {
	byUIN map[string]*identity
	byVID map[string]*identity
	// byRID finds an identity by any registration that created or changed
	// it, as MOSIP's uin and uin_h tables do for idType=RID.
	byRID  map[string]*identity
	dedupe map[string]dedupeEntry
}

func newIDRepo() idRepo {
	return idRepo{
		byUIN:  make(map[string]*identity),
		byVID:  make(map[string]*identity),
		byRID:  make(map[string]*identity),
		dedupe: make(map[string]dedupeEntry),
	}
}

// link records that registration rid created or changed the identity.
func (r *idRepo) link(id *identity, rid string) {
	id.rids = append(id.rids, rid)
	r.byRID[rid] = id
}

// find looks an identity up by UIN or VID.
func (r *idRepo) find(id string) *identity {
	if i := r.byUIN[id]; i != nil {
		return i
	}
	return r.byVID[id]
}

// identityRefFields are the packet fields, in order, that name the
// identity a death or update is about.
var identityRefFields = []string{"UIN", "VID", "vid", "nationalIdNumber"}

// identityRef is the first non-empty identity reference of the fields.
func identityRef(fields map[string]string) string {
	for _, name := range identityRefFields {
		if v := strings.TrimSpace(fields[name]); v != "" {
			return v
		}
	}
	return ""
}

// newNumber draws a number of n digits that does not start with 0 or 1
// and ends in its Verhoeff check digit, as MOSIP's UIN and VID generators
// do. Called with s.mu held.
func (s *Sim) newNumber(n int) string {
	b := make([]byte, n-1)
	s.rngMu.Lock()
	b[0] = byte('2' + s.rng.IntN(8))
	for i := 1; i < len(b); i++ {
		b[i] = byte('0' + s.rng.IntN(10))
	}
	s.rngMu.Unlock()
	return string(b) + string(mosip.VerhoeffDigit(string(b)))
}

var errNumbersExhausted = errors.New("could not draw an unused number")

// newUINAndVID draws an unused UIN (10 digits) and perpetual VID (16
// digits). Called with s.mu held.
func (s *Sim) newUINAndVID() (uin, vid string, err error) {
	for range 100 {
		if c := s.newNumber(10); s.ids.find(c) == nil {
			uin = c
			break
		}
	}
	for range 100 {
		if c := s.newNumber(16); s.ids.find(c) == nil {
			vid = c
			break
		}
	}
	if uin == "" || vid == "" {
		return "", "", errNumbersExhausted
	}
	return uin, vid, nil
}

// dedupeFields are compared by the demographic dedupe.
var dedupeFields = []string{"fullName", "dateOfBirth", "gender", "guardianOrParentName"}

// dedupeKey normalises the demographic fields; "" when there is too little
// to compare (no name or no date of birth).
func dedupeKey(fields map[string]string) string {
	parts := make([]string, len(dedupeFields))
	for i, name := range dedupeFields {
		parts[i] = normaliseDemo(fields[name])
	}
	if parts[0] == "" || parts[1] == "" {
		return ""
	}
	return strings.Join(parts, "\x1e")
}

// normaliseDemo reduces a field (plain or simpleType) to lower-case,
// space-collapsed values in a stable order.
func normaliseDemo(v string) string {
	vals := []string{v}
	if list, ok := parseSimple(v); ok {
		vals = vals[:0]
		for _, e := range list {
			vals = append(vals, *e.Value)
		}
		sort.Strings(vals)
	}
	for i, s := range vals {
		vals[i] = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	}
	return strings.Join(vals, "\x1f")
}

// IdentityView is an identity as /sim/identities shows it.
type IdentityView struct {
	UIN             string            `json:"UIN"`
	VID             string            `json:"VID"`
	Status          string            `json:"status"`
	Deceased        bool              `json:"deceased"`
	DateOfDeath     string            `json:"dateOfDeath,omitempty"`
	Fields          map[string]string `json:"fields"`
	RegistrationIDs []string          `json:"registrationIds"`
	// Changes is the identity's history, oldest first: its creation, then
	// every change.
	Changes   []IdentityChange `json:"changes"`
	CreatedAt time.Time        `json:"createdAt"`
	UpdatedAt time.Time        `json:"updatedAt"`
}

func (i *identity) view() IdentityView {
	changes := make([]IdentityChange, len(i.changes))
	for n, c := range i.changes {
		changes[n] = c.clone()
	}
	return IdentityView{
		UIN: i.uin, VID: i.vid, Status: i.status, Deceased: i.deceased, DateOfDeath: i.dateOfDeath,
		Fields: maps.Clone(i.fields), RegistrationIDs: slices.Clone(i.rids), Changes: changes,
		CreatedAt: i.createdAt, UpdatedAt: i.updatedAt,
	}
}

// Identity returns the identity with the UIN or VID.
func (s *Sim) Identity(uinOrVID string) (IdentityView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.ids.find(uinOrVID)
	if i == nil {
		return IdentityView{}, false
	}
	return i.view(), true
}

// SeedIdentity is an identity to load into the ID repository, for example
// the people of OpenCRVS's mock-identities.json whose deaths are then
// registered.
type SeedIdentity struct {
	UIN         string            `json:"UIN,omitempty"` // empty: generated
	VID         string            `json:"VID,omitempty"` // empty: generated
	Fields      map[string]string `json:"fields"`
	Deceased    bool              `json:"deceased,omitempty"`
	DateOfDeath string            `json:"dateOfDeath,omitempty"`
}

var seedNumber = regexp.MustCompile(`^[0-9]{4,32}$`)

// AddIdentity stores an ACTIVATED identity. Given numbers need not carry a
// check digit (mock identities do not); they must be unused.
func (s *Sim) AddIdentity(seed SeedIdentity) (IdentityView, error) {
	for _, n := range []struct{ name, v string }{{"UIN", seed.UIN}, {"VID", seed.VID}} {
		if n.v != "" && !seedNumber.MatchString(n.v) {
			return IdentityView{}, fmt.Errorf("mosipsim: add identity: %s must be 4-32 digits", n.name)
		}
	}
	if seed.UIN != "" && seed.UIN == seed.VID {
		return IdentityView{}, errors.New("mosipsim: add identity: UIN and VID must differ")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range []string{seed.UIN, seed.VID} {
		if n != "" && s.ids.find(n) != nil {
			return IdentityView{}, fmt.Errorf("mosipsim: add identity: number %s is already in use", n)
		}
	}
	uin, vid, err := s.newUINAndVID()
	if err != nil {
		return IdentityView{}, fmt.Errorf("mosipsim: add identity: %w", err)
	}
	if seed.UIN != "" {
		uin = seed.UIN
	}
	if seed.VID != "" {
		vid = seed.VID
	}
	now := s.now()
	id := &identity{
		uin: uin, vid: vid, status: IdentityActivated, deceased: seed.Deceased, dateOfDeath: seed.DateOfDeath,
		fields: maps.Clone(seed.Fields), createdAt: now, updatedAt: now,
	}
	if id.fields == nil {
		id.fields = map[string]string{}
	}
	created := IdentityChange{Process: ProcessSeed, At: now, Fields: sortedKeys(id.fields), Status: IdentityActivated}
	if seed.Deceased {
		created.Deceased = new(true)
	}
	id.changes = append(id.changes, created)
	s.ids.byUIN[uin] = id
	s.ids.byVID[vid] = id
	if key := dedupeKey(id.fields); key != "" {
		if _, taken := s.ids.dedupe[key]; !taken {
			s.ids.dedupe[key] = dedupeEntry{uin: uin}
			id.dedupeKey = key
		}
	}
	return id.view(), nil
}

func (s *Sim) handleGetIdentity(w http.ResponseWriter, r *http.Request) {
	v, ok := s.Identity(r.PathValue("id"))
	if !ok {
		problem(w, http.StatusNotFound, "not-found", "Identity not found", "no identity has this UIN or VID")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Sim) handlePostIdentity(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 1<<20)
	if err != nil {
		problem(w, http.StatusBadRequest, "bad-request", "Unreadable request", err.Error())
		return
	}
	var seed SeedIdentity
	if err := strictObject(body, &seed); err != nil {
		problem(w, http.StatusBadRequest, "invalid-identity", "Invalid identity",
			"the body must be {UIN?, VID?, fields: {name: string}, deceased?, dateOfDeath?}: "+err.Error())
		return
	}
	v, err := s.AddIdentity(seed)
	if err != nil {
		problem(w, http.StatusBadRequest, "invalid-identity", "Invalid identity", strings.TrimPrefix(err.Error(), "mosipsim: add identity: "))
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// ID repository error codes (MOSIP's IdRepoErrorConstants).
const (
	CodeIDRepoInvalidInput = "IDR-IDC-002" // Invalid Input Parameter - <name>
	CodeIDRepoUnknown      = "IDR-IDC-004" // Unknown error occurred (injected errors200)
	CodeIDRepoNoRecord     = "IDR-IDC-007" // No Record(s) found
	msgIDRepoNoRecord      = "No Record(s) found"
	msgIDRepoInvalidInput  = "Invalid Input Parameter - "
)

// Response ids of the identity service.
const (
	idReadID      = "mosip.id.read"
	idRepoVersion = "v1"
)

// idRepoIdentity is the response of GET .../identity/idvid/{id}.
type idRepoIdentity struct {
	Status    string         `json:"status"`
	Identity  map[string]any `json:"identity"`
	Documents []any          `json:"documents"`
}

// vidInfo is one entry of GET .../vid/uin/{UIN} (MOSIP's VidInfoDTO,
// spelling included).
type vidInfo struct {
	VID                   string            `json:"vid"`
	VIDType               string            `json:"vidType"`
	ExpiryTimestamp       *string           `json:"expiryTimestamp"`
	GeneratedOnTimestamp  string            `json:"genratedOnTimestamp"`
	TransactionLimit      *int              `json:"transactionLimit"`
	TransactionsLeftCount *int              `json:"transactionsLeftCount"`
	HashAttributes        map[string]string `json:"hashAttributes"`
}

// handleIdentityRead serves the identity service's GET /idvid/{id}?type=&idType=.
// Without idType the id is tried as a UIN, a VID, then a registration id.
func (s *Sim) handleIdentityRead(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	fail := func(code, msg string) {
		s.mosipErrors(w, idReadID, idRepoVersion, svcErr(code, msg))
	}
	q := r.URL.Query()
	if t := q.Get("type"); t != "" {
		for part := range strings.SplitSeq(t, ",") {
			switch strings.ToLower(strings.TrimSpace(part)) {
			case "demo", "bio", "all":
			default:
				fail(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"type")
				return
			}
		}
	}
	idType := strings.ToUpper(q.Get("idType"))
	switch idType {
	case "", "UIN", "VID", "RID":
	default:
		fail(CodeIDRepoInvalidInput, msgIDRepoInvalidInput+"idType")
		return
	}
	key := r.PathValue("id")

	s.mu.Lock()
	var id *identity
	switch idType {
	case "UIN":
		id = s.ids.byUIN[key]
	case "VID":
		id = s.ids.byVID[key]
	case "RID":
		id = s.ids.byRID[key]
	default:
		if id = s.ids.find(key); id == nil {
			id = s.ids.byRID[key]
		}
	}
	var resp idRepoIdentity
	if id != nil {
		resp = idRepoIdentity{Status: id.status, Identity: identityJSON(id), Documents: []any{}}
	}
	s.mu.Unlock()

	if id == nil {
		fail(CodeIDRepoNoRecord, msgIDRepoNoRecord)
		return
	}
	s.writeMOSIP(w, http.StatusOK, idReadID, idRepoVersion, resp, nil)
}

// identityJSON renders the identity as the ID repository stores it: packet
// values that are JSON lists or objects (simpleType) as JSON, the rest as
// strings, and the UIN. Called with s.mu held.
func identityJSON(id *identity) map[string]any {
	out := make(map[string]any, len(id.fields)+1)
	for k, v := range id.fields {
		t := strings.TrimSpace(v)
		if t != "" && (t[0] == '[' || t[0] == '{') && json.Valid([]byte(t)) {
			out[k] = json.RawMessage(t)
		} else {
			out[k] = v
		}
	}
	out["UIN"] = id.uin
	return out
}

// handleVIDsByUIN serves the VID service's GET /vid/uin/{UIN}: the UIN's
// active VIDs, IDR-IDC-007 when there are none (as recent MOSIP versions
// do; older ones answer an empty list).
func (s *Sim) handleVIDsByUIN(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	var vids []vidInfo
	if id := s.ids.byUIN[r.PathValue("uin")]; id != nil && id.vid != "" {
		vids = append(vids, vidInfo{
			VID:                  id.vid,
			VIDType:              "PERPETUAL",
			GeneratedOnTimestamp: mosip.FormatTime(id.createdAt),
			HashAttributes:       vidHashAttributes(id.vid),
		})
	}
	s.mu.Unlock()
	if len(vids) == 0 {
		s.mosipErrors(w, "", "", svcErr(CodeIDRepoNoRecord, msgIDRepoNoRecord))
		return
	}
	s.writeMOSIP(w, http.StatusOK, "", "", vids, nil)
}

// vidHashAttributes imitates MOSIP's salted VID hash attributes (id_hash,
// MODULO, SALT); nothing checks them.
func vidHashAttributes(vid string) map[string]string {
	const salt = "mosipsim"
	sum := sha256.Sum256([]byte(salt + vid))
	return map[string]string{
		"id_hash": strings.ToUpper(hex.EncodeToString(sum[:])),
		"MODULO":  strconv.Itoa((int(sum[0])<<8 | int(sum[1])) % 1000),
		"SALT":    salt,
	}
}

// VID service answers of the VID read.
const (
	vidReadID = "mosip.vid.read"
	// CodeUINNotActive is the VID service's INVALID_UIN ("<status> UIN"):
	// the VID's UIN is not ACTIVATED.
	CodeUINNotActive = "IDR-VID-004"
)

// vidResponse is MOSIP's VidResponseDTO; the read sets only UIN.
type vidResponse struct {
	VIDStatus   *string `json:"vidStatus"`
	RestoredVID *string `json:"restoredVid"`
	UIN         string  `json:"UIN"`
	VID         *string `json:"VID"`
}

// handleVIDRead serves the VID service's GET /vid/{VID}
// (VidServiceImpl.retrieveUinByVid): the UIN of a VID. An unknown VID
// answers IDR-IDC-007; a VID whose UIN is not ACTIVATED IDR-VID-004 (MOSIP
// also deactivates a deactivated UIN's VIDs, IDR-VID-001).
func (s *Sim) handleVIDRead(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	var uin, status string
	id := s.ids.byVID[r.PathValue("vid")]
	if id != nil {
		uin, status = id.uin, id.status
	}
	s.mu.Unlock()
	switch {
	case id == nil:
		s.mosipErrors(w, vidReadID, idRepoVersion, svcErr(CodeIDRepoNoRecord, msgIDRepoNoRecord))
	case status != IdentityActivated:
		s.mosipErrors(w, vidReadID, idRepoVersion, svcErr(CodeUINNotActive, status+" UIN"))
	default:
		s.writeMOSIP(w, http.StatusOK, vidReadID, idRepoVersion, vidResponse{UIN: uin}, nil)
	}
}
