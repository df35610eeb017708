package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func requiredEnv() map[string]string {
	return map[string]string{
		"OPENCRVS_PUBLIC_KEY_URL":         "http://auth:4040/.well-known",
		"OPENCRVS_GRAPHQL_GATEWAY_URL":    "http://gateway:7070/graphql",
		"MOSIP_AUTH_URL":                  "https://mosip/v1/authmanager/authenticate/clientidsecretkey",
		"MOSIP_PACKET_AUTH_CLIENT_ID":     "mosip-crvs1-client",
		"MOSIP_PACKET_AUTH_CLIENT_SECRET": "s1",
		"MOSIP_WEBSUB_AUTH_CLIENT_ID":     "mosip-crvs1-client",
		"MOSIP_WEBSUB_AUTH_CLIENT_SECRET": "s2",
		"MOSIP_CREATE_PACKET_URL":         "https://mosip/commons/v1/packetmanager/createPacket",
		"MOSIP_PROCESS_PACKET_URL":        "https://mosip/registrationprocessor/v1/workflowmanager/workflowinstance",
		"MOSIP_WEBSUB_HUB_URL":            "https://mosip/hub",
		"MOSIP_WEBSUB_CALLBACK_URL":       "https://mediator/websub/callback",
		"MOSIP_WEBSUB_SECRET":             "hub-secret",
		"DECRYPT_P12_FILE_PATH":           "/certs/keystore.p12",
		"DECRYPT_P12_FILE_PASSWORD":       "mosip123",
		"STORE_ENCRYPTION_KEY":            "k1:QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", // 32 bytes of "A"
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(envOf(requiredEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:2024" || c.Topic != "CREDENTIAL_ISSUED" || c.CentreID != "10001" || c.MachineID != "10004" ||
		c.PacketSource != "OPENCRVS" || c.SchemaVersion != "0.100" || c.AIDFormat != "rid" || c.Synchronous != "FULL" ||
		c.RetryBase != 2*time.Second || c.RetryAttempts != 30 || !c.AutoMigrate {
		t.Errorf("defaults: %+v", c)
	}
	if want := "https://mosip/registrationprocessor/v1/registrationstatus/search"; c.StatusURL != want {
		t.Errorf("status URL %q, want %q", c.StatusURL, want)
	}
}

// Every problem is reported at once, one line each, naming the variable.
func TestLoadConfigReportsEveryProblem(t *testing.T) {
	env := requiredEnv()
	delete(env, "MOSIP_AUTH_URL")
	delete(env, "MOSIP_WEBSUB_SECRET")
	env["PORT"] = "http"
	env["OPENCRVS_PUBLIC_KEY_URL"] = "auth:4040"
	env["RETRY_BASE_DELAY"] = "soon"
	env["AID_FORMAT"] = "uuid"
	_, err := LoadConfig(envOf(env))
	if err == nil {
		t.Fatal("LoadConfig accepted a broken configuration")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, name := range []string{"MOSIP_AUTH_URL:", "MOSIP_WEBSUB_SECRET:", "PORT:", "OPENCRVS_PUBLIC_KEY_URL:", "RETRY_BASE_DELAY:", "AID_FORMAT:"} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, name)
		}
		if !found {
			t.Errorf("no line about %s in:\n%s", name, err)
		}
	}
	if strings.Contains(err.Error(), "s1") || strings.Contains(err.Error(), "hub-secret") {
		t.Errorf("the error shows a secret: %s", err)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := requiredEnv()
	delete(env, "MOSIP_WEBSUB_SECRET")
	env["MOSIP_WEBSUB_SECRET_FILE"] = file
	env["ADMIN_TOKEN_FILE"] = file
	c, err := LoadConfig(envOf(env))
	if err != nil || c.WebSubSecret != "from-a-file" || c.AdminToken != "from-a-file" {
		t.Errorf("secrets from files: %q, %q, %v", c.WebSubSecret, c.AdminToken, err)
	}
	env["MOSIP_WEBSUB_SECRET"] = "both"
	if _, err := LoadConfig(envOf(env)); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("a secret and its file both set: %v", err)
	}
	delete(env, "MOSIP_WEBSUB_SECRET")
	env["MOSIP_WEBSUB_SECRET_FILE"] = filepath.Join(dir, "missing")
	if _, err := LoadConfig(envOf(env)); err == nil || !strings.Contains(err.Error(), "MOSIP_WEBSUB_SECRET_FILE") {
		t.Errorf("a missing secret file: %v", err)
	}
}
