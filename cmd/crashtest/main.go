// Command crashtest is `make crash-test`: it runs `opencrvs-mosip serve` as a
// child process with the MOSIP and OpenCRVS simulators, sends records
// through it, kills it with SIGKILL at random moments and restarts it on the
// same database, and checks that every accepted record was confirmed in
// OpenCRVS exactly once and nothing else was. With -replicas N and
// -database-url (`make crash-test-replicas`), N mediators share a
// PostgreSQL database and each kill takes one of them. Progress goes to stderr; the
// last line on stdout is
//
//	crash-test: accepted=N confirmed=N lost=N duplicates=N kills=N
//
// followed, with several replicas, by replicas=N subscribes=N.
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
	"strings"
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
	fs.IntVar(&cfg.Replicas, "replicas", 1, "mediators sharing the database (more than 1 needs -database-url); a kill takes one at random")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL server (postgres://...) on which the run creates a database of its own, dropped after a pass (default: SQLite)")
	fs.BoolVar(&cfg.KeepDown, "keep-down", false, "leave killed replicas down (kills must be fewer than replicas): the others finish their work")
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
	fmt.Fprintf(stderr, "crash-test: subscribes=%d (allowed %d) packet-repeats=%d over %d ids, workflow-repeats=%d (MOSIP takes a repeated id as the same packet)\n",
		res.Subscribes, res.SubscribesAllowed, res.PacketRepeats, res.PacketRepeatIDs, res.WorkflowRepeats)
	if res.CompleteSeconds > 0 {
		n := float64(res.Records)
		fmt.Fprintf(stderr, "crash-test: throughput: %d records accepted in %.1fs (%.0f/s), all confirmed after %.1fs (%.0f/s); mediator CPU %.1f ms per record\n",
			res.Records, res.SendSeconds, n/res.SendSeconds, res.CompleteSeconds, n/res.CompleteSeconds, 1000*res.MediatorCPUSeconds/n)
	}
	if res.ReconcileRuns > 0 || len(res.ResumeSeconds) > 0 {
		resumed := make([]string, len(res.ResumeSeconds))
		for i, s := range res.ResumeSeconds {
			resumed[i] = fmt.Sprintf("%.1fs", s)
		}
		fmt.Fprintf(stderr, "crash-test: reconciliation ran %d times on %d replica(s), %d overlapping; jobs running at each kill finished or resumed within %s (-1: not within a minute)\n",
			res.ReconcileRuns, res.ReconcileReplicas, res.ReconcileOverlaps, strings.Join(resumed, ", "))
	}
	if failed {
		for i, p := range res.Problems {
			if i == maxProblems {
				fmt.Fprintf(stderr, "... and %d more problems\n", len(res.Problems)-maxProblems)
				break
			}
			fmt.Fprintln(stderr, "problem:", p)
		}
		fmt.Fprintf(stderr, "--- last 50 lines of the mediator's log(s) (%s/mediator*.log) ---\n%s\n---\n", res.Dir, crashtest.LogTail(res.Dir, 50))
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
