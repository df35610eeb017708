package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/idcard"
)

// maxVerifyQRBody bounds a POST /verify-qr body: a QR code holds a few
// kilobytes at most.
const maxVerifyQRBody = 64 << 10

// verifyQRRequest is the body of POST /verify-qr.
type verifyQRRequest struct {
	// QR is the text the form's QR reader scanned from an ID card.
	QR *string `json:"qr"`
}

// verifyQRAnswer is the answer of POST /verify-qr. Identity is present only
// when Verified; Reason and Detail only when not.
type verifyQRAnswer struct {
	Verified  bool             `json:"verified"`
	Reason    idcard.Reason    `json:"reason,omitempty"`
	Detail    string           `json:"detail,omitempty"`
	Format    string           `json:"format,omitempty"`
	Issuer    string           `json:"issuer,omitempty"`
	KeyID     string           `json:"keyId,omitempty"`
	IssuedAt  *time.Time       `json:"issuedAt,omitempty"`
	ExpiresAt *time.Time       `json:"expiresAt,omitempty"`
	Identity  *idcard.Identity `json:"identity,omitempty"`
}

// verifyQR checks the signature of a scanned ID card QR code against the
// trusted issuer keys (TRUSTED_QR_ISSUERS) and answers the card's identity
// data or why the code is not trusted.
//
// Answers: 200 {verified: true, identity, ...} or 200 {verified: false,
// reason, detail} for every verdict on the code itself, including a code
// that is garbage (reason "malformed"): the form shows the reason and the
// registrar scans again. Problem JSON is kept for what the form did wrong
// or cannot fix by scanning again: 400 when the body is not {"qr": "..."},
// 401/403 for the OpenCRVS token, 413 for a body over 64 KiB, 404 when
// QR verification is not configured, and 503 (Retry-After) when the
// issuer keys cannot be fetched, which says nothing about the card.
//
// Neither the scanned text nor the identity is logged.
func (h *handler) verifyQR(w http.ResponseWriter, r *http.Request) {
	if h.QRVerifier == nil {
		writeError(w, r, h.Logger, bridge.Errorf(bridge.ENotFound, "QR code verification is off: configure TRUSTED_QR_ISSUERS"))
		return
	}
	if _, _, err := h.authenticateScope(r, h.QRScope); err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	body, err := readBody(w, r, maxVerifyQRBody)
	if err != nil {
		writeError(w, r, h.Logger, err)
		return
	}
	var req verifyQRRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil || dec.More() || req.QR == nil {
		writeError(w, r, h.Logger, bridge.FieldErrorf(bridge.EInvalid, "qr", `the body must be a JSON object {"qr": "<the scanned text>"}`))
		return
	}
	res, err := h.QRVerifier.Verify(r.Context(), *req.QR)
	if err != nil {
		if errors.Is(err, idcard.ErrKeysUnavailable) {
			err = &bridge.Error{Code: bridge.EUnavailable, Message: "the trusted issuer keys could not be fetched, so the code cannot be judged now; try again", Err: err}
		}
		writeError(w, r, h.Logger, err)
		return
	}
	h.Logger.Info("ID card QR code checked", "request_id", requestID(r.Context()),
		"verified", res.Verified, "reason", string(res.Reason), "format", res.Format, "key_id", res.KeyID)
	ans := verifyQRAnswer{
		Verified: res.Verified, Reason: res.Reason, Detail: res.Detail, Format: res.Format,
		Issuer: res.Issuer, KeyID: res.KeyID, Identity: res.Identity,
	}
	if !res.IssuedAt.IsZero() {
		ans.IssuedAt = &res.IssuedAt
	}
	if !res.ExpiresAt.IsZero() {
		ans.ExpiresAt = &res.ExpiresAt
	}
	writeJSON(w, http.StatusOK, ans)
}
