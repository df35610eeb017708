package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"opencrvs-mosip/internal/esignet"
)

// esignetDefaults derives the E-Signet URLs from the token URL and checks
// that E-Signet is configured completely or not at all.
func (c *Config) esignetDefaults(r *reader) {
	if c.ESignetTokenURL == "" {
		for _, o := range []struct{ name, value string }{
			{"ESIGNET_USERINFO_URL", c.ESignetUserInfoURL}, {"ESIGNET_JWKS_URL", c.ESignetJWKSURL},
			{"OIDP_CLIENT_PRIVATE_KEY_PATH", c.OIDPKeyPath},
		} {
			if o.value != "" {
				r.fail("ESIGNET_TOKEN_URL", "is required with %s (E-Signet in-form authentication)", o.name)
				return
			}
		}
		return
	}
	userInfo, jwks := esignet.DerivedURLs(c.ESignetTokenURL)
	if c.ESignetUserInfoURL == "" {
		if c.ESignetUserInfoURL = userInfo; userInfo == "" {
			r.fail("ESIGNET_USERINFO_URL", "is required: it cannot be derived from ESIGNET_TOKEN_URL, which does not end in /oauth/token or /oauth/v2/token")
		}
	}
	if c.ESignetJWKSURL == "" {
		if c.ESignetJWKSURL = jwks; jwks == "" {
			r.fail("ESIGNET_JWKS_URL", "is required: it cannot be derived from ESIGNET_TOKEN_URL, which does not end in /oauth/token or /oauth/v2/token")
		}
	}
	if c.OIDPKeyPath == "" {
		r.fail("OIDP_CLIENT_PRIVATE_KEY_PATH", "is required with ESIGNET_TOKEN_URL: the client assertion is signed with it")
	}
}

// newESignetClient builds the E-Signet client of
// /esignet/get-oidp-user-info, or nil when ESIGNET_TOKEN_URL is not set.
func newESignetClient(cfg Config, httpClient *http.Client, log *slog.Logger) (*esignet.Client, error) {
	if cfg.ESignetTokenURL == "" {
		log.Info("E-Signet is off: ESIGNET_TOKEN_URL is not set (POST /esignet/get-oidp-user-info answers 404)")
		return nil, nil
	}
	key, err := esignet.LoadClientKey(cfg.OIDPKeyPath)
	if err != nil {
		return nil, fmt.Errorf("OIDP_CLIENT_PRIVATE_KEY_PATH: %w", err)
	}
	c, err := esignet.New(esignet.Config{
		TokenURL: cfg.ESignetTokenURL, UserInfoURL: cfg.ESignetUserInfoURL, JWKSURL: cfg.ESignetJWKSURL,
		Audience: cfg.ESignetAudience, ClientKey: key, HTTPClient: httpClient, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("E-Signet configuration: %w", err)
	}
	return c, nil
}
