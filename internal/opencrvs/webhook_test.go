package opencrvs_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
)

// webhookSamples are raw OpenCRVS webhook payloads (mosip/mosip-opencrvs
// samples), kept with the FHIR parser's test data.
const webhookSamples = "../fhir/testdata/webhooks"

// mustSample returns a sample as OpenCRVS sends it: JSON.stringify's
// compact form (for these files the same bytes as json.Compact).
func mustSample(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(webhookSamples, name))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jsEncodeURIComponent is an implementation of JavaScript's
// encodeURIComponent independent of ours: url.QueryEscape escapes the same
// bytes but for the marks ! * ' ( ), which JavaScript leaves, and writes a
// space as "+" where JavaScript writes %20 (a "+" of the input becomes
// %2B, so every "+" in the output is a space).
func jsEncodeURIComponent(s string) string {
	return strings.NewReplacer("+", "%20", "%21", "!", "%2A", "*", "%27", "'", "%28", "(", "%29", ")").Replace(url.QueryEscape(s))
}

// openCRVSSignature computes what opencrvs-core's createRequestSignature
// computes, from the encoded body.
func openCRVSSignature(secret, encoded string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("sha256:" + encoded))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

const testSHASecret = "opencrvs-mosip-sha-secret"

// The signature is an HMAC of "sha256:" + encodeURIComponent(body). The
// encodings in the table were derived by hand from ECMA-262's
// encodeURIComponent (UTF-8 bytes, uppercase hex, A-Z a-z 0-9 - _ . ! ~ * ' (
// ) left as they are) and checked with Node.
func TestSignWebhookVectors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, js string }{
		{"ascii", `{"a":1}`, "%7B%22a%22%3A1%7D"},
		{"apostrophe and diaeresis", "Zoë N'Diaye", "Zo%C3%AB%20N'Diaye"},
		{"turkish", "Ayşe", "Ay%C5%9Fe"},
		{"chinese", "李小龙", "%E6%9D%8E%E5%B0%8F%E9%BE%99"},
		{"emoji with skin tone (surrogate pairs in JavaScript)", "👶🏽", "%F0%9F%91%B6%F0%9F%8F%BD"},
		{"line separator", "\u2028", "%E2%80%A8"},
		{"reserved", " ;,/?:@&=+$#", "%20%3B%2C%2F%3F%3A%40%26%3D%2B%24%23"},
		{"unreserved marks", "-_.!~*'()", "-_.!~*'()"},
		{"other ascii", "\"{}[]\\%<>^`|\n\x7f", "%22%7B%7D%5B%5D%5C%25%3C%3E%5E%60%7C%0A%7F"},
		{"nul", "A\x00", "A%00"},
		{"alphanumerics", "AZaz09", "AZaz09"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jsEncodeURIComponent(tt.body); got != tt.js {
				t.Fatalf("test's own encoder gives %q, table says %q", got, tt.js)
			}
			want := openCRVSSignature(testSHASecret, tt.js)
			if got := opencrvs.SignWebhook([]byte(testSHASecret), []byte(tt.body)); got != want {
				t.Errorf("SignWebhook(%q) = %s, want %s", tt.body, got, want)
			}
			if err := opencrvs.VerifyWebhook([]byte(testSHASecret), []byte(tt.body), want); err != nil {
				t.Errorf("VerifyWebhook refused OpenCRVS's signature: %v", err)
			}
		})
	}
}

// Known answers computed with Node (crypto.createHmac and
// encodeURIComponent over JSON.stringify of the payload), as OpenCRVS
// computes them.
func TestSignWebhookKnownAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"payload with non-ASCII name",
			[]byte(`{"timestamp":"2024-05-01T10:00:00.000Z","id":"5b5a0b0e-0000-4000-8000-000000000001","event":{"hub":{"topic":"BIRTH_REGISTERED"},"context":[{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":[{"given":["Zoë"],"family":"N'Diaye"}]}}]}]}}`),
			"sha256=bdba70b7445e3c2584bd405f8a3967b07dd4aac6f8e688db89c9b7dbe4f4028e"},
		{"birth sample", mustSample(t, "sampleDataFromOpencrvs1.json"),
			"sha256=3d7feff5f76cdffb4688a89bf38b163d5ad1a96b57127a5d7fd928afae69977e"},
		{"death sample", mustSample(t, "sampleDataFromOpencrvsDeath1.json"),
			"sha256=e2b6b0dc95757378750eded2b544a8f23a1241b41a3c7d46a72cd82615be0feb"},
	}
	for _, tt := range tests {
		if got := opencrvs.SignWebhook([]byte(testSHASecret), tt.body); got != tt.want {
			t.Errorf("%s: SignWebhook = %s, want %s", tt.name, got, tt.want)
		}
		if got := openCRVSSignature(testSHASecret, jsEncodeURIComponent(string(tt.body))); got != tt.want {
			t.Errorf("%s: the test's own computation gives %s, want %s", tt.name, got, tt.want)
		}
		if err := opencrvs.VerifyWebhook([]byte(testSHASecret), tt.body, tt.want); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// randomText draws a valid UTF-8 string mixing ASCII (every byte value),
// two-, three- and four-byte characters.
func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		switch r.IntN(5) {
		case 0, 1:
			b.WriteByte(byte(r.IntN(0x80)))
		case 2:
			b.WriteRune(rune(0x80 + r.IntN(0x800-0x80)))
		case 3:
			c := rune(0x800 + r.IntN(0x10000-0x800))
			if c >= 0xD800 && c <= 0xDFFF {
				c = 'ş'
			}
			b.WriteRune(c)
		default:
			b.WriteRune(rune(0x10000 + r.IntN(0x110000-0x10000)))
		}
	}
	return b.String()
}

