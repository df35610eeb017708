package mosip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ID repository look-ups, for reconciliation: when MOSIP issued a UIN but
// its credential never arrived over WebSub, the identity read by
// registration id gives the UIN, and the VID service gives its VIDs.

// UIN statuses of the ID repository (mosip.idrepo.identity.uin-status).
const (
	UINActivated   = "ACTIVATED"
	UINBlocked     = "BLOCKED"
	UINDeactivated = "DEACTIVATED"
)

// VIDTypePerpetual is the VID type MOSIP issues with a UIN, as the VID
// service writes it.
const VIDTypePerpetual = "PERPETUAL"

// maxUINLen bounds a UIN the client accepts; MOSIP's are 10 to 12 digits.
const maxUINLen = 64

// Identity is an identity record of MOSIP's ID repository.
type Identity struct {
	UIN string
	// Status is the UIN's status: UINActivated, UINBlocked or
	// UINDeactivated.
	Status string
	// Fields are the identity's fields as MOSIP stores them (UIN included),
	// undecoded: simpleType fields are JSON lists of {language, value}.
	// They are personal data: never log them.
	Fields map[string]json.RawMessage
}

// VIDInfo is one VID of a UIN (MOSIP's VidInfoDTO). Only VID and VIDType
// are needed to pick a VID; the other fields are kept as MOSIP sent them
// and a shape MOSIP may change (a timestamp as a list, say) does not fail
// the call.
type VIDInfo struct {
	VID string
	// VIDType is the VID policy's name, VIDTypePerpetual for the VID
	// issued with the UIN.
	VIDType string
	// ExpiryTimestamp and GeneratedOn are MOSIP's text ("" for null: a
	// perpetual VID does not expire). GeneratedOn is MOSIP's
	// genratedOnTimestamp.
	ExpiryTimestamp, GeneratedOn string
	// TransactionLimit and TransactionsLeft are nil when MOSIP sends null
	// (no limit) or something that is not a number.
	TransactionLimit, TransactionsLeft *int
	// HashAttributes are the salted hashes MOSIP sends to ID
	// authentication; nil if absent or not an object of strings.
	HashAttributes map[string]string
}

