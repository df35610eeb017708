// Command crashtest is `make crash-test`: it runs `opencrvs-mosip serve` as a
// child process with the MOSIP and OpenCRVS simulators, sends records
// through it, kills it with SIGKILL at random moments and restarts it on the
// same database, and checks that every accepted record was confirmed in
// OpenCRVS exactly once and nothing else was. Progress goes to stderr; the
// last line on stdout is
//
//	crash-test: accepted=N confirmed=N lost=N duplicates=N kills=N
//
// The exit code is 0 when every record was accepted and confirmed, none
// lost and none duplicated; 1 otherwise; 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"opencrvs-mosip/internal/crashtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// maxProblems bounds the problem lines printed.
const maxProblems = 30

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("crashtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg crashtest.Config
	fs.StringVar(&cfg.Binary, "bin", "bin/opencrvs-mosip", "the opencrvs-mosip binary to test (make build)")
	fs.IntVar(&cfg.Records, "records", 2000, "records to send")
	fs.IntVar(&cfg.Kills, "kills", 5, "times to kill the mediator with SIGKILL")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the kill moments and the records (0: random, printed)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "records in flight at once")
	fs.DurationVar(&cfg.SendTimeout, "send-timeout", 0, "how long one record is retried before giving up (default 5m)")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "bound of the wait for confirmations after the last kill (default 3m + 200ms per record)")
	fs.StringVar(&cfg.Dir, "dir", "", "work directory for the database and logs (default: a temporary one, kept on failure)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary work directory after a successful run")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: crashtest [flags]\n\nKills the mediator (serve) with SIGKILL while records go through it and checks that none is lost or confirmed twice.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crashtest: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	cfg.Progress = stderr

	res, err := crashtest.Run(ctx, cfg)
	if res == nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	failed := err != nil || !res.OK()
	fmt.Fprintf(stderr, "crash-test: records=%d refused=%d rejected=%d unexpected=%d unfinished=%d repeats=%d (repeats: confirmations OpenCRVS answered \"already registered, same details\")\n",
		res.Records, res.Refused, res.Rejected, res.Unexpected, res.Unfinished, res.Repeats)
	if failed {
		for i, p := range res.Problems {
			if i == maxProblems {
				fmt.Fprintf(stderr, "... and %d more problems\n", len(res.Problems)-maxProblems)
				break
			}
			fmt.Fprintln(stderr, "problem:", p)
		}
		fmt.Fprintf(stderr, "--- last 50 lines of the mediator's log (%s/mediator.log) ---\n%s\n---\n", res.Dir, crashtest.LogTail(res.Dir, 50))
		if err != nil {
			fmt.Fprintln(stderr, "crash-test did not finish:", err)
		}
		fmt.Fprintf(stderr, "crash-test FAILED after %.0fs (seed %d; rerun with SEED=%d); database and logs kept in %s\n",
			res.Duration.Seconds(), res.Seed, res.Seed, res.Dir)
	} else {
		fmt.Fprintf(stderr, "crash-test passed in %.0fs (seed %d): %d records, %d harmless repeated confirmations\n",
			res.Duration.Seconds(), res.Seed, res.Records, res.Repeats)
	}
	fmt.Fprintln(stdout, res.Line())
	if failed {
		return 1
	}
	return 0
}
