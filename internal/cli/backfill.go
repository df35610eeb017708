package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"

	"opencrvs-mosip/internal/backfill"
	"opencrvs-mosip/internal/httpapi"
)

const backfillSynopsis = `backfill --file FILE|DIR [--rate N/s] [--report FILE] [--progress FILE] [--batch N] [--restart] [--server URL]

Sends historic records, already registered in OpenCRVS, to a running
mediator (its admin API: --server, default $OPENCRVS_MOSIP_SERVER, else
http://127.0.0.1:$PORT; token $ADMIN_TOKEN or $ADMIN_TOKEN_FILE), which
puts them through the country rules and mapping and sends them to MOSIP on
a queue of their own at --rate; each birth's national ID is then added to
the registered record in OpenCRVS (upsertRegistrationIdentifier).

FILE has one OpenCRVS 1.8 FHIR bundle a line (NDJSON); DIR, its *.json (one
record each) and *.ndjson files, by name. Interrupted, the same command
resumes after the last batch the mediator acknowledged (FILE.progress); a
record sent twice is answered as a duplicate. Records the rules do not send
and those that fail are listed with their reason in the report (JSON Lines,
or CSV for a .csv name). Progress goes to stderr; the final report, JSON,
to stdout. OpenCRVS 1.9 records are refused: 1.9 offers no way to add an
identifier to a registered event.`

func runBackfill(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("backfill", backfillSynopsis, stderr)
	var cfg backfill.Config
	fs.StringVar(&cfg.Path, "file", "", "the records: an NDJSON file, or a directory of .json and .ndjson files (required)")
	rate := fs.String("rate", "5/s", "records a second sent to the mediator, which keeps its backfill queue to this rate towards MOSIP, for every replica (0: no limit). The default stays at the bursts MOSIP already takes from live registrations (about 5 a second at a peak), since how much more a MOSIP installation absorbs is not known: raise it with its operators")
	fs.StringVar(&cfg.ReportPath, "report", "", "the report of skipped and failed records: JSON Lines, or CSV for a .csv name (default: FILE.report.jsonl)")
	fs.StringVar(&cfg.ProgressPath, "progress", "", "where the position is kept for a resume (default: FILE.progress)")
	fs.IntVar(&cfg.Batch, "batch", backfill.DefaultBatch, "records per request (at most two seconds' worth at --rate)")
	fs.BoolVar(&cfg.Restart, "restart", false, "ignore the progress file and start from the beginning (records the mediator has are answered as duplicates)")
	server := fs.String("server", "", "the mediator's base URL (default: $OPENCRVS_MOSIP_SERVER, else http://127.0.0.1:$PORT)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfg.Path == "" {
		fs.Usage()
		return errUsage
	}
	r, err := httpapi.ParseRate(*rate)
	if err != nil {
		return errors.New("--" + err.Error())
	}
	cfg.Rate = r
	c, err := newAdminClient(*server, env)
	if err != nil {
		return err
	}
	cfg.Server, cfg.Token = c.base, c.token
	cfg.Progress, cfg.Terminal = stderr, isTerminal(stderr)
	report, err := backfill.Run(ctx, cfg)
	if report != nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(report); jerr != nil && err == nil {
			err = jerr
		}
	}
	return err
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
