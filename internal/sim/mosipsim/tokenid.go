package mosipsim

import (
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"net/http"
	"strings"
)

// The key manager's token ID generator: a partner-specific token of a UIN
// (PSUT), GET /v1/keymanager/tokenid/{uin}/{partnerCode}. The Java
// MOSIP-side mediator derives the token it sends to OpenCRVS in two hops:
// the UIN's token for an intermediary partner (mpartner-default-auth),
// then that token's token for the target partner.

// PathTokenID is the base of the token ID generator: GET
// PathTokenID+"/{uin}/{partnerCode}".
const PathTokenID = "/v1/keymanager/tokenid"

// Token ID answers (MOSIP's TokenIDResponseDto in a ResponseWrapper).
const (
	tokenIDResponseID      = "mosip.kernel.tokenid.generate"
	tokenIDResponseVersion = "1.0"
	// CodeTokenIDEmpty is the generator's "UIN and partner code cannot be
	// empty".
	CodeTokenIDEmpty = "KER-TIG-010"
	// CodeTokenIDInternal is its "Internal Server Error" (injected
	// errors200 at tokenid).
	CodeTokenIDInternal = "KER-UIG-005"
	// tokenIDLength is mosip.kernel.tokenid.length.
	tokenIDLength = 36
	// The salts (mosip.kernel.tokenid.uin.salt and .partnercode.salt) are
	// fixed, so a UIN's tokens survive a restart of the simulator.
	tokenIDUINSalt     = "mosipsim-uin-salt"
	tokenIDPartnerSalt = "mosipsim-partner-salt"
)

// TokenID is the token the simulator's token ID generator gives id (a UIN,
// or a token of one) for partner, computed as MOSIP's keymanager
// TokenIDGenerator does: the first 36 decimal digits of the big-endian
// number whose bytes are the upper-case hex SHA-256 of
// partnerSalt+partner+hex SHA-256(id+uinSalt).
func TokenID(id, partner string) string {
	uinHash := sha256.Sum256([]byte(id + tokenIDUINSalt))
	hash := sha256.Sum256([]byte(tokenIDPartnerSalt + partner + strings.ToUpper(hex.EncodeToString(uinHash[:]))))
	digits := new(big.Int).SetBytes([]byte(strings.ToUpper(hex.EncodeToString(hash[:])))).String()
	return digits[:tokenIDLength]
}

// isTokenID reports whether id has the shape of a token ID.
func isTokenID(id string) bool {
	if len(id) != tokenIDLength {
		return false
	}
	for i := range len(id) {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// handleTokenID answers GET PathTokenID/{uin}/{partnerCode}. MOSIP's
// generator hashes whatever it is given; the simulator only takes a UIN it
// holds (any status) or a token ID (the second hop), and answers
// IDR-IDC-007 otherwise, so that a VID, a registration number or a typo
// sent as the UIN shows up.
func (s *Sim) handleTokenID(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	id, partner := strings.TrimSpace(r.PathValue("uin")), strings.TrimSpace(r.PathValue("partner"))
	if id == "" || partner == "" {
		s.mosipErrors(w, tokenIDResponseID, tokenIDResponseVersion, svcErr(CodeTokenIDEmpty, "UIN and partner code cannot be empty"))
		return
	}
	s.mu.Lock()
	known := s.ids.byUIN[id] != nil
	s.mu.Unlock()
	if !known && !isTokenID(id) {
		s.mosipErrors(w, tokenIDResponseID, tokenIDResponseVersion,
			svcErr(CodeIDRepoNoRecord, msgIDRepoNoRecord+": no identity has this UIN (the simulator derives tokens from its UINs and from token ids only)"))
		return
	}
	s.writeMOSIP(w, http.StatusOK, tokenIDResponseID, tokenIDResponseVersion, map[string]string{"tokenID": TokenID(id, partner)}, nil)
}
