package mosipsim

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCanonicalJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		// RFC 8785 section 3.2.3: keys sort by UTF-16 code units, so the
		// emoji (a surrogate pair) sorts before U+FB33.
		{"key order", `{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{"escapes", `{"s":"\"\\\b\f\n\r\t\u000f<>&\u2028é"}`, "{\"s\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u000f<>&\u2028é\"}"},
		{"nesting and literals", `{ "b" : [ 1 , true , null , { "z":0,"a":-7 } ], "a":"" }`, `{"a":"","b":[1,true,null,{"a":-7,"z":0}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
				t.Fatal(err)
			}
			got, err := canonicalJSON(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("canonicalJSON =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if _, err := canonicalJSON(map[string]any{"x": 1.5}); err == nil {
		t.Errorf("a fractional number was written without error")
	}
}

func TestJavaRegex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern string
		match   []string
		nomatch []string
	}{
		{`^(?=.{3,50}$).*`, []string{"abc", strings.Repeat("x", 50)}, []string{"ab", strings.Repeat("x", 51), ""}},
		{`^(?=.{0,50}$).*`, []string{"", "12 Market Street"}, []string{strings.Repeat("x", 51)}},
		{`^[(?i)A-Z0-9]{5}$|^NA$`, []string{"AB123", "NA", "i(?)9"}, []string{"ab123", "ABC12X", "na"}},
		{`^[+]*([0-9]{1})([0-9]{9})$`, []string{"+2609712345", "0971234567"}, []string{"097123456", "+26097123456"}},
		{`abc`, []string{"abc"}, []string{"xabc", "abcx"}}, // Java's matches() is a whole match
		{`^(?=.*[0-9])(?=.*[a-z]).{4,}$`, []string{"ab12", "1abc"}, []string{"abcd", "1234", "a1"}},
		{`^(yes|no)$`, []string{"yes", "no"}, []string{"yesno", "maybe"}},
	} {
		re, err := compileJavaRegex(tc.pattern)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		for _, s := range tc.match {
			if !re.match(s) {
				t.Errorf("%s does not match %q", tc.pattern, s)
			}
		}
		for _, s := range tc.nomatch {
			if re.match(s) {
				t.Errorf("%s matches %q", tc.pattern, s)
			}
		}
	}
	for _, unsupported := range []string{`^(?<=a)b`, `(a)\1`, `a++`, `^(?=abc`, `(?!x)y`} {
		if _, err := compileJavaRegex(unsupported); err == nil {
			t.Errorf("%s compiled; RE2 cannot run it", unsupported)
		}
	}
}

func TestSchemaNotesUnsupportedValidators(t *testing.T) {
	t.Parallel()
	sc, err := parseIDSchema(`{"properties":{"identity":{"required":["fullName"],"properties":{
		"fullName":{"$ref":"#/definitions/simpleType","validators":[{"type":"regex","validator":"^(?<=x).*$"}]},
		"phone":{"type":"string","validators":[{"type":"regex","validator":"^[0-9]{3}$"},{"type":"length","validator":"3"}]}}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	p := &packet{schema: sc}
	p.dto.SchemaVersion = "0.1"
	p.dto.Fields = map[string]string{"fullName": simpleValue("Anyone"), "phone": "123", "extra": "open schema"}
	problems, notes := sc.validate(p, true, time.Now())
	if len(problems) != 0 {
		t.Errorf("problems = %v", problems)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "fullName") {
		t.Errorf("notes = %v, want one about fullName's validator", notes)
	}
	if got := sc.subPacket("fullName"); got != "id" {
		t.Errorf("fullName goes to %s", got)
	}
}

func TestSchedulerOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		q := newScheduler("test", slog.New(slog.DiscardHandler))
		q.start(ctx, &wg, 1)
		var mu sync.Mutex
		var order []string
		record := func(name string) func(context.Context) {
			return func(context.Context) {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
			}
		}
		q.after(3*time.Second, record("c"))
		q.after(time.Second, record("a1"))
		q.after(time.Second, record("a2"))
		q.after(2*time.Second, func(context.Context) { panic("a faulty task") })
		q.after(2*time.Second, record("b"))
		synctest.Wait()
		if n := q.pending(); n != 5 {
			t.Errorf("pending = %d, want 5", n)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		mu.Lock()
		if diff := cmp.Diff([]string{"a1", "a2", "b", "c"}, order); diff != "" {
			t.Errorf("order (-want +got):\n%s", diff)
		}
		mu.Unlock()
		cancel()
		wg.Wait()
		synctest.Wait()
		if q.after(0, record("late")) {
			t.Errorf("a stopped scheduler took a task")
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	k := mustKeys(t)
	for name, cfg := range map[string]Config{
		"no certificate":   {},
		"unknown format":   {PartnerCert: k.cert, CredentialKey: k.vc, CredentialFormat: "jwt"},
		"negative delay":   {PartnerCert: k.cert, CredentialKey: k.vc, StageDelay: -time.Second},
		"unroutable write": {PartnerCert: k.cert, CredentialKey: k.vc, Providers: map[string][]string{"OPENCRVS": {"LOST"}}},
		"control in topic": {PartnerCert: k.cert, CredentialKey: k.vc, IdentityUpdateTopic: "IDENTITY\nUPDATED"},
	} {
		if s, err := New(cfg); err == nil {
			s.Close()
			t.Errorf("%s: New accepted the config", name)
		}
	}
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	seen := map[string]bool{}
	for range 500 {
		uin, vid, err := e.sim.newUINAndVID()
		if err != nil {
			t.Fatal(err)
		}
		checkNumber(t, "UIN", uin, 10)
		checkNumber(t, "VID", vid, 16)
		if seen[uin] {
			t.Fatalf("UIN %s drawn twice", uin)
		}
		seen[uin] = true
		e.sim.ids.byUIN[uin] = &identity{uin: uin}
	}
}

func TestAgeGroup(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		dob  string
		want string
	}{
		{"2025/06/15", AgeInfant},
		{"2020/06/16", AgeInfant}, // 4 years and 364 days
		{"2020/06/15", AgeMinor},  // fifth birthday
		{"2007/06/16", AgeMinor},
		{"2007/06/15", AgeAdult},
	} {
		dob, _ := time.Parse(mosipDate, tc.dob)
		if got := ageGroup(dob, now); got != tc.want {
			t.Errorf("born %s: %s, want %s", tc.dob, got, tc.want)
		}
	}
}
