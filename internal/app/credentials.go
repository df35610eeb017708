package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/vc"
)

// newCredentialVerifier returns the verifier of credential proofs, or nil
// when MOSIP_VC_VERIFY is off.
func newCredentialVerifier(cfg Config, client *http.Client, log *slog.Logger) (*vc.Verifier, error) {
	if cfg.VCVerify == "" || cfg.VCVerify == httpapi.CredentialCheckOff {
		log.Warn("credential proofs are not checked (MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST empty or MOSIP_VC_VERIFY=off): only the hub signature vouches for a credential")
		return nil, nil
	}
	v, err := vc.NewVerifier(vc.VerifierConfig{AllowList: cfg.VCAllowList, Contexts: cfg.VCContexts, Client: client})
	if err != nil {
		return nil, fmt.Errorf("credential verification: %w", err)
	}
	contexts := cfg.VCContexts
	if contexts == nil {
		contexts = vc.BundledContexts()
	}
	log.Info("credential proofs checked", "mode", cfg.VCVerify, "verification_methods", cfg.VCAllowList, "contexts", contexts.URLs())
	return v, nil
}