// Over many random texts our signature equals the independent computation.
func TestSignWebhookAgreesWithIndependentEncoder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		s := randomText(r, r.IntN(3000)) // past the signer's 4 KiB chunking
		want := openCRVSSignature("k", jsEncodeURIComponent(s))
		if got := opencrvs.SignWebhook([]byte("k"), []byte(s)); got != want {
			t.Fatalf("text %d (%q...): SignWebhook = %s, want %s", i, s[:min(len(s), 40)], got, want)
		}
	}
}

func TestVerifyWebhookRefusals(t *testing.T) {
	t.Parallel()
	secret := []byte(testSHASecret)
	body := mustSample(t, "sampleDataFromOpencrvsDeath1.json")
	good := opencrvs.SignWebhook(secret, body)
	tampered := bytes.Replace(body, []byte("2022DJK5F5R"), []byte("2022DJK5F5S"), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("the sample does not hold the registration number this test changes")
	}
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   error
	}{
		{"no header", secret, body, "", opencrvs.ErrSignatureMissing},
		{"blank header", secret, body, "  ", opencrvs.ErrSignatureMissing},
		{"no algorithm", secret, body, strings.TrimPrefix(good, "sha256="), opencrvs.ErrSignatureMalformed},
		{"sha1", secret, body, "sha1=" + strings.Repeat("ab", 20), opencrvs.ErrSignatureAlgorithm},
		{"not hex", secret, body, "sha256=" + strings.Repeat("zz", 32), opencrvs.ErrSignatureEncoding},
		{"short", secret, body, good[:len(good)-2], opencrvs.ErrSignatureEncoding},
		{"tampered body", secret, tampered, good, opencrvs.ErrSignatureMismatch},
		{"other secret", []byte("another secret"), body, good, opencrvs.ErrSignatureMismatch},
		{"signature of the raw body (WebSub style)", secret, body, "sha256=" + hmacHex(secret, body), opencrvs.ErrSignatureMismatch},
		{"body not UTF-8", secret, []byte("{\"a\":\"\xff\"}"), good, opencrvs.ErrBodyNotUTF8},
		{"encoded lone surrogate", secret, []byte("\xed\xa0\x80"), good, opencrvs.ErrBodyNotUTF8},
	}
	for _, tt := range tests {
		err := opencrvs.VerifyWebhook(tt.secret, tt.body, tt.header)
		var be *bridge.Error
		if !errors.Is(err, tt.want) || !errors.As(err, &be) || be.Code != bridge.EUnauthorized || be.Field != opencrvs.WebhookSignatureHeader {
			t.Errorf("%s: %v, want an EUnauthorized *bridge.Error on %s wrapping %v", tt.name, err, opencrvs.WebhookSignatureHeader, tt.want)
		}
	}
	if err := opencrvs.VerifyWebhook(nil, body, good); !errors.Is(err, opencrvs.ErrNoWebhookSecret) || bridge.ErrorCodeOf(err) != bridge.EInternal {
		t.Errorf("no secret: %v, want EInternal ErrNoWebhookSecret", err)
	}
	for _, h := range []string{strings.ToUpper(good[:7]) + good[7:], good[:7] + strings.ToUpper(good[7:]), " " + good + " "} {
		if err := opencrvs.VerifyWebhook(secret, body, h); err != nil {
			t.Errorf("header %q: %v", h, err)
		}
	}
	if got := opencrvs.SignWebhook(secret, []byte("\xff")); got != "" {
		t.Errorf("SignWebhook of invalid UTF-8 = %q, want \"\" (JavaScript throws URIError)", got)
	}
}

