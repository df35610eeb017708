package mosipsim

import (
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"opencrvs-mosip/internal/mosip"
)

// PathValidateToken is the auth manager's token check: the token in the
// cookie Authorization, the answer a MosipUserDto.
const PathValidateToken = "/v1/authmanager/authorize/admin/validateToken"

// Roles a client has when Config.ClientRoles is nil.
const (
	RoleOpenCRVSMediator      = "OPENCRVS_MEDIATOR"
	RoleRegistrationProcessor = "REGISTRATION_PROCESSOR"
)

// DefaultClientRoles are the roles of every client when Config.ClientRoles
// is nil.
func DefaultClientRoles() []string {
	return []string{RoleOpenCRVSMediator, RoleRegistrationProcessor}
}

// Auth manager error codes of validateToken (kernel-auth AuthErrorCode).
const (
	CodeCookiesEmpty = "KER-ATH-006"
	CodeNoToken      = "KER-ATH-007"
)

// mosipUserDto is kernel-auth's MosipUserDto as validateToken answers it.
type mosipUserDto struct {
	UserID       string  `json:"userId"`
	Mobile       *string `json:"mobile"`
	Mail         *string `json:"mail"`
	LangCode     *string `json:"langCode"`
	UserPassword *string `json:"userPassword"`
	Name         string  `json:"name"`
	Role         string  `json:"role"`
	Token        string  `json:"token"`
	RID          *string `json:"rid"`
}

// handleValidateToken answers as kernel-auth's validateAdminToken does:
// its AuthManagerExceptions (no cookie, no token, a token that does not
// verify or has expired) with HTTP 200 and an errors list, a token that is
// not a JWT at all with HTTP 401 (its JWTDecodeException handler), a good
// token with the user and a comma-separated role list that ends with a
// comma, as MOSIP writes it.
func (s *Sim) handleValidateToken(w http.ResponseWriter, r *http.Request) {
	if len(r.Cookies()) == 0 {
		s.mosipErrors(w, "", "", svcErr(CodeCookiesEmpty, "Cookies are empty"))
		return
	}
	c, err := r.Cookie(authCookie)
	if err != nil || c.Value == "" {
		s.mosipErrors(w, "", "", svcErr(CodeNoToken, "Token is not present in cookies"))
		return
	}
	tok, err := jwt.ParseSigned(c.Value, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		s.writeMOSIP(w, http.StatusUnauthorized, "", "", nil, []mosip.ServiceError{svcErr(CodeAuthFailed, msgAuthFailed+" : Invalid Token :")})
		return
	}
	var claims jwt.Claims
	if err := tok.Claims(s.tokenKey, &claims); err != nil || claims.Expiry == nil ||
		claims.ValidateWithLeeway(jwt.Expected{Time: s.now()}, 0) != nil {
		s.mosipErrors(w, "", "", svcErr(CodeAuthFailed, msgAuthFailed+" : Invalid Token :Token verification failed"))
		return
	}
	roles := DefaultClientRoles()
	if s.cfg.ClientRoles != nil {
		roles = s.cfg.ClientRoles[claims.Subject]
	}
	role := ""
	if len(roles) > 0 {
		role = strings.Join(roles, ",") + ","
	}
	s.writeMOSIP(w, http.StatusOK, "", "", mosipUserDto{
		UserID: claims.Subject,
		Name:   claims.Subject,
		Role:   role,
		Token:  c.Value,
	}, nil)
}
