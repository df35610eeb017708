package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
)

const webhookBody = `{"timestamp":"2026-03-01T10:00:00Z","id":"composition-1","event":{"hub":{"topic":"BIRTH_REGISTERED"}}}`

// Forward to a MOSIP side that opens with a Receiver, in both protocols
// the OpenCRVS side can speak, for both events.
func TestForward(t *testing.T) {
	ocrvs, mosip, _ := mustParties(t)
	for _, p := range []envelope.Protocol{envelope.V2, envelope.JavaCompat} {
		t.Run(p.String(), func(t *testing.T) {
			c := newClock()
			ps := newPeerServer(t, receiver(mosip, ocrvs, p, c), func(w http.ResponseWriter, r received) {
				switch r.path {
				case "/opencrvs/v1/birth":
					WriteAnswer(w, http.StatusOK, "Received. Packet Creation Started.", "10001100010000120260301100000")
				case "/opencrvs/v1/death":
					WriteAnswer(w, http.StatusOK, "10001100010000220260301100000", "")
				default:
					WriteJavaError(w, http.StatusNotFound, "not_found", "no route")
				}
			})
			cl := &Client{URL: ps.srv.URL + "/opencrvs/v1/", Sealer: sealer(ocrvs, mosip, p, c), Token: staticToken(testToken), HTTPClient: ps.srv.Client()}

			got, err := cl.Forward(context.Background(), bridge.EventBirth, "composition-1", []byte(webhookBody))
			if err != nil {
				t.Fatal(err)
			}
			want := ForwardAnswer{AID: "10001100010000120260301100000", Message: "Received. Packet Creation Started."}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("birth answer (-want +got):\n%s", diff)
			}
			r := ps.last(t)
			if string(r.plain) != webhookBody || r.env.ID != "composition-1" {
				t.Errorf("the receiver opened id %q, %q; want composition-1 and the webhook body", r.env.ID, r.plain)
			}
			if r.cookie != testToken || r.bearer != "Bearer "+testToken {
				t.Errorf("token sent as cookie %q and header %q; want both", r.cookie, r.bearer)
			}

			got, err = cl.Forward(context.Background(), bridge.EventDeath, "composition-2", []byte(`{"death":true}`))
			if err != nil {
				t.Fatal(err)
			}
			if want := (ForwardAnswer{Message: "10001100010000220260301100000"}); got != want {
				t.Errorf("death answer = %+v, want %+v", got, want)
			}
			if r := ps.last(t); r.path != "/opencrvs/v1/death" {
				t.Errorf("death went to %s", r.path)
			}
		})
	}
}

