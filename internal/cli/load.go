package cli

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"opencrvs-mosip/internal/loadgen"
)

func runLoad(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("load", "load [flags]", stderr)
	cfg := loadgen.Config{Progress: stderr}
	fs.StringVar(&cfg.OpenCRVSURL, "opencrvs", "http://127.0.0.1:7070", "the OpenCRVS simulator of a running system (e.g. `opencrvs-mosip dev`)")
	fs.IntVar(&cfg.Records, "records", 100, "records to send")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "records in flight at once")
	fs.StringVar(&cfg.Kind, "kind", "birth", "birth, death or mixed (per 8 records: 4 births, 2 deaths of people born earlier in the run, a birth and a death correction)")
	fs.StringVar(&cfg.Mode, "mode", "fhir", "fhir (1.8 FHIR bundles, 1.9 EventDocuments: the mediator decides and maps), mapped (the country config's mapped payload) or mixed")
	fs.StringVar(&cfg.Version, "version", "", "OpenCRVS version of the records: 1.8, 1.9 or mixed (empty: the simulator's default, see dev --opencrvs-version); 1.9 records are answered through tRPC, and only 1.8 records are corrected")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "how long one record may take before it counts as failed")
	if err := parse(fs, args); err != nil {
		return err
	}
	res, err := loadgen.Run(ctx, cfg)
	if res != nil {
		enc := json.NewEncoder(stdout)
		if jerr := enc.Encode(res); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}
