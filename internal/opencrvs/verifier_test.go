package opencrvs

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
)

// wantCode checks that err is a *bridge.Error with code and, if msgPart is
// not empty, a message containing it.
func wantCode(t *testing.T, err error, code bridge.ErrorCode, msgPart string) {
	t.Helper()
	var be *bridge.Error
	if !errors.As(err, &be) {
		t.Fatalf("error = %v (%T), want a *bridge.Error with code %s", err, err, code)
	}
	if be.Code != code {
		t.Errorf("code = %s (%v), want %s", be.Code, err, code)
	}
	if msgPart != "" && !strings.Contains(be.Message, msgPart) {
		t.Errorf("message = %q, want it to contain %q", be.Message, msgPart)
	}
}

func TestVerifyValidToken(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		claims map[string]any
		want   Claims
	}{
		{
			name:   "aud as a list, 1.8 record token",
			claims: recordClaims(now),
			want: Claims{
				Subject:  "user-1",
				Issuer:   "opencrvs:auth-service",
				Audience: []string{"opencrvs:gateway-user", "opencrvs:workflow-user"},
				Scope:    []string{ScopeConfirmRegistration, ScopeRejectRegistration},
				RecordID: "7c1a0b0e-3d2f-4f35-9b7e-1b2d3c4e5f60",
				UserType: "user",
				IssuedAt: now.Unix(),
				Expiry:   now.Add(7 * 24 * time.Hour).Unix(),
			},
		},
		{
			name: "aud as a string, 1.9 action token",
			claims: map[string]any{
				"iss": "opencrvs:auth-service", "aud": "opencrvs:events-user",
				"eventId": "ev-1", "actionId": "act-1", "scope": "record.register other.scope",
				"exp": float64(now.Add(time.Hour).Unix()) + 0.5, "nbf": now.Add(-time.Minute).Unix(),
			},
			want: Claims{
				Issuer: "opencrvs:auth-service", Audience: []string{"opencrvs:events-user"},
				EventID: "ev-1", ActionID: "act-1", Scope: []string{"record.register", "other.scope"},
				Expiry: now.Add(time.Hour).Unix(), NotBefore: now.Add(-time.Minute).Unix(),
			},
		},
	}
	ks := newKeyServer(t, &keyA().PublicKey)
	url := ks.start(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(VerifierConfig{PublicKeyURL: url, HTTPClient: ownClient(t), Issuer: "opencrvs:auth-service"})
			got, err := v.Verify(context.Background(), mustSignRS256(t, keyA(), tt.claims))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyRefusesTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	with := func(changes map[string]any) map[string]any {
		c := recordClaims(now)
		for k, v := range changes {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	hmacPEM := pkixPEM(t, &keyA().PublicKey)
	ecKey := mustECKey(t)
	tests := []struct {
		name    string
		token   func(t *testing.T) string
		code    bridge.ErrorCode
		msgPart string
	}{
		{"empty", func(*testing.T) string { return "" }, bridge.EUnauthorized, "missing token"},
		{"garbage", func(*testing.T) string { return "not a token" }, bridge.EUnauthorized, "not a JWT"},
		{"two parts", func(*testing.T) string { return "eyJhbGciOiJSUzI1NiJ9.e30" }, bridge.EUnauthorized, "not a well-formed"},
		{"too long", func(*testing.T) string { return strings.Repeat("a", maxTokenBytes+1) }, bridge.EUnauthorized, "longer than"},
		{"claims not JSON", func(t *testing.T) string {
			parts := strings.Split(mustSignRS256(t, keyA(), recordClaims(now)), ".")
			return parts[0] + ".bm90IGpzb24." + parts[2]
		}, bridge.EUnauthorized, "not valid JWT claims"},
		{"aud of the wrong type", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"aud": 42}))
		}, bridge.EUnauthorized, "not valid JWT claims"},
		{"expired", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"exp": now.Add(-time.Hour).Unix()}))
		}, bridge.EUnauthorized, "token expired at"},
		{"no exp", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"exp": nil}))
		}, bridge.EUnauthorized, "no expiry"},
		{"not yet valid", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"nbf": now.Add(time.Hour).Unix()}))
		}, bridge.EUnauthorized, "not valid before"},
		{"issued in the future", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"iat": now.Add(time.Hour).Unix()}))
		}, bridge.EUnauthorized, "issued in the future"},
		{"HS256 keyed with the public key PEM (alg confusion)", func(t *testing.T) string {
			return mustSign(t, jose.HS256, hmacPEM, recordClaims(now))
		}, bridge.EUnauthorized, `algorithm "HS256" is not accepted`},
		{"alg none", func(t *testing.T) string { return unsignedToken(t, recordClaims(now)) }, bridge.EUnauthorized, `algorithm "none"`},
		{"RS512 with the right key", func(t *testing.T) string {
			return mustSign(t, jose.RS512, keyA(), recordClaims(now))
		}, bridge.EUnauthorized, `algorithm "RS512"`},
		{"PS256 with the right key", func(t *testing.T) string {
			return mustSign(t, jose.PS256, keyA(), recordClaims(now))
		}, bridge.EUnauthorized, `algorithm "PS256"`},
		{"ES256", func(t *testing.T) string {
			return mustSign(t, jose.ES256, ecKey, recordClaims(now))
		}, bridge.EUnauthorized, `algorithm "ES256"`},
		{"foreign key", func(t *testing.T) string {
			return mustSignRS256(t, keyC(), recordClaims(now))
		}, bridge.EUnauthorized, "signature does not match"},
		{"payload swapped under a valid signature", func(t *testing.T) string {
			good := strings.Split(mustSignRS256(t, keyA(), recordClaims(now)), ".")
			other := strings.Split(mustSignRS256(t, keyA(), with(map[string]any{"recordId": "someone-else"})), ".")
			return good[0] + "." + other[1] + "." + good[2]
		}, bridge.EUnauthorized, "signature does not match"},
		{"wrong issuer", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"iss": "evil"}))
		}, bridge.EUnauthorized, `issuer "evil"`},
		{"wrong audience", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"aud": "opencrvs:other"}))
		}, bridge.EUnauthorized, "audience"},
		{"no audience", func(t *testing.T) string {
			return mustSignRS256(t, keyA(), with(map[string]any{"aud": nil}))
		}, bridge.EUnauthorized, "audience"},
	}
	ks := newKeyServer(t, &keyA().PublicKey)
	url := ks.start(t)
	v := NewVerifier(VerifierConfig{
		PublicKeyURL: url,
		HTTPClient:   ownClient(t),
		Issuer:       "opencrvs:auth-service",
		Audience:     []string{"opencrvs:workflow-user", "opencrvs:events-user"},
	})
	// The verifier is shared, so the key is fetched once and foreign-key
	// tokens cannot trigger refetches inside the refresh interval.
	if _, err := v.Verify(context.Background(), mustSignRS256(t, keyA(), recordClaims(now))); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), tt.token(t))
			if claims != nil {
				t.Errorf("Verify returned claims %+v with error %v", claims, err)
			}
			wantCode(t, err, tt.code, tt.msgPart)
		})
	}
	if got := ks.requests.Load(); got != 1 {
		t.Errorf("key fetches = %d, want 1 (refused tokens must not cause fetches)", got)
	}
}

