package mosip

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"opencrvs-mosip/internal/telemetry"
)

// Registration processor sync and packet receiver constants.
const (
	SyncID      = "mosip.registration.sync"
	SyncVersion = "1.0"
	// SyncSuccess is the status of a synced registration.
	SyncSuccess = "SUCCESS"
	// PacketReceived is the packet receiver's status of an accepted packet.
	PacketReceived = "PACKET_RECEIVED"
	// CodeDuplicatePacket is the packet receiver's "Duplicate Request
	// Received": the packet was received before (UploadPacket returns
	// success).
	CodeDuplicatePacket = "RPR-PKR-005"
	// SupervisorApproved is the supervisor status the Java mediator sends.
	SupervisorApproved = "APPROVED"
	// HeaderCenterMachineRefID and HeaderTimestamp are the sync's headers.
	HeaderCenterMachineRefID = "Center-Machine-RefId"
	HeaderTimestamp          = "timestamp"
)

// ErrUnexpectedStatus: MOSIP answered without errors but with a status
// that is not success. It wraps ErrNullResponse (the answer has no usable
// result), so the call is transient: a retried upload of a packet MOSIP
// did receive is answered CodeDuplicatePacket, which is success.
var ErrUnexpectedStatus = fmt.Errorf("unexpected status (%w)", ErrNullResponse)

// SyncRequest announces one packet to the registration processor.
type SyncRequest struct {
	RID string
	// RegistrationType is the process: OPENCRVS_NEW, CRVS_DEATH, ...
	RegistrationType string
	// PacketHash is the UPPERCASE hex SHA-256 of the packet zip, as the
	// packet receiver compares it (PacketZip.Hash).
	PacketHash string
	PacketSize int64
	// SupervisorStatus defaults to SupervisorApproved.
	SupervisorStatus string
	Comment          string
	// LangCode defaults to "eng".
	LangCode string
	// CenterMachineRefID is "<centreId>_<machineId>": the key manager
	// reference id the sync is encrypted for, sent in the
	// Center-Machine-RefId header.
	CenterMachineRefID string
	// Timestamp is the packet's creation time, sent in the timestamp
	// header; zero: the time in the RID, else now.
	Timestamp time.Time
}

// syncEntry is one registration of the sync request
// (SyncRegistrationDto).
type syncEntry struct {
	RegistrationID    string `json:"registrationId"`
	RegistrationType  string `json:"registrationType"`
	PacketHashValue   string `json:"packetHashValue"`
	PacketSize        int64  `json:"packetSize"`
	SupervisorStatus  string `json:"supervisorStatus"`
	SupervisorComment string `json:"supervisorComment"`
	LangCode          string `json:"langCode"`
}

// SyncStatus is one entry of the sync's response: Status is SyncSuccess,
// or FAILURE with MOSIP's ErrorCode and Message.
type SyncStatus struct {
	RegistrationID string `json:"registrationId"`
	Status         string `json:"status"`
	ErrorCode      string `json:"errorCode,omitempty"`
	Message        string `json:"message,omitempty"`
}

