package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/loadgen"
)

func runLoad(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("load", "load [flags]", stderr)
	cfg := loadgen.Config{Progress: stderr}
	opencrvs := fs.String("opencrvs", "http://127.0.0.1:7070", "the OpenCRVS simulator of a running system such as opencrvs-mosip dev; several as `URL[,URL...]`, shared by the --clients round-robin")
	mediator := fs.String("mediator", "", "after the run, read each completed record's transaction from the admin API of the mediator at `URL[,URL...]` (any replica; the token in $ADMIN_TOKEN or $ADMIN_TOKEN_FILE) and add per-phase latencies (phases_ms: accept, submit, credential, confirm)")
	fs.IntVar(&cfg.Records, "records", 100, "records to send")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "records in flight at once (with --rate: at most)")
	fs.IntVar(&cfg.Clients, "clients", 1, "independent OpenCRVS-side clients, each with its own connections and share of --concurrency")
	rate := fs.String("rate", "0", "records started a second (`R/s`, such as 100/s) on a fixed schedule whatever the answers (the summary's rate.late_starts counts the starts --concurrency delayed); 0: each of --concurrency workers sends its next record when its last one ended")
	fs.StringVar(&cfg.Kind, "kind", "birth", "birth, death or mixed (per 8 records: 4 births, 2 deaths of people born earlier in the run, a birth and a death correction)")
	fs.StringVar(&cfg.Mode, "mode", "fhir", "fhir (1.8 FHIR bundles, 1.9 EventDocuments: the mediator decides and maps), mapped (the country config's mapped payload) or mixed")
	fs.StringVar(&cfg.Version, "version", "", "OpenCRVS version of the records: 1.8, 1.9 or mixed (empty: the simulator's default, see dev --opencrvs-version); 1.9 records are answered through tRPC, and only 1.8 records are corrected")
	fs.StringVar(&cfg.Delivery, "delivery", "", "webhook: against dev --design split, the simulator registers each record and delivers it by webhook to the OpenCRVS-side mediator; a record completes when MOSIP's answer is written back to it (births only). Empty: records are sent to the mediator, which confirms or rejects them")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Minute, "how long one record may take before it counts as failed")
	fs.DurationVar(&cfg.PhasesTimeout, "phases-timeout", loadgen.DefaultPhasesTimeout, "with --mediator: how long reading the transactions may take (records not read by then count as unread)")
	if err := parse(fs, args); err != nil {
		return err
	}
	r, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(*rate), "/s"), 64)
	if err != nil {
		return fmt.Errorf("--rate: %q is not a rate such as 100/s (records a second; 0: closed loop)", *rate)
	}
	cfg.Rate = r
	cfg.OpenCRVSURLs = splitList(*opencrvs)
	if len(cfg.OpenCRVSURLs) == 0 {
		return fmt.Errorf("--opencrvs: give the OpenCRVS simulator's URL")
	}
	if cfg.MediatorURLs = splitList(*mediator); len(cfg.MediatorURLs) > 0 {
		c, err := newAdminClient(cfg.MediatorURLs[0], env)
		if err != nil {
			return fmt.Errorf("--mediator: %w", err)
		}
		cfg.AdminToken = c.token
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

// splitList splits a comma-separated list, without blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
