package mosip

import (
	"context"
	"fmt"
	"net/http"
)

// Partner-specific UIN tokens (PSUT) from the key manager's token ID
// generator. The Java MOSIP-side mediator gives OpenCRVS a token instead of
// the UIN, derived in two hops: the UIN's token for an intermediary
// partner, then that token's token for the target partner
// (ReceiveCredentialService; mediators.md 2.11 step 4).

// OpUINToken names token ID requests in errors.
const OpUINToken = "UIN token"

// DefaultPSUTIntermediary is the intermediary partner of the first hop
// (mosip.opencrvs.uin.token.intermediary.partner's default).
const DefaultPSUTIntermediary = "mpartner-default-auth"

// maxTokenIDLen bounds a token the client accepts; MOSIP's are 36 digits.
const maxTokenIDLen = 128

type tokenIDResponse struct {
	TokenID string `json:"tokenID"`
}

// UINToken returns the token of a UIN (or of a token, for a second hop)
// for a partner: GET {TokenIDURL}/{uin}/{partnerID} -> response.tokenID.
// The same (uin, partnerID) always gives the same token. Errors never
// carry the UIN or a token; a token is a pseudonym of a person: do not
// log it.
func (c *Client) UINToken(ctx context.Context, uin, partnerID string) (string, error) {
	const op = OpUINToken
	switch {
	case uin == "":
		return "", fmt.Errorf("mosip: %s: UIN is empty", op)
	case partnerID == "":
		return "", fmt.Errorf("mosip: %s: partner id is empty", op)
	case c.tokenIDURL == "":
		return "", fmt.Errorf("mosip: %s: no URL configured", op)
	}
	status, body, err := c.call(ctx, op, "", http.MethodGet, joinPath(c.tokenIDURL, uin, partnerID), nil)
	if err != nil {
		return "", hideUIN(err, uin, joinPath(c.tokenIDURL)+"/{UIN}/"+partnerID)
	}
	r, err := decodeResponse[*tokenIDResponse](op, "", status, body)
	if err != nil {
		return "", hideUIN(err, uin, "")
	}
	if len(r.Errors) > 0 {
		return "", hideUIN(newAPIError(op, "", status, r.Errors, nil), uin, "")
	}
	if r.Response == nil || r.Response.TokenID == "" {
		return "", newAPIError(op, "", status, nil, ErrNullResponse)
	}
	tok := r.Response.TokenID
	if len(tok) > maxTokenIDLen {
		return "", newAPIError(op, "", status, nil, fmt.Errorf("%w (a token of %d bytes)", ErrNotMOSIPJSON, len(tok)))
	}
	for i := range len(tok) {
		if tok[i] <= ' ' || tok[i] > '~' {
			return "", newAPIError(op, "", status, nil, fmt.Errorf("%w (a token that is not printable ASCII)", ErrNotMOSIPJSON))
		}
	}
	c.log.Debug("mosip UIN token issued", "partner_id", partnerID)
	return tok, nil
}

// PSUTPartners are the partners of the two token hops.
type PSUTPartners struct {
	// Intermediary is the first hop's partner; "" means
	// DefaultPSUTIntermediary.
	Intermediary string
	// Partner is the partner the token is for
	// (mosip.opencrvs.uin.token.partner). Required.
	Partner string
}

// PSUT returns the partner-specific UIN token as the Java mediator derives
// it: UINToken(uin, Intermediary), then UINToken(that token, Partner).
// Errors say which hop failed and wrap UINToken's error.
func (c *Client) PSUT(ctx context.Context, uin string, p PSUTPartners) (string, error) {
	if p.Partner == "" {
		return "", fmt.Errorf("mosip: %s: no target partner configured", OpUINToken)
	}
	inter := p.Intermediary
	if inter == "" {
		inter = DefaultPSUTIntermediary
	}
	first, err := c.UINToken(ctx, uin, inter)
	if err != nil {
		return "", fmt.Errorf("mosip: PSUT hop 1 (intermediary partner %s): %w", inter, err)
	}
	tok, err := c.UINToken(ctx, first, p.Partner)
	if err != nil {
		return "", fmt.Errorf("mosip: PSUT hop 2 (partner %s): %w", p.Partner, err)
	}
	return tok, nil
}
