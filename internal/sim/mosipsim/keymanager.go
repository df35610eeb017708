package mosipsim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// MOSIP's key manager encrypt (cryptomanager), as MOSIP's packet manager
// calls it: the caller sends a 12-byte salt (the GCM nonce) and additional
// data, and prepends both to the answer itself. The simulator encrypts
// with an AES-256-GCM key of its own per (applicationId, referenceId),
// made on first use as MOSIP's key manager makes keys, and can decrypt
// its output for the sync and the packet receiver. MOSIP's real answer
// RSA-wraps a session key to the application's certificate; only the
// envelope differs, the caller cannot tell.

// PathKeymanagerEncrypt is the key manager's encrypt endpoint.
const PathKeymanagerEncrypt = "/v1/keymanager/encrypt"

// Key manager answers (KeymanagerErrorConstant, CryptomanagerErrorCode).
const (
	keymanagerID      = "mosip.cryptomanager.encrypt"
	keymanagerVersion = "v1"

	CodeKeymanagerAppID    = "KER-KMS-002" // ApplicationId not found in Key Policy
	CodeKeymanagerRequest  = "KER-KMS-005" // Invalid request
	CodeKeymanagerRefID    = "KER-KMS-010" // Reference Id Not Supported for the Application ID
	CodeKeymanagerInternal = "KER-KMS-500" // Internal server error
	CodeCryptoData         = "KER-CRY-003" // data is invalid or not base64 encoded
	CodeCryptoEmpty        = "KER-CRY-004" // should not be null or empty
	CodeCryptoTime         = "KER-CRY-007" // timestamp should be in ISO 8601 format
)

// keymanagerApps are the application ids of MOSIP's default key policies.
var keymanagerApps = []string{
	"REGISTRATION", "REGISTRATION_PROCESSOR", "KERNEL", "ID_REPO", "PRE_REGISTRATION",
	"RESIDENT", "IDA", "PMS", "ROOT",
}

const (
	maxKeymanagerBody = 24 << 20
	kmNonceSize       = 12
	kmThumbSize       = sha256.Size
	maxAADSize        = 1024
	maxReferenceID    = 64
	// maxKeymanagerKeys bounds the keys made on demand.
	maxKeymanagerKeys = 10000
)

// kmKey is one simulated key manager key.
type kmKey struct {
	aead  cipher.AEAD
	thumb []byte // what prependThumbprint puts in front
}

type kmRequest struct {
	ApplicationID     string `json:"applicationId"`
	ReferenceID       string `json:"referenceId"`
	TimeStamp         string `json:"timeStamp"`
	Data              string `json:"data"`
	Salt              string `json:"salt"`
	AAD               string `json:"aad"`
	PrependThumbprint bool   `json:"prependThumbprint"`
}

type kmResponse struct {
	Data string `json:"data"`
}

func (s *Sim) handleKeymanagerEncrypt(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	fail := func(code, msg string) {
		s.legacy.encryptRefusals.Add(1)
		s.log.Info("mosipsim: key manager encrypt refused", "code", code, "reason", msg)
		s.mosipErrors(w, keymanagerID, keymanagerVersion, svcErr(code, msg))
	}
	body, err := readBody(w, r, maxKeymanagerBody)
	if err != nil {
		fail(CodeKeymanagerRequest, "Invalid request: "+err.Error())
		return
	}
	var req mosip.Request[*kmRequest]
	if err := strictObject(body, &req); err != nil {
		fail(CodeKeymanagerRequest, "Invalid request: body is not a MOSIP request wrapper: "+err.Error())
		return
	}
	kr := req.Request
	if kr == nil {
		fail(CodeCryptoEmpty, "request should not be null or empty")
		return
	}
	for _, f := range []struct{ name, value string }{
		{"applicationId", kr.ApplicationID}, {"timeStamp", kr.TimeStamp}, {"data", kr.Data},
		{"salt", kr.Salt}, {"aad", kr.AAD},
	} {
		if strings.TrimSpace(f.value) == "" {
			msg := f.name + " should not be null or empty"
			if f.name == "salt" || f.name == "aad" {
				msg += " (the simulator only encrypts with the caller's salt and aad, as the packet manager sends them)"
			}
			fail(CodeCryptoEmpty, msg)
			return
		}
	}
	if code, msg := checkKeymanagerApp(kr.ApplicationID, kr.ReferenceID); code != "" {
		fail(code, msg)
		return
	}
	if _, err := parseMOSIPTime(kr.TimeStamp); err != nil {
		fail(CodeCryptoTime, "timestamp should be in ISO 8601 format yyyy-MM-ddTHH:mm:ss.SSSZ")
		return
	}
	data, err1 := decodeB64(kr.Data)
	salt, err2 := decodeB64(kr.Salt)
	aad, err3 := decodeB64(kr.AAD)
	switch {
	case err1 != nil || len(data) == 0:
		fail(CodeCryptoData, "data is invalid or not base64 encoded")
		return
	case err2 != nil || len(salt) != kmNonceSize:
		fail(CodeCryptoData, fmt.Sprintf("salt must be %d bytes of base64", kmNonceSize))
		return
	case err3 != nil || len(aad) == 0 || len(aad) > maxAADSize:
		fail(CodeCryptoData, fmt.Sprintf("aad must be 1 to %d bytes of base64", maxAADSize))
		return
	}
	key, err := s.legacy.key(kr.ApplicationID, kr.ReferenceID)
	if err != nil {
		s.log.Error("mosipsim: key manager key", "err", err)
		fail(CodeKeymanagerInternal, "Internal server error")
		return
	}
	var out []byte
	if kr.PrependThumbprint {
		out = append(out, key.thumb...)
	}
	out = key.aead.Seal(out, salt, data, aad)
	s.legacy.encryptions.Add(1)
	s.writeMOSIP(w, http.StatusOK, keymanagerID, keymanagerVersion, kmResponse{Data: base64.RawURLEncoding.EncodeToString(out)}, nil)
}