// A required audience ending in "*" allows every audience it begins, and
// nothing else: the default "opencrvs:*" takes a token OpenCRVS auth made
// for any of its services.
func TestVerifyAudiencePattern(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ks := newKeyServer(t, &keyA().PublicKey)
	v := NewVerifier(VerifierConfig{
		PublicKeyURL: ks.start(t), HTTPClient: ownClient(t), Now: func() time.Time { return now },
		Issuer: "opencrvs:auth-service", Audience: []string{"opencrvs:*"},
	})
	for _, tt := range []struct {
		aud any
		ok  bool
	}{
		{"opencrvs:countryconfig-user", true},
		{[]string{"other:thing", "opencrvs:events-user"}, true},
		{TokenAudiences(), true},
		{"opencrvs", false},
		{"opencrvsx:user", false},
		{"mosip:opencrvs:user", false},
		{nil, false},
	} {
		claims := recordClaims(now)
		claims["aud"] = tt.aud
		_, err := v.Verify(context.Background(), mustSignRS256(t, keyA(), claims))
		if (err == nil) != tt.ok {
			t.Errorf("aud %v: err %v, want ok=%v", tt.aud, err, tt.ok)
		}
	}
}

func TestVerifyLeeway(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ks := newKeyServer(t, &keyA().PublicKey)
	url := ks.start(t)
	claims := recordClaims(now)
	claims["exp"] = now.Add(-20 * time.Second).Unix()
	claims["iat"] = now.Add(20 * time.Second).Unix()
	token := mustSignRS256(t, keyA(), claims)
	tests := []struct {
		name   string
		leeway time.Duration
		ok     bool
	}{
		{"default 30 s covers 20 s of skew", 0, true},
		{"10 s does not", 10 * time.Second, false},
		{"negative means none", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(VerifierConfig{PublicKeyURL: url, HTTPClient: ownClient(t), Leeway: tt.leeway, Now: func() time.Time { return now }})
			_, err := v.Verify(context.Background(), token)
			if got := err == nil; got != tt.ok {
				t.Errorf("accepted = %v (%v), want %v", got, err, tt.ok)
			}
		})
	}
}

