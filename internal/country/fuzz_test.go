package country

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/fhir"
)

// FuzzParseConfig checks that no configuration file makes loading panic,
// and that every refusal is a *LoadError.
func FuzzParseConfig(f *testing.F) {
	f.Add(defaultConfig)
	f.Add([]byte("birth:\n  forward: ageInYears(child.birthDate) < 10\n  fields: '{fullName: (.child.name.full | mosipText)}'\n"))
	f.Add([]byte("death: {forward: 'spouse.authenticated', fields: '{}', verification: {spouse: {answers: [a]}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml", deployment)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T) has no *LoadError", err, err)
			}
			return
		}
		if len(c.events) == 0 {
			t.Fatal("accepted a configuration without events")
		}
	})
}

// FuzzEvaluate runs the default configuration on whatever fhir.Parse
// accepts: rules and mappings must refuse bad records with a
// *bridge.Error, never panic.
func FuzzEvaluate(f *testing.F) {
	for _, name := range []string{"incoming-birth-bundle.json", "incoming-birth-bundle-mother-father.json", "incoming-death-bundle.json"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/opencrvs-1.8", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(sampleBirth)
	c := mustDefault(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := fhir.Parse(data)
		if err != nil {
			return
		}
		out, err := c.Evaluate(rec, testNow)
		if err != nil {
			var be *bridge.Error
			if !errors.As(err, &be) {
				t.Fatalf("error %v (%T) is not a *bridge.Error", err, err)
			}
			return
		}
		if out.Forward != (out.Packet != nil) || out.RegistrationNumber == "" || out.Reason == "" {
			t.Fatalf("inconsistent outcome %+v", out)
		}
	})
}

// TestEvaluateConcurrent shares one Config between goroutines, as the
// intake does (run with -race).
func TestEvaluateConcurrent(t *testing.T) {
	t.Parallel()
	c := mustDefault(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			rec := birthRecord("2020-06-01", "MOTHER", map[string]string{"birth.mother.mother-view-group.verified": "verified"})
			out, err := c.Evaluate(rec, testNow)
			if err == nil && !out.Forward {
				err = errors.New(out.Reason)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
