package mosip

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Wire details of UINByVID and UINToken that the simulator does not vary.

func TestUINByVIDWire(t *testing.T) {
	t.Parallel()
	const vid = "4726519038465120"
	answers := make(chan string, 1)
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) {
		if c.Method != http.MethodGet || c.RequestURI != vidPath+"/"+vid {
			t.Errorf("request %s %s", c.Method, c.RequestURI)
		}
		reply(w, http.StatusOK, <-answers)
	})
	c := f.client(newTestClock())
	for _, tc := range []struct {
		name, body string
		uin        string
		err        error
		code       string
	}{
		// Older MOSIP versions send the UIN as a number.
		{name: "number", body: `{"response":{"vidStatus":null,"restoredVid":null,"UIN":2345678901,"VID":null},"errors":null}`, uin: "2345678901"},
		{name: "string", body: `{"response":{"UIN":"2345678901"},"errors":[]}`, uin: "2345678901"},
		{name: "no UIN", body: `{"response":{"vidStatus":"ACTIVE"},"errors":null}`, err: ErrNoUIN},
		{name: "null", body: `{"response":null,"errors":null}`, err: ErrNullResponse},
		{name: "inactive", body: `{"response":null,"errors":[{"errorCode":"IDR-VID-001","message":"VID ` + vid + ` is REVOKED"}]}`, code: CodeVIDNotActive},
	} {
		answers <- tc.body
		uin, err := c.UINByVID(t.Context(), vid)
		switch {
		case tc.uin != "":
			if err != nil || uin != tc.uin {
				t.Errorf("%s: %q, %v; want %q", tc.name, uin, err, tc.uin)
			}
		case tc.err != nil:
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v; want %v", tc.name, err, tc.err)
			}
		default:
			if !IsInactive(err) || strings.Contains(err.Error(), vid) || !strings.Contains(err.Error(), "{VID}") {
				t.Errorf("%s: %v; want inactive without the VID", tc.name, err)
			}
		}
	}
}

func TestUINTokenWire(t *testing.T) {
	t.Parallel()
	const uin = "2345678901"
	answers := make(chan string, 1)
	uris := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uris <- r.RequestURI
		if ck, err := r.Cookie("Authorization"); err != nil || ck.Value == "" {
			t.Errorf("token request without the Authorization cookie")
		}
		reply(w, http.StatusOK, <-answers)
	}))
	t.Cleanup(srv.Close)
	f := newFakeMOSIP(t, func(w http.ResponseWriter, c captured) { t.Errorf("unexpected %s %s", c.Method, c.Path) })
	clock := newTestClock()
	c := NewClient(ClientConfig{
		Auth:       NewAuthClient(AuthConfig{URL: f.srv.URL + authPath, ClientID: "c", SecretKey: "s", AppID: "a", HTTPClient: f.srv.Client(), Now: clock.Now}),
		TokenIDURL: srv.URL + "/v1/keymanager/tokenid/",
		Now:        clock.Now,
	})

	answers <- `{"id":"mosip.kernel.tokenid.generate","response":{"tokenID":"268177021248100621690339355202974361"},"errors":null}`
	tok, err := c.UINToken(t.Context(), uin, "opencrvs partner")
	if err != nil || tok != "268177021248100621690339355202974361" {
		t.Errorf("token %q, %v", tok, err)
	}
	if want, got := "/v1/keymanager/tokenid/"+uin+"/opencrvs%20partner", <-uris; got != want {
		t.Errorf("request URI %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name, body string
		check      func(error) bool
	}{
		{"null", `{"response":null,"errors":null}`, func(err error) bool { return errors.Is(err, ErrNullResponse) }},
		{"empty token", `{"response":{"tokenID":""}}`, func(err error) bool { return errors.Is(err, ErrNullResponse) }},
		{"unprintable token", `{"response":{"tokenID":"12\n34"}}`, func(err error) bool { return errors.Is(err, ErrNotMOSIPJSON) }},
		{"empty input", `{"response":null,"errors":[{"errorCode":"KER-TIG-010","message":"UIN ` + uin + ` and partner code cannot be empty"}]}`,
			func(err error) bool { return !IsTransient(err) && !strings.Contains(err.Error(), uin) }},
		{"internal error", `{"response":null,"errors":[{"errorCode":"KER-UIG-005","message":"Internal Server Error"}]}`, IsTransient},
	} {
		answers <- tc.body
		if _, err := c.UINToken(t.Context(), uin, "p"); err == nil || !tc.check(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := c.UINToken(t.Context(), "", "p"); err == nil {
		t.Errorf("empty UIN sent")
	}
	if _, err := NewClient(ClientConfig{Auth: c.auth}).UINToken(t.Context(), uin, "p"); err == nil {
		t.Errorf("no URL configured: no error")
	}
}
