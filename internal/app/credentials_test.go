package app

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"opencrvs-mosip/internal/httpapi"
	"opencrvs-mosip/internal/sim/mosipsim"
)

func TestLoadConfigCredentialVerification(t *testing.T) {
	ctxFile := filepath.Join(t.TempDir(), "mosip-context.json")
	if err := os.WriteFile(ctxFile, mosipsim.VCContext(), 0o600); err != nil {
		t.Fatal(err)
	}
	const keyURL = "https://mosip.example/.well-known/public-key.json"
	const ctxURL = "https://mosip.example/.well-known/mosip-context.json"
	tests := []struct {
		name     string
		env      map[string]string
		wantMode string
		wantErr  string // a substring; "" for none
	}{
		{name: "no allow-list: off", wantMode: httpapi.CredentialCheckOff},
		{name: "allow-list: enforce", env: map[string]string{"MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST": keyURL}, wantMode: httpapi.CredentialCheckEnforce},
		{name: "log-only", env: map[string]string{"MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST": keyURL, "MOSIP_VC_VERIFY": "Log-Only"}, wantMode: httpapi.CredentialCheckLogOnly},
		{name: "explicitly off", env: map[string]string{"MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST": keyURL, "MOSIP_VC_VERIFY": "off"}, wantMode: httpapi.CredentialCheckOff},
		{name: "enforce without allow-list", env: map[string]string{"MOSIP_VC_VERIFY": "enforce"}, wantErr: "MOSIP_VC_VERIFY: enforce needs MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST"},
		{name: "unknown mode", env: map[string]string{"MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST": keyURL, "MOSIP_VC_VERIFY": "strict"}, wantErr: "MOSIP_VC_VERIFY: must be one of"},
		{name: "allow-list not URLs", env: map[string]string{"MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST": keyURL + ",public-key.json"}, wantErr: "MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST: \"public-key.json\" is not an http(s) URL"},
		{name: "contexts", env: map[string]string{"MOSIP_VERIFIABLE_CREDENTIAL_ALLOWLIST": keyURL, "MOSIP_VC_CONTEXTS": ctxURL + "=" + ctxFile}, wantMode: httpapi.CredentialCheckEnforce},
		{name: "context file missing", env: map[string]string{"MOSIP_VC_CONTEXTS": ctxURL + "=" + ctxFile + ".gone"}, wantErr: "MOSIP_VC_CONTEXTS:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := requiredEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := LoadConfig(envOf(env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.VCVerify != tc.wantMode {
				t.Errorf("VCVerify = %q, want %q", c.VCVerify, tc.wantMode)
			}
			if c.VCContexts == nil || !slices.Contains(c.VCContexts.URLs(), "https://www.w3.org/2018/credentials/v1") {
				t.Errorf("contexts %v lack the bundled ones", c.VCContexts)
			}
			if tc.env["MOSIP_VC_CONTEXTS"] != "" && !slices.Contains(c.VCContexts.URLs(), ctxURL) {
				t.Errorf("contexts %v lack %s", c.VCContexts.URLs(), ctxURL)
			}
		})
	}
}