func TestVerifyKeyUnavailable(t *testing.T) {
	t.Parallel()
	token := mustSignRS256(t, keyA(), recordClaims(time.Now()))
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"HTTP 503", func(t *testing.T) string {
			ks := newKeyServer(t, &keyA().PublicKey)
			ks.status.Store(http.StatusServiceUnavailable)
			return ks.start(t)
		}},
		{"connection refused", func(*testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL + "/.well-known"
		}},
		{"not a key", func(t *testing.T) string {
			ks := newKeyServer(t, &keyA().PublicKey)
			p := []byte("<html>maintenance</html>")
			ks.pem.Store(&p)
			return ks.start(t)
		}},
		{"no URL", func(*testing.T) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVerifier(VerifierConfig{PublicKeyURL: tt.url(t), HTTPClient: ownClient(t)})
			_, err := v.Verify(context.Background(), token)
			wantCode(t, err, bridge.EUnavailable, "cannot be fetched")
		})
	}
}

func TestVerifyConcurrentShareOneFetch(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t, &keyA().PublicKey)
	v := NewVerifier(VerifierConfig{PublicKeyURL: ks.start(t), HTTPClient: ownClient(t)})
	token := mustSignRS256(t, keyA(), recordClaims(time.Now()))
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = v.Verify(context.Background(), token)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Verify %d: %v", i, err)
		}
	}
	if got := ks.requests.Load(); got != 1 {
		t.Errorf("key fetches = %d, want 1", got)
	}
}

// TestVerifyWaitersShareFetch holds the key server until every caller waits,
// so that they all join the one fetch in flight.
func TestVerifyWaitersShareFetch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, &keyA().PublicKey)
		ks.block = make(chan struct{})
		v := NewVerifier(VerifierConfig{PublicKeyURL: "http://auth.test/.well-known", HTTPClient: inMemoryClient(ks)})
		token := mustSignRS256(t, keyA(), recordClaims(time.Now()))
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = v.Verify(context.Background(), token) })
		}
		// A caller whose context ends stops waiting without breaking the others.
		ctx, cancel := context.WithCancel(context.Background())
		var cancelledErr error
		wg.Go(func() { _, cancelledErr = v.Verify(ctx, token) })
		synctest.Wait()
		if got := ks.requests.Load(); got != 1 {
			t.Errorf("key fetches while callers wait = %d, want 1", got)
		}
		cancel()
		synctest.Wait()
		close(ks.block)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Verify %d: %v", i, err)
			}
		}
		if !errors.Is(cancelledErr, context.Canceled) {
			t.Errorf("cancelled caller: error = %v, want context.Canceled", cancelledErr)
		}
		if got := ks.requests.Load(); got != 1 {
			t.Errorf("key fetches = %d, want 1", got)
		}
	})
}

