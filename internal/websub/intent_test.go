package websub

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testTopic     = "opencrvs-partner/CREDENTIAL_ISSUED"
	testChallenge = "0b6f2a3c-5d4e-4f60-8a7b-9c8d7e6f5a4b"
)

func TestParseIntent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string // raw query, as the hub sends it (not URL-encoded)
		want    Intent
		wantErr string
	}{
		{
			name: "MOSIP subscribe verification, values not encoded",
			raw:  "hub.mode=subscribe&hub.topic=" + testTopic + "&hub.challenge=" + testChallenge + "&hub.lease_seconds=86400",
			want: Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: testChallenge, LeaseSeconds: 86400},
		},
		{
			name: "encoded values",
			raw:  "hub.mode=subscribe&hub.topic=opencrvs-partner%2FCREDENTIAL_ISSUED&hub.challenge=abc",
			want: Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: "abc"},
		},
		{
			name: "callback with its own parameters",
			raw:  "tenant=x&hub.mode=unsubscribe&hub.topic=" + testTopic + "&hub.challenge=abc",
			want: Intent{Mode: ModeUnsubscribe, Topic: testTopic, Challenge: "abc"},
		},
		{
			name: "denial with an encoded reason",
			raw:  "hub.mode=denied&hub.topic=" + testTopic + "&hub.reason=Subscriber+has+already+registered+with+the+Hub",
			want: Intent{Mode: ModeDenied, Topic: testTopic, Reason: "Subscriber has already registered with the Hub"},
		},
		{
			name: "denial: challenge ignored, reason with control characters cleaned",
			raw:  "hub.mode=denied&hub.topic=" + testTopic + "&hub.challenge=x&hub.reason=bad%0Aline",
			want: Intent{Mode: ModeDenied, Topic: testTopic, Reason: "bad line"},
		},
		{
			name: "a raw percent sign is kept",
			raw:  "hub.mode=subscribe&hub.topic=100%/topic&hub.challenge=abc",
			want: Intent{Mode: ModeSubscribe, Topic: "100%/topic", Challenge: "abc"},
		},
		{
			name: "mode in upper case",
			raw:  "hub.mode=SUBSCRIBE&hub.topic=t&hub.challenge=abc",
			want: Intent{Mode: ModeSubscribe, Topic: "t", Challenge: "abc"},
		},
		{name: "no mode", raw: "hub.topic=t&hub.challenge=abc", wantErr: "hub.mode is missing"},
		{name: "unknown mode", raw: "hub.mode=publish&hub.topic=t", wantErr: "unknown hub.mode"},
		{name: "no topic", raw: "hub.mode=subscribe&hub.challenge=abc", wantErr: "hub.topic is missing"},
		{name: "no challenge", raw: "hub.mode=subscribe&hub.topic=t", wantErr: "hub.challenge is missing"},
		{name: "challenge with a space", raw: "hub.mode=subscribe&hub.topic=t&hub.challenge=a%20b", wantErr: "visible ASCII"},
		{name: "challenge too long", raw: "hub.mode=subscribe&hub.topic=t&hub.challenge=" + strings.Repeat("a", 257), wantErr: "at most 256"},
		{name: "lease not a number", raw: "hub.mode=subscribe&hub.topic=t&hub.challenge=a&hub.lease_seconds=soon", wantErr: "hub.lease_seconds"},
		{name: "negative lease", raw: "hub.mode=subscribe&hub.topic=t&hub.challenge=a&hub.lease_seconds=-1", wantErr: "hub.lease_seconds"},
		{name: "topic twice", raw: "hub.mode=subscribe&hub.topic=t&hub.topic=u&hub.challenge=a", wantErr: "given 2 times"},
		{name: "control character in topic", raw: "hub.mode=subscribe&hub.topic=t%00&hub.challenge=a", wantErr: "not printable"},
		{name: "too many parameters", raw: strings.Repeat("x=1&", maxQueryParts+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseIntentQuery(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseIntentQuery(%q) error = %v, want one containing %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIntentQuery(%q): %v", tt.raw, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("intent (-want +got):\n%s", diff)
			}
			// Where the standard parser keeps every parameter, ParseIntent on
			// its values agrees.
			if q, err := url.ParseQuery(tt.raw); err == nil {
				got2, err := ParseIntent(q)
				if err != nil {
					t.Fatalf("ParseIntent: %v", err)
				}
				if diff := cmp.Diff(tt.want, got2); diff != "" {
					t.Errorf("ParseIntent (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestParseIntentOverHTTP sends the hub's GET as MOSIP writes it, byte for
// byte on the wire, to a real server, with and without a trailing slash on
// the callback path.
func TestParseIntentOverHTTP(t *testing.T) {
	t.Parallel()
	got := make(chan Intent, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := ParseIntentQuery(r.URL.RawQuery)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- in
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, in.Challenge)
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, target string
		want         Intent
	}{
		{
			name:   "MOSIP verification",
			target: "/websub/callback?hub.mode=subscribe&hub.topic=" + testTopic + "&hub.challenge=" + testChallenge + "&hub.lease_seconds=86400",
			want:   Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: testChallenge, LeaseSeconds: 86400},
		},
		{
			name:   "trailing slash",
			target: "/websub/callback/?hub.mode=subscribe&hub.topic=" + testTopic + "&hub.challenge=" + testChallenge,
			want:   Intent{Mode: ModeSubscribe, Topic: testTopic, Challenge: testChallenge},
		},
		{
			// r.URL.Query() drops hub.topic here; ParseIntentQuery keeps it.
			name:   "bare percent sign in the topic",
			target: "/websub/callback?hub.mode=subscribe&hub.topic=100%/t&hub.challenge=" + testChallenge,
			want:   Intent{Mode: ModeSubscribe, Topic: "100%/t", Challenge: testChallenge},
		},
	}
	for _, tt := range tests {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// A bound, not a timing assertion: a hung server fails the test.
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		// Written by hand: Go's client would encode the query.
		req := "GET " + tt.target + " HTTP/1.1\r\nHost: mediator\r\nConnection: close\r\n\r\n"
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := io.ReadAll(conn)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(resp), "HTTP/1.1 200") || !strings.HasSuffix(string(resp), testChallenge) {
			t.Fatalf("%s: response %q, want 200 with the challenge", tt.name, resp)
		}
		if diff := cmp.Diff(tt.want, <-got); diff != "" {
			t.Errorf("%s: intent (-want +got):\n%s", tt.name, diff)
		}
	}
}

func FuzzParseIntent(f *testing.F) {
	f.Add("hub.mode=subscribe&hub.topic=" + testTopic + "&hub.challenge=" + testChallenge + "&hub.lease_seconds=86400")
	f.Add("hub.mode=denied&hub.topic=t&hub.reason=Subscriber has already registered with the Hub")
	f.Add("hub.mode=unsubscribe&hub.topic=a%2Fb&hub.challenge=%zz")
	f.Add("&&=&hub.mode&hub.lease_seconds=99999999999999999999")
	check := func(t *testing.T, in Intent) {
		t.Helper()
		switch in.Mode {
		case ModeSubscribe, ModeUnsubscribe:
			if in.Challenge == "" || len(in.Challenge) > maxChallengeLen || !isVisibleASCII(in.Challenge) {
				t.Errorf("accepted challenge %q", in.Challenge)
			}
		case ModeDenied:
			if in.Challenge != "" {
				t.Errorf("denial with challenge %q", in.Challenge)
			}
		default:
			t.Errorf("accepted mode %q", in.Mode)
		}
		if in.Topic == "" || !isPrintable(in.Topic) || !isPrintable(in.Reason) {
			t.Errorf("accepted topic %q, reason %q", in.Topic, in.Reason)
		}
		if in.LeaseSeconds < 0 || in.LeaseSeconds > maxLeaseSeconds {
			t.Errorf("accepted lease %d", in.LeaseSeconds)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if in, err := ParseIntentQuery(raw); err == nil {
			check(t, in)
		}
		if q, err := url.ParseQuery(raw); err == nil {
			if in, err := ParseIntent(q); err == nil {
				check(t, in)
			}
		}
	})
}
