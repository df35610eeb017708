package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"opencrvs-mosip/internal/idcard"
)

// newQRVerifier builds the ID card QR code verifier of POST /verify-qr
// from TRUSTED_QR_ISSUERS (nil when it is empty: the route is off). Key
// files are read now, so a bad one stops the start; JWKS URLs are fetched
// when the first code is checked.
func newQRVerifier(cfg Config, httpClient *http.Client, log *slog.Logger) (*idcard.Verifier, error) {
	if len(cfg.TrustedQRIssuers) == 0 {
		return nil, nil
	}
	keys, err := idcard.LoadKeys(idcard.KeysConfig{
		Sources: cfg.TrustedQRIssuers, HTTPClient: httpClient, Refresh: cfg.QRKeysRefresh,
		Logger: log.With("component", "idcard"),
	})
	if err != nil {
		return nil, fmt.Errorf("TRUSTED_QR_ISSUERS: %w", err)
	}
	return idcard.NewVerifier(idcard.VerifierConfig{Keys: keys})
}