func TestVerifyKeyRotation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, &keyA().PublicKey)
		v := NewVerifier(VerifierConfig{PublicKeyURL: "http://auth.test/.well-known", HTTPClient: inMemoryClient(ks)})
		ctx := context.Background()
		fetches := func(want int64) {
			t.Helper()
			if got := ks.requests.Load(); got != want {
				t.Errorf("key fetches = %d, want %d", got, want)
			}
		}

		if _, err := v.Verify(ctx, mustSignRS256(t, keyA(), recordClaims(time.Now()))); err != nil {
			t.Fatalf("token under key A: %v", err)
		}
		fetches(1)

		// The auth service rotates to key B half a minute later: within the
		// refresh interval the verifier does not refetch.
		ks.setKey(t, &keyB().PublicKey)
		time.Sleep(30 * time.Second)
		_, err := v.Verify(ctx, mustSignRS256(t, keyB(), recordClaims(time.Now())))
		wantCode(t, err, bridge.EUnauthorized, "signature does not match")
		fetches(1)

		// Once the interval has passed, the first failing token refetches
		// and then verifies.
		time.Sleep(31 * time.Second)
		if _, err := v.Verify(ctx, mustSignRS256(t, keyB(), recordClaims(time.Now()))); err != nil {
			t.Fatalf("token under key B after the interval: %v", err)
		}
		fetches(2)
		// Tokens under the old key now fail without a fetch.
		_, err = v.Verify(ctx, mustSignRS256(t, keyA(), recordClaims(time.Now())))
		wantCode(t, err, bridge.EUnauthorized, "signature does not match")
		fetches(2)

		// A second bad token within the interval does not refetch.
		time.Sleep(10 * time.Second)
		_, err = v.Verify(ctx, mustSignRS256(t, keyC(), recordClaims(time.Now())))
		wantCode(t, err, bridge.EUnauthorized, "signature does not match")
		fetches(2)

		// Expired and malformed tokens never refetch, even after the interval.
		time.Sleep(2 * time.Minute)
		expired := recordClaims(time.Now())
		expired["exp"] = time.Now().Add(-time.Hour).Unix()
		_, err = v.Verify(ctx, mustSignRS256(t, keyC(), expired))
		wantCode(t, err, bridge.EUnauthorized, "expired")
		_, err = v.Verify(ctx, "eyJhbGciOiJSUzI1NiJ9.e30.AAAA")
		wantCode(t, err, bridge.EUnauthorized, "")
		fetches(2)

		// A forged token after the interval costs one fetch, then none.
		for range 3 {
			_, err = v.Verify(ctx, mustSignRS256(t, keyC(), recordClaims(time.Now())))
			wantCode(t, err, bridge.EUnauthorized, "signature does not match")
		}
		fetches(3)
		// Key B is still in use.
		if _, err := v.Verify(ctx, mustSignRS256(t, keyB(), recordClaims(time.Now()))); err != nil {
			t.Errorf("token under key B: %v", err)
		}
	})
}

func TestVerifyFailedFetchRetries(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, &keyA().PublicKey)
		ks.status.Store(http.StatusBadGateway)
		v := NewVerifier(VerifierConfig{PublicKeyURL: "http://auth.test/.well-known", HTTPClient: inMemoryClient(ks)})
		ctx := context.Background()
		token := mustSignRS256(t, keyA(), recordClaims(time.Now()))

		_, err := v.Verify(ctx, token)
		wantCode(t, err, bridge.EUnavailable, "")
		// Right after a failure the error is remembered, not retried.
		_, err = v.Verify(ctx, token)
		wantCode(t, err, bridge.EUnavailable, "")
		if got := ks.requests.Load(); got != 1 {
			t.Errorf("key fetches = %d, want 1", got)
		}
		// The service comes back; a few seconds later the key is fetched.
		ks.status.Store(0)
		time.Sleep(failedFetchRetry)
		if _, err := v.Verify(ctx, token); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		if got := ks.requests.Load(); got != 2 {
			t.Errorf("key fetches = %d, want 2", got)
		}
	})
}

func TestVerifyRefreshFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, &keyA().PublicKey)
		v := NewVerifier(VerifierConfig{PublicKeyURL: "http://auth.test/.well-known", HTTPClient: inMemoryClient(ks)})
		ctx := context.Background()
		if _, err := v.Verify(ctx, mustSignRS256(t, keyA(), recordClaims(time.Now()))); err != nil {
			t.Fatal(err)
		}
		ks.status.Store(http.StatusServiceUnavailable)
		time.Sleep(2 * time.Minute)
		// A token under a key we cannot fetch: the service cannot tell, 503.
		_, err := v.Verify(ctx, mustSignRS256(t, keyB(), recordClaims(time.Now())))
		wantCode(t, err, bridge.EUnavailable, "could not be fetched again")
		// Tokens under the cached key still verify.
		if _, err := v.Verify(ctx, mustSignRS256(t, keyA(), recordClaims(time.Now()))); err != nil {
			t.Errorf("token under the cached key: %v", err)
		}
	})
}

