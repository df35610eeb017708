package peer

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/envelope"
)

// SendResult to an OpenCRVS side that opens with a Receiver and reads the
// plaintext with ParseResult: in ours and in the protocol the Node side
// reads.
func TestSendResult(t *testing.T) {
	ocrvs, mosip, _ := mustParties(t)
	want := Result{BRN: "2026B1234567", UINToken: "psut-token-1", AID: "10001100010000120260301100000", Event: bridge.EventBirth, Status: ResultIssued}
	for _, p := range []envelope.Protocol{envelope.V2, envelope.LegacyResult} {
		t.Run(p.String(), func(t *testing.T) {
			c := newClock()
			ps := newPeerServer(t, receiver(ocrvs, mosip, p, c), func(w http.ResponseWriter, r received) {
				w.WriteHeader(http.StatusOK) // the Node side answers before it works
			})
			cl := &Client{URL: ps.srv.URL, Sealer: sealer(mosip, ocrvs, p, c), Token: staticToken(testToken), HTTPClient: ps.srv.Client()}
			if err := cl.SendResult(context.Background(), "composition-1", want); err != nil {
				t.Fatal(err)
			}
			r := ps.last(t)
			if r.path != PathReceiveNID || r.bearer != "Bearer "+testToken || r.cookie != "" {
				t.Errorf("sent to %s with Authorization %q, cookie %q; want /birthReceiveNid, Bearer only", r.path, r.bearer, r.cookie)
			}
			got, err := ParseResult(r.plain)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			// The names the Node receiver reads.
			for _, name := range []string{`"opencrvsBRN":"2026B1234567"`, `"uinToken":"psut-token-1"`} {
				if !strings.Contains(string(r.plain), name) {
					t.Errorf("plaintext %s lacks %s", r.plain, name)
				}
			}
		})
	}
}

func TestSendResultRefusesInvalid(t *testing.T) {
	ocrvs, mosip, _ := mustParties(t)
	cl := &Client{URL: "http://127.0.0.1:0", Sealer: sealer(mosip, ocrvs, envelope.V2, newClock())}
	err := cl.SendResult(context.Background(), "composition-1", Result{Event: bridge.EventBirth, Status: ResultIssued})
	if bridge.ErrorCodeOf(err) != bridge.EInvalid || IsTransient(err) {
		t.Errorf("SendResult without BRN: %v, want a permanent EInvalid", err)
	}
}

func TestParseResult(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plain string
		want  Result
		field string // of the error; "" for success
	}{
		{"java minimal", `{"uinToken":"t1", "opencrvsBRN": "B1"}`,
			Result{BRN: "B1", UINToken: "t1", Event: bridge.EventBirth, Status: ResultIssued}, ""},
		{"ours deactivated", `{"opencrvsBRN":"D1","uinToken":"","event":"death","status":"deactivated"}`,
			Result{BRN: "D1", Event: bridge.EventDeath, Status: ResultDeactivated}, ""},
		{"ours rejected", `{"opencrvsBRN":"B2","uinToken":"","event":"birth","status":"rejected","reason":"duplicate of an existing identity","extra":1}`,
			Result{BRN: "B2", Event: bridge.EventBirth, Status: ResultRejected, Reason: "duplicate of an existing identity"}, ""},
		{"no BRN", `{"uinToken":"t1"}`, Result{}, "opencrvsBRN"},
		{"unknown status", `{"opencrvsBRN":"B1","event":"birth","status":"done"}`, Result{}, "status"},
		{"status without event", `{"opencrvsBRN":"B1","status":"issued"}`, Result{}, "event"},
		{"rejected without reason", `{"opencrvsBRN":"B1","event":"birth","status":"rejected"}`, Result{}, "reason"},
		{"BRN with a newline", `{"opencrvsBRN":"B1\n","uinToken":"t"}`, Result{}, "opencrvsBRN"},
		{"bad aid", `{"opencrvsBRN":"B1","aid":"a/b"}`, Result{}, "aid"},
	} {
		got, err := ParseResult([]byte(tc.plain))
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, diff)
			}
			continue
		}
		be, ok := err.(*bridge.Error)
		if !ok || be.Code != bridge.EInvalid || be.Field != tc.field {
			t.Errorf("%s: error %v, want EInvalid on field %s", tc.name, err, tc.field)
		}
	}
	for _, plain := range []string{``, `[]`, `"x"`, `{"opencrvsBRN":1}`, `{"opencrvsBRN":"B1"} {}`, `{"opencrvsBRN":"secret-token`} {
		_, err := ParseResult([]byte(plain))
		if bridge.ErrorCodeOf(err) != bridge.EInvalid {
			t.Errorf("ParseResult(%q) = %v, want EInvalid", plain, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error %q repeats the input", err)
		}
	}
}

func FuzzParseResult(f *testing.F) {
	f.Add([]byte(`{"uinToken":"t1","opencrvsBRN":"B1"}`))
	f.Add([]byte(`{"opencrvsBRN":"B2","event":"death","status":"deactivated"}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		r, err := ParseResult(plain)
		if err != nil {
			if bridge.ErrorCodeOf(err) != bridge.EInvalid {
				t.Fatalf("error %v is not EInvalid", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseResult returned an invalid result: %v", err)
		}
	})
}
