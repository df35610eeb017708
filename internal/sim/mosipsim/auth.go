package mosipsim

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/mosip"
)

// Auth manager error codes. KER-ATH-401 is MOSIP's; KER-ATH-400 is the
// simulator's for a malformed request (MOSIP's kernel answers those with
// a Spring validation error).
const (
	CodeAuthFailed     = "KER-ATH-401"
	CodeAuthBadRequest = "KER-ATH-400"
	CodeAuthUnavail    = "KER-ATH-002"
	msgAuthFailed      = "Authentication Failed"
)

const authCookie = "Authorization"

func (s *Sim) handleAuth(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, 64<<10)
	if err != nil {
		s.mosipErrors(w, "", "", svcErr(CodeAuthBadRequest, "Invalid request: "+err.Error()))
		return
	}
	var req mosip.Request[*mosip.AuthRequest]
	if err := strictObject(body, &req); err != nil {
		s.mosipErrors(w, "", "", svcErr(CodeAuthBadRequest, "Invalid request: body is not a MOSIP request wrapper: "+err.Error()))
		return
	}
	if req.Request == nil {
		s.mosipErrors(w, req.ID, req.Version, svcErr(CodeAuthBadRequest, "Invalid request: request is required"))
		return
	}
	for _, f := range []struct{ name, value string }{
		{"clientId", req.Request.ClientID}, {"secretKey", req.Request.SecretKey}, {"appId", req.Request.AppID},
	} {
		if f.value == "" {
			s.mosipErrors(w, req.ID, req.Version, svcErr(CodeAuthBadRequest, "Invalid request: request."+f.name+" is required"))
			return
		}
	}
	secret, known := s.cfg.Clients[req.Request.ClientID]
	if !known || subtle.ConstantTimeCompare([]byte(secret), []byte(req.Request.SecretKey)) != 1 {
		s.log.Info("mosipsim: authentication refused", "client_id", req.Request.ClientID)
		s.mosipErrors(w, req.ID, req.Version, svcErr(CodeAuthFailed, msgAuthFailed+": invalid clientId or secretKey"))
		return
	}
	token, err := s.issueToken(req.Request.ClientID)
	if err != nil {
		s.log.Error("mosipsim: issue token", "err", err)
		s.mosipErrors(w, req.ID, req.Version, svcErr(CodeAuthUnavail, "Fail to connect to auth service"))
		return
	}
	w.Header().Add("Set-Cookie", authCookie+"="+token+"; Max-Age="+strconv.Itoa(int(s.cfg.TokenTTL/time.Second))+"; Path=/; Secure; HttpOnly")
	s.writeMOSIP(w, http.StatusOK, req.ID, req.Version, mosip.AuthResponse{
		Status:  "Success",
		Message: "Clientid and Token combination had been validated successfully",
	}, nil)
}

// issueToken signs an HS256 JWT for the client.
func (s *Sim) issueToken(clientID string) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: s.tokenKey}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("mosipsim: token signer: %w", err)
	}
	now := s.now()
	return jwt.Signed(sig).Claims(jwt.Claims{
		Subject:  clientID,
		Issuer:   "mosipsim",
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(s.cfg.TokenTTL)),
		ID:       newUUID(),
	}).Serialize()
}

var errNoToken = errors.New("no Authorization cookie")

// tokenClient checks the Authorization cookie and returns the client it
// was issued to.
func (s *Sim) tokenClient(r *http.Request) (string, error) {
	c, err := r.Cookie(authCookie)
	if err != nil || c.Value == "" {
		return "", errNoToken
	}
	tok, err := jwt.ParseSigned(c.Value, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		return "", fmt.Errorf("malformed token: %w", err)
	}
	var claims jwt.Claims
	if err := tok.Claims(s.tokenKey, &claims); err != nil {
		return "", fmt.Errorf("token signature: %w", err)
	}
	if claims.Expiry == nil {
		return "", errors.New("token has no expiry")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Time: s.now()}, 0); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return claims.Subject, nil
}

// authorized answers 401 and reports false unless the request carries a
// valid token.
func (s *Sim) authorized(w http.ResponseWriter, r *http.Request) bool {
	if _, err := s.tokenClient(r); err != nil {
		s.log.Info("mosipsim: unauthenticated request", "path", r.URL.Path, "reason", err.Error())
		s.writeMOSIP(w, http.StatusUnauthorized, "", "", nil, []mosip.ServiceError{svcErr(CodeAuthFailed, msgAuthFailed)})
		return false
	}
	return true
}

// jsonProblem describes a JSON decoding error without echoing the input.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return fmt.Sprintf("%s: cannot use a JSON %s here (want %s)", field, typeErr.Value, typeErr.Type)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	}
	return err.Error()
}
