package country

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opencrvs-mosip/internal/bridge"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	death, err := os.ReadFile(filepath.Join("../../testdata/opencrvs-1.8", "incoming-death-bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	corrections := map[string][]byte{}
	for _, name := range []string{"correction-birth-bundle.json", "correction-death-bundle.json"} {
		if corrections[name], err = os.ReadFile(filepath.Join("../../testdata/opencrvs-1.8", name)); err != nil {
			t.Fatal(err)
		}
	}
	noAddress := mustParse(t, "birth:\n  forward: 'true'\n  fields: '{fullName: (.child.name.full | mosipText)}'\n", Options{})
	badMapping := mustParse(t, "birth:\n  forward: 'false'\n  fields: '{fullName: .child.name.full}'\n", Options{})
	tests := []struct {
		name    string
		cfg     *Config
		record  []byte
		want    []string // lines the output contains
		wantErr string
	}{
		{name: "death not forwarded", cfg: mustDefault(t), record: death, want: []string{
			"decision             not forwarded: OpenCRVS registers the record without a national ID",
			`reason               death.forward is false: deceased.nationalId != "" is true, spouse.authenticated is false, informant.authenticated is false`,
			"  informant (SPOUSE)  none recorded",
			"were it forwarded, MOSIP would receive:",
			"fields (process CRVS_DEATH)",
			"  nationalIdNumber  0000000001",
			"  phone  -",
		}},
		{name: "death without a correction", cfg: mustDefault(t), record: death, want: []string{"registration number  2025DYC3RFC"}},
		{name: "birth correction", cfg: mustDefault(t), record: corrections["correction-birth-bundle.json"], want: []string{
			"registration number  2026BXXDBIC",
			"as a correction: the record carries registration number 2026BXXDBIC. If the mediator registered birth BXXDBIC",
			"correction fields (process CRVS_UPDATE)",
			`  fullName                [{"language":"eng","value":"Tony Sami"}]`,
		}},
		{name: "death correction", cfg: mustDefault(t), record: corrections["correction-death-bundle.json"], want: []string{
			"correction fields (process CRVS_UPDATE)",
			"  dateOfDeath       2024/12/01",
			"  nationalIdNumber  0000000001",
		}},
		{name: "required fields missing", cfg: noAddress, want: []string{
			"note: the ID schema marks dateOfBirth, gender, addressLine1 as required and this packet has none; MOSIP may refuse it",
			"metaInfo\n  (none)",
		}},
		{name: "mapping fails", cfg: badMapping, want: []string{
			"mapping failed: birth.fields.fullName: field fullName must be a non-empty [{language, value}] list (use mosipText), got a string",
		}, wantErr: "birth.fields.fullName"},
		{name: "not a bundle", cfg: mustDefault(t), record: []byte(`{"resourceType":"Patient"}`),
			wantErr: `country: check the --record file: resourceType: is "Patient", want "Bundle"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := tt.cfg.Check(&out, tt.record, testNow)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Check: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Check error %v, want one containing %q", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	var out strings.Builder
	err = mustDefault(t).Check(&out, []byte(`{"resourceType":"Bundle","entry":[{}]}`), testNow)
	if bridge.ErrorCodeOf(err) != bridge.EInvalid {
		t.Errorf("Check of a bundle without a Composition: %v, want an EInvalid error", err)
	}
}
