package app

import (
	"strings"
	"testing"
)

// Identity verification is off without IDA_AUTH_URL; with it, the partner
// settings are required and the rest is derived.
func TestLoadConfigIDA(t *testing.T) {
	env := requiredEnv()
	c, err := LoadConfig(envOf(env))
	if err != nil || c.IDAAuthURL != "" {
		t.Fatalf("without IDA_AUTH_URL: %+v, %v; want verification off", c.IDAAuthURL, err)
	}

	env["IDA_AUTH_URL"] = "https://ida.example:8443/idauthentication/v1/auth"
	_, err = LoadConfig(envOf(env))
	for _, name := range []string{"PARTNER_MISP_LK", "PARTNER_ID", "PARTNER_APIKEY", "ENCRYPT_CERT_PATH"} {
		if err == nil || !strings.Contains(err.Error(), name+": is required with IDA_AUTH_URL") {
			t.Errorf("error %v does not name %s", err, name)
		}
	}

	env["PARTNER_MISP_LK"], env["PARTNER_ID"], env["PARTNER_APIKEY"] = "lk", "crvs-partner", "key"
	env["ENCRYPT_CERT_PATH"] = "/certs/ida-partner.crt"
	c, err = LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.IDADomainURI != "https://ida.example:8443" {
		t.Errorf("IDADomainURI = %q, want the scheme and host of IDA_AUTH_URL", c.IDADomainURI)
	}
	if c.IDASignP12 != c.P12Path || c.IDASignPassword != c.P12Password {
		t.Errorf("signing keystore = %q, want DECRYPT_P12_FILE_PATH %q with its password", c.IDASignP12, c.P12Path)
	}
}