func TestForwardRefusals(t *testing.T) {
	ocrvs, mosip, mallory := mustParties(t)
	c := newClock()
	ps := newPeerServer(t, receiver(mosip, ocrvs, envelope.V2, c), func(w http.ResponseWriter, r received) {
		WriteAnswer(w, http.StatusOK, "ok", "")
	})
	client := func(s *envelope.Sealer) *Client {
		return &Client{URL: ps.srv.URL, Sealer: s, Token: staticToken(testToken), HTTPClient: ps.srv.Client()}
	}
	forward := func(s *envelope.Sealer) *Error {
		t.Helper()
		_, err := client(s).Forward(context.Background(), bridge.EventBirth, "composition-1", []byte(webhookBody))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("Forward error = %v, want *Error", err)
		}
		if IsTransient(err) {
			t.Errorf("IsTransient(%v) = true, want false", err)
		}
		return pe
	}

	t.Run("bad signature", func(t *testing.T) {
		s := sealer(ocrvs, mosip, envelope.V2, c)
		s.Own = mallory.key
		e := forward(s)
		if e.Status != http.StatusUnauthorized || e.Code != string(bridge.EUnauthorized) || !strings.Contains(e.Message, "signature") {
			t.Errorf("got %v; want HTTP 401 about the signature", e)
		}
	})
	t.Run("stale", func(t *testing.T) {
		behind := newClock()
		behind.advance(-10 * time.Minute)
		e := forward(sealer(ocrvs, mosip, envelope.V2, behind))
		if e.Status != http.StatusBadRequest || !strings.Contains(e.Message, "10m0s behind") || !strings.Contains(e.Message, "5m0s window") {
			t.Errorf("got %v; want HTTP 400 naming the offset and window", e)
		}
	})
	t.Run("not for us", func(t *testing.T) {
		e := forward(sealer(ocrvs, mallory, envelope.V2, c))
		if e.Status != http.StatusBadRequest || !strings.Contains(e.Message, "does not decrypt") {
			t.Errorf("got %v; want HTTP 400 saying the data does not decrypt", e)
		}
	})
	t.Run("protocol mismatch", func(t *testing.T) {
		e := forward(sealer(ocrvs, mosip, envelope.JavaCompat, c))
		if e.Status != http.StatusBadRequest || !strings.Contains(e.Message, "protocol") {
			t.Errorf("got %v; want HTTP 400 about the protocol", e)
		}
	})
	t.Run("replay", func(t *testing.T) {
		if _, err := client(sealer(ocrvs, mosip, envelope.V2, c)).Forward(context.Background(), bridge.EventBirth, "composition-9", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		body := ps.last(t).body
		resp, err := ps.srv.Client().Post(ps.srv.URL+PathBirth, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer javaAnswer
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusConflict || len(answer.Errors) != 1 || answer.Errors[0].ErrorCode != string(bridge.EConflict) ||
			!strings.Contains(answer.Errors[0].ErrorMessage, "replayed") || answer.Response != nil || answer.ID != mediatorID {
			t.Errorf("replay: HTTP %d %+v; want 409 in the Java error shape saying replayed", resp.StatusCode, answer)
		}
	})
}

// The Receiver's errors, checked directly: code, sentinel, and nothing
// returned with an error.
func TestReceiverOpen(t *testing.T) {
	ocrvs, mosip, mallory := mustParties(t)
	c := newClock()
	seal := func(s *envelope.Sealer, id string) []byte {
		t.Helper()
		e, err := s.Seal(id, []byte(webhookBody))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := seal(sealer(ocrvs, mosip, envelope.V2, c), "composition-1")
	forged := sealer(ocrvs, mosip, envelope.V2, c)
	forged.Own = mallory.key
	behind := newClock()
	behind.advance(-6 * time.Minute)

	r := receiver(mosip, ocrvs, envelope.V2, c)
	env, plain, err := r.Open(context.Background(), good)
	if err != nil || string(plain) != webhookBody || env.ID != "composition-1" {
		t.Fatalf("Open = %q, %q, %v", env.ID, plain, err)
	}
	for _, tc := range []struct {
		name string
		body []byte
		code bridge.ErrorCode
		is   error
	}{
		{"replay", good, bridge.EConflict, ErrReplay},
		{"forged", seal(forged, "composition-2"), bridge.EUnauthorized, envelope.ErrSignature},
		{"stale", seal(sealer(ocrvs, mosip, envelope.V2, behind), "composition-3"), bridge.EInvalid, envelope.ErrStale},
		{"not JSON", []byte("<html>"), bridge.EInvalid, envelope.ErrFormat},
		{"raw webhook", []byte(webhookBody), bridge.EInvalid, envelope.ErrFormat},
		{"too large", make([]byte, envelope.MaxBytes+1), bridge.ETooLarge, nil},
	} {
		env, plain, err := r.Open(context.Background(), tc.body)
		if got := bridge.ErrorCodeOf(err); got != tc.code {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, err, tc.code)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v does not wrap %v", tc.name, err, tc.is)
		}
		if plain != nil || env != (envelope.Envelope{}) {
			t.Errorf("%s: returned an envelope or plaintext with the error", tc.name)
		}
	}

	// After 2×Window the key is forgotten, but then the envelope is stale:
	// a V2 envelope is never accepted twice.
	c.advance(11 * time.Minute)
	if _, _, err := r.Open(context.Background(), good); !errors.Is(err, envelope.ErrStale) {
		t.Errorf("old envelope after the replay record expired: %v, want stale", err)
	}

	r.Replay = &memReplay{now: c.now, err: errors.New("database is locked")}
	if _, _, err := r.Open(context.Background(), seal(sealer(ocrvs, mosip, envelope.V2, c), "composition-4")); bridge.ErrorCodeOf(err) != bridge.EInternal {
		t.Errorf("failing replay store: %v, want an internal error", err)
	}
	if _, _, err := (&Receiver{}).Open(context.Background(), good); bridge.ErrorCodeOf(err) != bridge.EInternal {
		t.Errorf("unconfigured Receiver: %v, want an internal error", err)
	}
}

func TestGenerateAID(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
		code   string // of the *Error; "" for success
		bad    bool   // ErrBadAnswer
	}{
		{"java string", 200, `"45451454520002120220824173802"`, "45451454520002120220824173802", "", false},
		{"ours", 200, `{"response":{"aid":"45451454520002120220824173803","message":""}}`, "45451454520002120220824173803", "", false},
		{"java error", 401, `{"version":"1.0","id":"mosip-opencrvs-mediator","responseTime":"","response":null,"errors":[{"errorCode":"OPN-AUT-002","errorMessage":"Token validation failed"}]}`, "", "OPN-AUT-002", false},
		{"error on 200", 200, `{"response":null,"errors":[{"errorCode":"OPN-CRVS-001","errorMessage":"x"}]}`, "", "OPN-CRVS-001", false},
		{"problem", 503, `{"type":"urn:opencrvs-mosip:problem:unavailable","title":"Service unavailable","status":503,"detail":"MOSIP is down"}`, "", "unavailable", false},
		{"html", 200, `<html>proxy</html>`, "", "", true},
		{"empty string", 200, `""`, "", "", true},
		{"odd characters", 200, `"12 34"`, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cookie string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/opencrvs/v1/generateAid" {
					http.NotFound(w, r)
					return
				}
				if c, err := r.Cookie("Authorization"); err == nil {
					cookie = c.Value
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			cl := &Client{URL: srv.URL + "/opencrvs/v1", Token: staticToken(testToken), HTTPClient: srv.Client()}
			got, err := cl.GenerateAID(context.Background())
			if cookie != testToken {
				t.Errorf("cookie Authorization = %q, want the token", cookie)
			}
			if tc.code == "" && !tc.bad {
				if err != nil || got != tc.want {
					t.Fatalf("GenerateAID = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || got != "" {
				t.Fatalf("GenerateAID = %q, %v; want an *Error", got, err)
			}
			if pe.Code != tc.code || pe.Status != tc.status || errors.Is(err, ErrBadAnswer) != tc.bad {
				t.Errorf("error %v: code %q status %d bad %v; want %q %d %v", err, pe.Code, pe.Status, errors.Is(err, ErrBadAnswer), tc.code, tc.status, tc.bad)
			}
		})
	}
}

func TestIsTransient(t *testing.T) {
	status := func(code int) error { return &Error{Op: OpForwardBirth, Status: code} }
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cl := &Client{URL: closed.URL, HTTPClient: closed.Client()}
	_, netErr := cl.GenerateAID(context.Background())
	cl.Token = func(context.Context) (string, error) { return "", errors.New("auth manager down") }
	_, tokErr := cl.GenerateAID(context.Background())
	cl.Token = staticToken("bad token")
	_, badTok := cl.GenerateAID(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cl.Token = nil
	_, ctxErr := cl.GenerateAID(ctx)

	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"network", netErr, true},
		{"token source", tokErr, true},
		{"token with a space", badTok, true},
		{"canceled", ctxErr, true},
		{"408", status(408), true},
		{"429", status(429), true},
		{"500", status(500), true},
		{"503", status(503), true},
		{"400", status(400), false},
		{"401", status(401), false},
		{"403", status(403), false},
		{"409", status(409), false},
		{"bad answer", &Error{Status: 200, Err: ErrBadAnswer}, false},
		{"other", errors.New("x"), false},
	} {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("%s: IsTransient(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if !errors.Is(netErr, ErrNoAnswer) || !errors.Is(tokErr, ErrToken) {
		t.Errorf("network error %v should be ErrNoAnswer, token error %v ErrToken", netErr, tokErr)
	}
	if strings.Contains(badTok.Error(), "bad token") {
		t.Errorf("the error %q repeats the token", badTok)
	}
	if msg := status(403).Error(); !strings.Contains(msg, "role") {
		t.Errorf("a 403 should say what to check: %q", msg)
	}
}

func TestForwardRefusesBadInput(t *testing.T) {
	ocrvs, mosip, _ := mustParties(t)
	cl := &Client{URL: "http://127.0.0.1:0", Sealer: sealer(ocrvs, mosip, envelope.V2, newClock())}
	if _, err := cl.Forward(context.Background(), bridge.EventDeathReversal, "id", []byte("{}")); err == nil || IsTransient(err) {
		t.Errorf("death-reversal: %v, want a permanent error", err)
	}
	if _, err := cl.Forward(context.Background(), bridge.EventBirth, "", []byte("{}")); err == nil || IsTransient(err) {
		t.Errorf("empty id: %v, want a permanent error", err)
	}
}
