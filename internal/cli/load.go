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
	fs.StringVar(&cfg.Kind, "kind", "birth", "birth, death or mixed")
	fs.StringVar(&cfg.Mode, "mode", "fhir", "fhir (FHIR bundles: the mediator decides and maps), mapped (the country config's mapped payload) or mixed")
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