func hmacHex(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func TestParseWebhookSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, topic, id string
		event           bridge.EventKind
	}{
		{"sampleDataFromOpencrvs1.json", opencrvs.TopicBirthRegistered, "93880433-e7c9-40a1-88d0-e885beea495d", bridge.EventBirth},
		{"sampleDataFromOpencrvsDeath1.json", opencrvs.TopicDeathRegistered, "f6e5a67b-de56-49b5-8208-bc4a136094dd", bridge.EventDeath},
	}
	for _, tt := range tests {
		body := mustSample(t, tt.file)
		d, err := opencrvs.ParseWebhook(body)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if d.Topic != tt.topic || d.SubscriptionID != tt.id || d.Event() != tt.event {
			t.Errorf("%s: topic %q id %q event %q, want %q %q %q", tt.file, d.Topic, d.SubscriptionID, d.Event(), tt.topic, tt.id, tt.event)
		}
		if d.Timestamp.IsZero() {
			t.Errorf("%s: no timestamp", tt.file)
		}
		var whole struct {
			Event struct {
				Context []json.RawMessage `json:"context"`
			} `json:"event"`
		}
		if err := json.Unmarshal(body, &whole); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Bundle, whole.Event.Context[0]) {
			t.Errorf("%s: the bundle is not event.context[0] byte for byte", tt.file)
		}
	}
}

func TestParseWebhookErrors(t *testing.T) {
	t.Parallel()
	bundle := `{"resourceType":"Bundle","entry":[]}`
	delivery := func(topic, context string) string {
		return `{"timestamp":"2024-05-01T10:00:00.000Z","id":"s","event":{"hub":{"topic":"` + topic + `"},"context":` + context + `}}`
	}
	tests := []struct {
		name, body, field string
		code              bridge.ErrorCode
	}{
		{"not JSON", `{"event":`, "", bridge.EInvalid},
		{"array", `[]`, "", bridge.EInvalid},
		{"no event", `{"id":"s"}`, "event", bridge.EInvalid},
		{"event not an object", `{"event":"BIRTH_REGISTERED"}`, "event", bridge.EInvalid},
		{"no topic", `{"event":{"hub":{},"context":[` + bundle + `]}}`, "event.hub.topic", bridge.EInvalid},
		{"unknown topic", delivery("BIRTH_CERTIFIED", "["+bundle+"]"), "event.hub.topic", bridge.EUnsupported},
		{"no bundle", delivery("BIRTH_REGISTERED", "[]"), "event.context", bridge.EInvalid},
		{"context missing", `{"event":{"hub":{"topic":"BIRTH_REGISTERED"}}}`, "event.context", bridge.EInvalid},
		{"two bundles", delivery("DEATH_REGISTERED", "["+bundle+","+bundle+"]"), "event.context", bridge.EInvalid},
		{"bundle not an object", delivery("DEATH_REGISTERED", `["x"]`), "event.context[0]", bridge.EInvalid},
		{"null bundle", delivery("DEATH_REGISTERED", `[null]`), "event.context[0]", bridge.EInvalid},
		{"not a Bundle", delivery("BIRTH_REGISTERED", `[{"resourceType":"Patient"}]`), "event.context[0].resourceType", bridge.EInvalid},
	}
	for _, tt := range tests {
		_, err := opencrvs.ParseWebhook([]byte(tt.body))
		var be *bridge.Error
		if !errors.As(err, &be) || be.Code != tt.code || be.Field != tt.field {
			t.Errorf("%s: %v (%#v), want %s on %q", tt.name, err, err, tt.code, tt.field)
		}
	}
	_, err := opencrvs.ParseWebhook([]byte(delivery("BIRTH_CERTIFIED", "["+bundle+"]")))
	var ute *opencrvs.UnknownTopicError
	if !errors.Is(err, opencrvs.ErrUnknownTopic) || !errors.As(err, &ute) || ute.Topic != "BIRTH_CERTIFIED" {
		t.Errorf("unknown topic: %v, want ErrUnknownTopic naming BIRTH_CERTIFIED", err)
	}
	d, err := opencrvs.ParseWebhook([]byte(`{"event":{"hub":{"topic":"BIRTH_REGISTERED"},"context":[` + bundle + `]}}`))
	if err != nil || !d.Timestamp.IsZero() || d.SubscriptionID != "" {
		t.Errorf("a delivery without timestamp and id: %+v, %v; want it read with zero values", d, err)
	}
}

