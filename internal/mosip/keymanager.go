package mosip

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
)

// Key manager encryption as MOSIP's packet manager uses it
// (OnlinePacketCryptoServiceImpl.encrypt): the caller picks a random
// 12-byte nonce ("salt") and 32-byte additional data ("aad"), the key
// manager encrypts with the key of (applicationId, referenceId), and the
// result is nonce | aad | the key manager's ciphertext, so that the
// registration processor can decrypt it later through the key manager.

// Key manager constants.
const (
	// AppRegistration is the key manager application id of registration
	// packets and sync requests.
	AppRegistration = "REGISTRATION"
	// KeymanagerEncryptID is the request id the client sends. MOSIP's
	// packet manager sends "mosip.cryptomanager.decrypt" for encryption
	// too; the key manager does not check it.
	KeymanagerEncryptID      = "mosip.cryptomanager.encrypt"
	KeymanagerEncryptVersion = "v1"
	// PacketNonceSize and PacketAADSize are the sizes of the nonce and the
	// additional data KeymanagerEncrypt prepends to the ciphertext.
	PacketNonceSize = 12
	PacketAADSize   = 32
)

// KeymanagerEncryptRequest is the request of the key manager's encrypt
// (CryptomanagerRequestDto). Data, Salt and AAD are URL-safe base64.
type KeymanagerEncryptRequest struct {
	ApplicationID     string `json:"applicationId"`
	ReferenceID       string `json:"referenceId"`
	TimeStamp         string `json:"timeStamp"`
	Data              string `json:"data"`
	Salt              string `json:"salt"`
	AAD               string `json:"aad"`
	PrependThumbprint bool   `json:"prependThumbprint"`
}

// KeymanagerEncryptResponse is the key manager's answer: Data is the
// ciphertext in URL-safe base64.
type KeymanagerEncryptResponse struct {
	Data string `json:"data"`
}

// KeymanagerEncrypt encrypts data with the key manager's key of
// (applicationID, referenceID) (POST {KeymanagerEncrypt}, thumbprint
// prepended) and returns nonce(12) | aad(32) | ciphertext, as MOSIP's
// OnlinePacketCryptoServiceImpl does. MOSIP's errors (KER-KMS-*,
// KER-CRY-*) give an *APIError; an answer without data one wrapping
// ErrNullResponse.
func (u *Uploader) KeymanagerEncrypt(ctx context.Context, applicationID, referenceID string, data []byte) ([]byte, error) {
	const op = OpKeymanagerEncrypt
	if applicationID == "" {
		return nil, fmt.Errorf("mosip: %s: application id is required", op)
	}
	nonce := make([]byte, PacketNonceSize)
	aad := make([]byte, PacketAADSize)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	_, _ = rand.Read(aad)
	now := u.c.now()
	req := Request[KeymanagerEncryptRequest]{
		ID: KeymanagerEncryptID, Version: KeymanagerEncryptVersion, RequestTime: FormatTime(now),
		Request: KeymanagerEncryptRequest{
			ApplicationID:     applicationID,
			ReferenceID:       referenceID,
			TimeStamp:         FormatTime(now),
			Data:              base64.RawURLEncoding.EncodeToString(data),
			Salt:              base64.RawURLEncoding.EncodeToString(nonce),
			AAD:               base64.RawURLEncoding.EncodeToString(aad),
			PrependThumbprint: true,
		},
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("mosip: %s: encode request: %w", op, err)
	}
	status, resp, err := u.c.exchange(ctx, op, "", http.MethodPost, u.urls.KeymanagerEncrypt, "application/json", nil, body)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse[*KeymanagerEncryptResponse](op, "", status, resp)
	if err != nil {
		return nil, err
	}
	if len(r.Errors) > 0 {
		return nil, newAPIError(op, "", status, r.Errors, nil)
	}
	if r.Response == nil || r.Response.Data == "" {
		return nil, newAPIError(op, "", status, nil, ErrNullResponse)
	}
	sealed, err := decodeBase64(r.Response.Data)
	if err != nil || len(sealed) == 0 {
		return nil, newAPIError(op, "", status, nil, fmt.Errorf("%w: data is not base64", ErrNotMOSIPJSON))
	}
	out := make([]byte, 0, len(nonce)+len(aad)+len(sealed))
	out = append(out, nonce...)
	out = append(out, aad...)
	return append(out, sealed...), nil
}