// checkKeymanagerApp refuses application ids without a key policy, and
// reference ids the application does not take: REGISTRATION keys belong
// to a <centreId>_<machineId>. It returns MOSIP's code and message, or ""
// when the pair is fine.
func checkKeymanagerApp(app, ref string) (code, msg string) {
	switch {
	case !slices.Contains(keymanagerApps, app):
		return CodeKeymanagerAppID, fmt.Sprintf("ApplicationId not found in Key Policy. Key/CSR generation not allowed. (%s; known: %s)",
			truncate(app, 64), strings.Join(keymanagerApps, ", "))
	case len(ref) > maxReferenceID || strings.IndexFunc(ref, isControl) >= 0:
		return CodeKeymanagerRefID, fmt.Sprintf("Reference Id Not Supported for the Application ID: at most %d printable characters", maxReferenceID)
	case app == mosip.AppRegistration && !refIDPattern.MatchString(ref):
		return CodeKeymanagerRefID, "Reference Id Not Supported for the Application ID: REGISTRATION keys belong to a <centreId>_<machineId>"
	}
	return "", ""
}

// key returns the key of (app, ref), made on first use.
func (l *legacyState) key(app, ref string) (*kmKey, error) {
	id := app + "\x00" + ref
	l.mu.Lock()
	defer l.mu.Unlock()
	if k := l.keys[id]; k != nil {
		return k, nil
	}
	if l.keys == nil {
		l.keys = make(map[string]*kmKey)
	}
	if len(l.keys) >= maxKeymanagerKeys {
		return nil, fmt.Errorf("more than %d key manager keys", maxKeymanagerKeys)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	thumb := sha256.Sum256(append([]byte("mosipsim key manager thumbprint\x00"+id+"\x00"), raw...))
	k := &kmKey{aead: aead, thumb: thumb[:]}
	l.keys[id] = k
	return k, nil
}

// errDecrypt is every decryption failure: the reason is not told to the
// caller, as MOSIP does not.
var errDecrypt = errors.New("decryption failed")

// decryptPacketCrypto reverses the packet manager's encryption: blob is
// nonce(12) | aad(32) | [thumbprint] | ciphertext made by the key of (app,
// ref). A key that was never made cannot have encrypted anything.
func (l *legacyState) decryptPacketCrypto(app, ref string, blob []byte) ([]byte, error) {
	const aadLen = mosip.PacketAADSize
	if len(blob) < kmNonceSize+aadLen+16 {
		return nil, errDecrypt
	}
	l.mu.Lock()
	k := l.keys[app+"\x00"+ref]
	l.mu.Unlock()
	if k == nil {
		return nil, errDecrypt
	}
	nonce, aad, sealed := blob[:kmNonceSize], blob[kmNonceSize:kmNonceSize+aadLen], blob[kmNonceSize+aadLen:]
	if len(sealed) >= kmThumbSize+16 && bytes.Equal(sealed[:kmThumbSize], k.thumb) {
		if plain, err := k.aead.Open(nil, nonce, sealed[kmThumbSize:], aad); err == nil {
			return plain, nil
		}
	}
	plain, err := k.aead.Open(nil, nonce, sealed, aad)
	if err != nil {
		return nil, errDecrypt
	}
	return plain, nil
}

// parseMOSIPTime reads MOSIP's yyyy-MM-dd'T'HH:mm:ss.SSS'Z', or RFC 3339.
func parseMOSIPTime(s string) (time.Time, error) {
	if t, err := time.Parse(mosip.TimeLayout, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