// The subscription check as OpenCRVS sends it: the challenge is
// encodeURIComponent(base64 of random bytes), so "+", "/" and "=" arrive
// percent-encoded, and must come back as they were.
func TestAnswerIntent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		challenge, err := opencrvs.AnswerIntent(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		opencrvs.WriteIntentAnswer(w, challenge)
	}))
	defer srv.Close()
	client := webhookTestClient(t)
	get := func(query string) (int, string) {
		t.Helper()
		resp, err := client.Get(srv.URL + "/webhooks?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ans struct {
			Challenge string `json:"challenge"`
		}
		if resp.StatusCode == http.StatusOK {
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, ans.Challenge
	}
	const challenge = "q+/Zm9v=="
	for _, topic := range []string{opencrvs.TopicBirthRegistered, opencrvs.TopicDeathRegistered} {
		status, got := get("mode=subscribe&challenge=" + jsEncodeURIComponent(challenge) + "&topic=" + topic)
		if status != http.StatusOK || got != challenge {
			t.Errorf("%s: %d %q, want 200 %q", topic, status, got, challenge)
		}
	}
	for _, q := range []string{
		"mode=unsubscribe&challenge=abc&topic=BIRTH_REGISTERED",
		"hub.mode=subscribe&hub.challenge=abc&hub.topic=BIRTH_REGISTERED",
		"mode=subscribe&challenge=abc&topic=BIRTH_CERTIFIED",
		"mode=subscribe&topic=BIRTH_REGISTERED",
		"mode=subscribe&challenge=abc",
	} {
		if status, _ := get(q); status != http.StatusBadRequest {
			t.Errorf("?%s: status %d, want 400", q, status)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/cb?mode=subscribe&challenge=x&topic=DEATH_REGISTERED", nil)
	if _, err := opencrvs.AnswerIntent(r, opencrvs.TopicBirthRegistered); bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("a topic outside the given ones: %v, want EInvalid", err)
	}
}

// FuzzWebhook checks that no body makes VerifyWebhook or ParseWebhook panic,
// that a signature SignWebhook makes verifies exactly when the body is
// UTF-8 and agrees with the independent computation, and that what
// ParseWebhook accepts is a delivery the mediator can use.
func FuzzWebhook(f *testing.F) {
	for _, name := range []string{"sampleDataFromOpencrvs1.json", "sampleDataFromOpencrvsDeath1.json"} {
		f.Add(mustSample(f, name), []byte(testSHASecret))
	}
	f.Add([]byte(`{"event":{"hub":{"topic":"BIRTH_CERTIFIED"},"context":[{"resourceType":"Bundle"}]}}`), []byte("k"))
	f.Add([]byte("\xed\xa0\x80 ;,/?:@&=+$#Zoë"), []byte{})
	f.Fuzz(func(t *testing.T, body, secret []byte) {
		sig := opencrvs.SignWebhook(secret, body)
		err := opencrvs.VerifyWebhook(secret, body, sig)
		switch {
		case !utf8.Valid(body):
			wellFormed := "sha256=" + strings.Repeat("0", 64)
			if err := opencrvs.VerifyWebhook(secret, body, wellFormed); sig != "" || (len(secret) > 0 && !errors.Is(err, opencrvs.ErrBodyNotUTF8)) {
				t.Fatalf("invalid UTF-8: signature %q, verify %v", sig, err)
			}
		case len(secret) == 0:
			if !errors.Is(err, opencrvs.ErrNoWebhookSecret) {
				t.Fatalf("empty secret: %v", err)
			}
		default:
			if err != nil {
				t.Fatalf("own signature refused: %v", err)
			}
			if want := openCRVSSignature(string(secret), jsEncodeURIComponent(string(body))); sig != want {
				t.Fatalf("SignWebhook = %s, independent computation %s", sig, want)
			}
			if err := opencrvs.VerifyWebhook(secret, append(body, ' '), sig); !errors.Is(err, opencrvs.ErrSignatureMismatch) {
				t.Fatalf("changed body: %v, want a mismatch", err)
			}
		}
		if err := opencrvs.VerifyWebhook([]byte("k"), body, "sha256="+string(body)); err == nil {
			t.Fatal("the body as its own signature was accepted")
		}

		d, err := opencrvs.ParseWebhook(body)
		if err != nil {
			var be *bridge.Error
			if !errors.As(err, &be) || be.Message == "" {
				t.Fatalf("error %v (%T) is not a *bridge.Error with a message", err, err)
			}
			return
		}
		if d.Topic != opencrvs.TopicBirthRegistered && d.Topic != opencrvs.TopicDeathRegistered {
			t.Fatalf("accepted topic %q", d.Topic)
		}
		if len(d.Bundle) == 0 || d.Bundle[0] != '{' || !json.Valid(d.Bundle) {
			t.Fatalf("accepted bundle %q", d.Bundle)
		}
		if !d.Timestamp.IsZero() && d.Timestamp.Location() != time.UTC {
			t.Fatalf("timestamp %v not in UTC", d.Timestamp)
		}
	})
}