func TestVerifyKeyFormats(t *testing.T) {
	t.Parallel()
	token := mustSignRS256(t, keyA(), recordClaims(time.Now()))
	pkcs1 := pemBlock("RSA PUBLIC KEY", x509MarshalPKCS1(&keyA().PublicKey))
	tests := []struct {
		name string
		body []byte
	}{
		{"PKIX", pkixPEM(t, &keyA().PublicKey)},
		{"PKCS#1", pkcs1},
		{"JSON string", []byte(jsonString(t, string(pkixPEM(t, &keyA().PublicKey))))},
		{"certificate first", append(pemBlock("CERTIFICATE", []byte("not parsed")), pkixPEM(t, &keyA().PublicKey)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := newKeyServer(t, &keyA().PublicKey)
			body := tt.body
			ks.pem.Store(&body)
			v := NewVerifier(VerifierConfig{PublicKeyURL: ks.start(t), HTTPClient: ownClient(t)})
			if _, err := v.Verify(context.Background(), token); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestParsePublicKeyRefuses(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    []byte
		msgPart string
	}{
		{"empty", nil, "no \"PUBLIC KEY\""},
		{"text", []byte("hello"), "no \"PUBLIC KEY\""},
		{"private key only", pemBlock("RSA PRIVATE KEY", []byte{1, 2, 3}), "no \"PUBLIC KEY\""},
		{"ECDSA key", pkixPEMAny(t, mustECKey(t).Public()), "not RSA"},
		{"1024-bit RSA", pkixPEM(t, &small.PublicKey), "1024 bits"},
		{"corrupt PKIX", pemBlock("PUBLIC KEY", []byte{0x30, 0x01}), "parse PUBLIC KEY"},
		{"corrupt PKCS#1", pemBlock("RSA PUBLIC KEY", []byte{0x30, 0x01}), "parse RSA PUBLIC KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := parsePublicKey(tt.body)
			if err == nil {
				t.Fatalf("parsePublicKey accepted it: %v", key)
			}
			if !strings.Contains(err.Error(), tt.msgPart) {
				t.Errorf("error = %q, want it to contain %q", err, tt.msgPart)
			}
		})
	}
}

func TestFetchPublicKeyTooLarge(t *testing.T) {
	t.Parallel()
	ks := newKeyServer(t, &keyA().PublicKey)
	big := append(pkixPEM(t, &keyA().PublicKey), make([]byte, maxKeyBytes)...)
	ks.pem.Store(&big)
	_, err := fetchPublicKey(context.Background(), ownClient(t), ks.start(t))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error = %v, want a size error", err)
	}
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add(pkixPEM(f, &keyA().PublicKey))
	f.Add(pemBlock("RSA PUBLIC KEY", x509MarshalPKCS1(&keyA().PublicKey)))
	f.Add([]byte(`"-----BEGIN PUBLIC KEY-----\nMA==\n-----END PUBLIC KEY-----\n"`))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parsePublicKey(data)
		if err != nil {
			if key != nil {
				t.Errorf("key %v returned with error %v", key, err)
			}
			return
		}
		if key == nil || key.N.BitLen() < minRSABits {
			t.Errorf("accepted key %v", key)
		}
	})
}

func FuzzVerify(f *testing.F) {
	now := time.Now()
	valid := mustSignRS256(f, keyA(), recordClaims(now))
	f.Add(valid)
	f.Add(mustSignRS256(f, keyC(), recordClaims(now)))
	f.Add(mustSign(f, jose.HS256, pkixPEM(f, &keyA().PublicKey), recordClaims(now)))
	f.Add(unsignedToken(f, recordClaims(now)))
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.")
	f.Add("..")
	ks := newKeyServer(f, &keyA().PublicKey)
	v := NewVerifier(VerifierConfig{PublicKeyURL: "http://auth.test/.well-known", HTTPClient: inMemoryClient(ks)})
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token)
		if err != nil {
			if claims != nil {
				t.Errorf("claims returned with error %v", err)
			}
			if code := bridge.ErrorCodeOf(err); code != bridge.EUnauthorized {
				t.Errorf("code = %s (%v), want %s", code, err, bridge.EUnauthorized)
			}
			return
		}
		// Only a token signed by key A can pass; it must carry a live exp.
		if claims == nil || claims.Expiry <= now.Unix() {
			t.Errorf("accepted %q with claims %+v", token, claims)
		}
	})
}