// UnmarshalJSON reads a VidInfoDTO; vid and vidType must be strings (or
// null), the other fields are read if they have the expected shape.
func (v *VIDInfo) UnmarshalJSON(b []byte) error {
	var w struct {
		VID              *string         `json:"vid"`
		VIDType          *string         `json:"vidType"`
		Expiry           json.RawMessage `json:"expiryTimestamp"`
		Generated        json.RawMessage `json:"genratedOnTimestamp"`
		TransactionLimit json.RawMessage `json:"transactionLimit"`
		TransactionsLeft json.RawMessage `json:"transactionsLeftCount"`
		HashAttributes   json.RawMessage `json:"hashAttributes"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = VIDInfo{
		ExpiryTimestamp:  looseText(w.Expiry),
		GeneratedOn:      looseText(w.Generated),
		TransactionLimit: looseInt(w.TransactionLimit),
		TransactionsLeft: looseInt(w.TransactionsLeft),
	}
	if w.VID != nil {
		v.VID = *w.VID
	}
	if w.VIDType != nil {
		v.VIDType = *w.VIDType
	}
	if len(w.HashAttributes) > 0 {
		var m map[string]string
		if json.Unmarshal(w.HashAttributes, &m) == nil {
			v.HashAttributes = m
		}
	}
	return nil
}

// looseText is a JSON string's value, "" for null or absent, and the
// compacted JSON text of anything else.
func looseText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return ""
	}
	return buf.String()
}

// looseInt is a JSON integer's value, nil for null and anything else.
func looseInt(raw json.RawMessage) *int {
	var n int
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &n) != nil {
		return nil
	}
	return &n
}

// PerpetualVID returns the first perpetual VID of vids, "" if there is
// none.
func PerpetualVID(vids []VIDInfo) string {
	for _, v := range vids {
		if v.VID != "" && strings.EqualFold(v.VIDType, VIDTypePerpetual) {
			return v.VID
		}
	}
	return ""
}

// identityResponse is the response of the identity read; documents and
// verified attributes are not read.
type identityResponse struct {
	Status   string                     `json:"status"`
	Identity map[string]json.RawMessage `json:"identity"`
}

// IdentityByRID reads the demographic identity that registration rid
// created or changed (GET {IdentityURL}/idvid/{rid}?type=demo&idType=RID).
//
// If MOSIP has no identity for rid, the error is an *APIError for which
// IsNotFound is true: the registration may still be in the registration
// processor, or may have been rejected. An identity without a UIN gives an
// *APIError wrapping ErrNoUIN; a null response an *APIError wrapping
// ErrNullResponse. Other failures are as for CreatePacket.
func (c *Client) IdentityByRID(ctx context.Context, rid string) (*Identity, error) {
	if rid == "" {
		return nil, fmt.Errorf("mosip: %s: registration id is empty", OpReadIdentity)
	}
	return c.readIdentity(ctx, rid, "RID", rid)
}

// IdentityByNationalID reads the demographic identity of a UIN or a VID
// (idType "UIN" or "VID"), as IdentityByRID does. Errors never carry the
// number.
func (c *Client) IdentityByNationalID(ctx context.Context, id, idType string) (*Identity, error) {
	if id == "" {
		return nil, fmt.Errorf("mosip: %s: national ID is empty", OpReadIdentity)
	}
	if idType != "UIN" && idType != "VID" {
		return nil, fmt.Errorf("mosip: %s: idType %q: want UIN or VID", OpReadIdentity, idType)
	}
	ident, err := c.readIdentity(ctx, id, idType, "")
	if err != nil {
		return nil, hideUIN(err, id, joinPath(c.identityURL, "idvid")+"/{ID}")
	}
	return ident, nil
}

// readIdentity is GET {IdentityURL}/idvid/{id}?type=demo&idType=...;
// shownID is the id errors name.
func (c *Client) readIdentity(ctx context.Context, id, idType, shownID string) (*Identity, error) {
	const op = OpReadIdentity
	if c.identityURL == "" {
		return nil, fmt.Errorf("mosip: %s: no URL configured", op)
	}
	q := url.Values{"type": {"demo"}, "idType": {idType}}
	u := joinPath(c.identityURL, "idvid", id) + "?" + q.Encode()
	status, body, err := c.call(ctx, op, shownID, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse[*identityResponse](op, shownID, status, body)
	if err != nil {
		return nil, err
	}
	if len(r.Errors) > 0 {
		return nil, newAPIError(op, shownID, status, r.Errors, nil)
	}
	if r.Response == nil || r.Response.Identity == nil {
		return nil, newAPIError(op, shownID, status, nil, ErrNullResponse)
	}
	uin, ok := uinOf(r.Response.Identity["UIN"])
	if !ok {
		return nil, newAPIError(op, shownID, status, nil, ErrNoUIN)
	}
	if shownID != "" {
		c.log.Debug("mosip identity read", "registration_id", shownID, "uin_status", r.Response.Status)
	} else {
		c.log.Debug("mosip identity read", "id_type", idType, "uin_status", r.Response.Status)
	}
	return &Identity{UIN: uin, Status: r.Response.Status, Fields: r.Response.Identity}, nil
}

// uinOf reads the identity's UIN: a JSON string or number (MOSIP's ID
// schema says string; seeded data sometimes has numbers) of printable,
// non-space ASCII.
func uinOf(raw json.RawMessage) (string, bool) {
	var uin string
	if json.Unmarshal(raw, &uin) != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return "", false
		}
		uin = n.String()
	}
	if uin == "" || len(uin) > maxUINLen {
		return "", false
	}
	for i := range len(uin) {
		if uin[i] <= ' ' || uin[i] > '~' {
			return "", false
		}
	}
	return uin, true
}

// VIDsByUIN lists the active VIDs of a UIN (GET {VIDURL}/uin/{UIN}); pick
// one with PerpetualVID.
//
// Recent MOSIP versions answer a UIN without active VIDs (or an unknown
// UIN) with CodeNoRecordFound, for which IsNotFound is true; older ones
// answer an empty list, which VIDsByUIN returns without error. Errors
// never carry the UIN: APIError.ID is empty and transport errors name the
// URL with the UIN left out.
func (c *Client) VIDsByUIN(ctx context.Context, uin string) ([]VIDInfo, error) {
	const op = OpListVIDs
	if uin == "" {
		return nil, fmt.Errorf("mosip: %s: UIN is empty", op)
	}
	if c.vidURL == "" {
		return nil, fmt.Errorf("mosip: %s: no URL configured", op)
	}
	status, body, err := c.call(ctx, op, "", http.MethodGet, joinPath(c.vidURL, "uin", uin), nil)
	if err != nil {
		return nil, hideUIN(err, uin, joinPath(c.vidURL, "uin")+"/{UIN}")
	}
	r, err := decodeResponse[[]VIDInfo](op, "", status, body)
	if err != nil {
		return nil, hideUIN(err, uin, "")
	}
	if len(r.Errors) > 0 {
		return nil, hideUIN(newAPIError(op, "", status, r.Errors, nil), uin, "")
	}
	if r.Response == nil {
		return nil, newAPIError(op, "", status, nil, ErrNullResponse)
	}
	c.log.Debug("mosip VIDs listed", "vids", len(r.Response))
	return r.Response, nil
}

// joinPath appends path segments to a base URL, each escaped, so that an
// id cannot change the path or add a query. "." and ".." are escaped too:
// servers would resolve them.
func joinPath(base string, segments ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(base, "/"))
	for _, s := range segments {
		b.WriteByte('/')
		switch s {
		case ".":
			b.WriteString("%2E")
		case "..":
			b.WriteString("%2E%2E")
		default:
			b.WriteString(url.PathEscape(s))
		}
	}
	return b.String()
}

// hideUIN takes the UIN out of an *APIError: out of MOSIP's messages, and
// out of a transport error, whose text net/http makes from the URL, which
// becomes shownURL.
func hideUIN(err error, uin, shownURL string) error {
	return hideID(err, uin, "{UIN}", shownURL)
}

// hideID is hideUIN for any identifier (a VID, a token), replaced by
// placeholder.
func hideID(err error, id, placeholder, shownURL string) error {
	var ae *APIError
	if !errors.As(err, &ae) || id == "" {
		return err
	}
	for i := range ae.Errors {
		ae.Errors[i].Message = strings.ReplaceAll(ae.Errors[i].Message, id, placeholder)
	}
	var ue *url.Error
	if errors.Is(ae.Err, ErrNoResponse) && errors.As(ae.Err, &ue) {
		// The wrapping's text was made with the URL in it: make it again.
		ue.URL = shownURL
		ae.Err = fmt.Errorf("%w: %w", ErrNoResponse, ue)
	}
	return err
}
