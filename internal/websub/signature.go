// Package websub is the mediator's side of MOSIP's WebSub hub: it subscribes
// to the credential topic and renews the subscription, answers the hub's
// intent verification, and checks the HMAC signature of every delivery.
package websub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SignatureHeader is the header a WebSub hub signs deliveries in.
const SignatureHeader = "X-Hub-Signature"

// Sign returns the X-Hub-Signature value for body: "sha256=" and the
// lowercase hex HMAC-SHA256 of the raw body under the subscription secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header is a valid sha256 signature of body under
// secret. The comparison is constant-time; other algorithms are refused.
func Verify(secret []byte, header string, body []byte) bool {
	algo, sig, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok || !strings.EqualFold(algo, "sha256") {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
