package esignet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// LoadClientKey reads the relying party's private key from path: a JSON
// Web Key, base64-encoded as OpenCRVS's mosip-api takes it
// (OIDP_CLIENT_PRIVATE_KEY_PATH), or plain JSON.
func LoadClientKey(path string) (*jose.JSONWebKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParseClientKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// ParseClientKey parses a private JWK given as base64 of its JSON (standard
// or URL alphabet, padded or not) or as the JSON itself. The key must be a
// private RSA key (RS256, PS256) or P-256 EC key (ES256): what E-Signet
// accepts for private_key_jwt.
func ParseClientKey(data []byte) (*jose.JSONWebKey, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("the key file is empty")
	}
	if data[0] != '{' {
		text := strings.Join(strings.Fields(string(data)), "")
		var decoded []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if decoded, err = enc.DecodeString(text); err == nil {
				break
			}
		}
		if err != nil {
			return nil, errors.New("the key is neither a JSON Web Key nor base64 of one")
		}
		data = bytes.TrimSpace(decoded)
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key: %w", err)
	}
	if key.IsPublic() {
		return nil, errors.New("the JSON Web Key is a public key: the client assertion needs the private key (with d)")
	}
	if _, err := signingAlgorithm(&key); err != nil {
		return nil, err
	}
	return &key, nil
}

// signingAlgorithm is the JWS algorithm of the client assertion: the key's
// alg when it names one E-Signet accepts, else RS256 for RSA and ES256 for
// P-256.
func signingAlgorithm(key *jose.JSONWebKey) (jose.SignatureAlgorithm, error) {
	switch k := key.Key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("the RSA key has %d bits; E-Signet needs at least 2048", k.N.BitLen())
		}
		switch alg := jose.SignatureAlgorithm(key.Algorithm); alg {
		case "", jose.RS256:
			return jose.RS256, nil
		case jose.PS256:
			return alg, nil
		default:
			return "", fmt.Errorf("the key's alg %q is not one E-Signet accepts for an RSA client key (RS256, PS256)", alg)
		}
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("the EC key is not on P-256: E-Signet accepts ES256 only")
		}
		if alg := key.Algorithm; alg != "" && alg != string(jose.ES256) {
			return "", fmt.Errorf("the key's alg %q is not ES256", alg)
		}
		return jose.ES256, nil
	}
	return "", fmt.Errorf("the key type %T cannot sign an E-Signet client assertion (RSA or P-256 EC)", key.Key)
}
