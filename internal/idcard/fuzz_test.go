package idcard_test

import (
	"context"
	"testing"

	"opencrvs-mosip/internal/idcard"
	"opencrvs-mosip/internal/sim/mosipsim"
)

// FuzzVerify: any scanned text gets a verdict, never a panic, and a
// refused code never hands on identity data.
func FuzzVerify(f *testing.F) {
	sim, err := mosipsim.New(mosipsim.Config{PartnerCert: mustPartnerCert(f)})
	if err != nil {
		f.Fatal(err)
	}
	defer sim.Close()
	if _, err := sim.AddIdentity(mosipsim.SeedIdentity{UIN: cardUIN, VID: cardVID, Fields: cardFields}); err != nil {
		f.Fatal(err)
	}
	var keys []idcard.TrustedKey
	for _, k := range sim.JWKS().Keys {
		keys = append(keys, idcard.TrustedKey{KeyID: k.KeyID, Algorithm: k.Algorithm, Key: k.Key})
	}
	v, err := idcard.NewVerifier(idcard.VerifierConfig{Keys: idcard.NewKeys(keys...)})
	if err != nil {
		f.Fatal(err)
	}
	for _, format := range []string{mosipsim.QRFormatJWS, mosipsim.QRFormatClaim169} {
		qr, err := sim.PrintQR(cardUIN, mosipsim.QROptions{Format: format})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(qr)
	}
	f.Add(`{"UIN":"1"}`)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("6BF5YZB2")
	f.Fuzz(func(t *testing.T, qr string) {
		res, err := v.Verify(context.Background(), qr)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if res.Verified != (res.Identity != nil) || res.Verified != (res.Reason == "") {
			t.Fatalf("inconsistent result: verified=%v reason %q identity %v", res.Verified, res.Reason, res.Identity != nil)
		}
	})
}