// SyncPacket announces a packet to the registration processor (POST
// {Sync}): the sync JSON is encrypted with KeymanagerEncrypt
// (AppRegistration, r.CenterMachineRefID) and sent as a JSON string of its
// URL-safe base64, with the Center-Machine-RefId and timestamp headers.
// It succeeds only if MOSIP answers the RID's status SUCCESS
// (case-insensitive). MOSIP's errors, listed or as the RID's FAILURE
// entry, give an *APIError with their codes; the key manager's errors are
// returned as they are (wrapped). Syncing a RID again is allowed (MOSIP
// replaces the entry), so a retry is safe; the hash and size must be those
// of the zip that is then uploaded.
func (u *Uploader) SyncPacket(ctx context.Context, r SyncRequest) error {
	const op = OpSyncPacket
	switch {
	case r.RID == "":
		return fmt.Errorf("mosip: %s: registration id is required", op)
	case r.RegistrationType == "":
		return fmt.Errorf("mosip: %s %s: registration type is required", op, r.RID)
	case r.PacketHash == "" || r.PacketSize <= 0:
		return fmt.Errorf("mosip: %s %s: packet hash and size are required", op, r.RID)
	case r.CenterMachineRefID == "":
		return fmt.Errorf("mosip: %s %s: Center-Machine-RefId is required", op, r.RID)
	}
	if r.SupervisorStatus == "" {
		r.SupervisorStatus = SupervisorApproved
	}
	if r.LangCode == "" {
		r.LangCode = "eng"
	}
	ts := r.Timestamp
	if ts.IsZero() {
		var ok bool
		if ts, ok = RIDTime(r.RID); !ok {
			ts = u.c.now()
		}
	}
	plain, err := json.Marshal(Request[[]syncEntry]{
		ID: SyncID, Version: SyncVersion, RequestTime: FormatTime(u.c.now()),
		Request: []syncEntry{{
			RegistrationID: r.RID, RegistrationType: r.RegistrationType,
			PacketHashValue: r.PacketHash, PacketSize: r.PacketSize,
			SupervisorStatus: r.SupervisorStatus, SupervisorComment: r.Comment, LangCode: r.LangCode,
		}},
	})
	if err != nil {
		return fmt.Errorf("mosip: %s %s: encode request: %w", op, r.RID, err)
	}
	enc, err := u.KeymanagerEncrypt(ctx, AppRegistration, r.CenterMachineRefID, plain)
	if err != nil {
		return fmt.Errorf("mosip: %s %s: encrypt: %w", op, r.RID, err)
	}
	body, _ := json.Marshal(base64.RawURLEncoding.EncodeToString(enc)) // a string always encodes
	header := http.Header{}
	header.Set(HeaderCenterMachineRefID, r.CenterMachineRefID)
	header.Set(HeaderTimestamp, FormatTime(ts))
	status, resp, err := u.c.exchange(ctx, op, r.RID, http.MethodPost, u.urls.Sync, "application/json", header, body)
	if err != nil {
		return err
	}
	a, err := decodeResponse[[]SyncStatus](op, r.RID, status, resp)
	if err != nil {
		return err
	}
	if len(a.Errors) > 0 {
		return newAPIError(op, r.RID, status, a.Errors, nil)
	}
	if len(a.Response) == 0 {
		return newAPIError(op, r.RID, status, nil, ErrNullResponse)
	}
	st := a.Response[0]
	for _, s := range a.Response {
		if s.RegistrationID == r.RID {
			st = s
			break
		}
	}
	if strings.EqualFold(st.Status, SyncSuccess) {
		u.c.log.Debug("mosip packet synced", "registration_id", r.RID, "process", r.RegistrationType)
		return nil
	}
	if st.ErrorCode != "" {
		return newAPIError(op, r.RID, status, []ServiceError{{ErrorCode: st.ErrorCode, Message: st.Message}}, nil)
	}
	return newAPIError(op, r.RID, status, nil, fmt.Errorf("%w: sync status %q", ErrUnexpectedStatus, telemetry.Printable(st.Status, 40)))
}

// uploadResponse is the packet receiver's response.
type uploadResponse struct {
	RegistrationID string `json:"registrationId"`
	Status         string `json:"status"`
}

// UploadPacket uploads a packet zip to the packet receiver (POST
// {PacketReceiver}, multipart/form-data, part "file" named <rid>.zip)
// after SyncPacket announced it. It succeeds if MOSIP answers
// PACKET_RECEIVED, or CodeDuplicatePacket: a packet already received
// (an earlier attempt whose answer was lost) is not received twice.
//
// Refusals are *APIErrors with MOSIP's codes; IsTransient classifies them:
// a size or hash different from the sync (RPR-PKR-013, RPR-PKR-009,
// RPR-PKR-014) and an invalid packet (RPR-PKR-003, RPR-PKR-004) are
// permanent; a RID the sync table does not have (RPR-PKR-001) is
// transient, and the retry must sync again before uploading.
func (u *Uploader) UploadPacket(ctx context.Context, rid string, zip []byte) error {
	const op = OpUploadPacket
	if rid == "" {
		return fmt.Errorf("mosip: %s: registration id is required", op)
	}
	if len(zip) == 0 {
		return fmt.Errorf("mosip: %s %s: packet is empty", op, rid)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile("file", rid+".zip")
	if err == nil {
		_, err = part.Write(zip)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return fmt.Errorf("mosip: %s %s: build multipart body: %w", op, rid, err)
	}
	status, resp, err := u.c.exchange(ctx, op, rid, http.MethodPost, u.urls.PacketReceiver, mw.FormDataContentType(), nil, buf.Bytes())
	if err != nil {
		return err
	}
	a, err := decodeResponse[*uploadResponse](op, rid, status, resp)
	if err != nil {
		return err
	}
	if len(a.Errors) > 0 {
		if onlyCode(a.Errors, CodeDuplicatePacket) {
			u.c.log.Info("mosip packet receiver already has the packet; treating as received", "registration_id", rid)
			return nil
		}
		return newAPIError(op, rid, status, a.Errors, nil)
	}
	if a.Response == nil {
		return newAPIError(op, rid, status, nil, ErrNullResponse)
	}
	if !strings.EqualFold(a.Response.Status, PacketReceived) {
		return newAPIError(op, rid, status, nil, fmt.Errorf("%w: packet status %q", ErrUnexpectedStatus, telemetry.Printable(a.Response.Status, 40)))
	}
	u.c.log.Debug("mosip packet uploaded", "registration_id", rid, "bytes", len(zip))
	return nil
}
