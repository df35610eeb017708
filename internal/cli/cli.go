// Package cli is the command line of opencrvs-mosip: one function per
// command, flags with the standard library.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Env reads an environment variable.
type Env func(string) string

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"dev", "run the mediator and both simulators on this machine (SQLite under ./data)", runDev},
		{"serve", "run the mediator, configured by environment variables (serve -h lists them)", runServe},
		{"sim", "run one simulator: sim mosip | sim opencrvs | sim esignet", runSim},
		{"migrate", "apply database migrations; --from-mosip-api FILE.db imports what a Node mosip-api left waiting", runMigrate},
		{"config", "config check [--record FILE]: compile the country configuration and try it on a record", runConfig},
		{"keys", "keys generate | rotate | demo: the keys that encrypt the tokens kept in the database", runKeys},
		{"tx", "tx list | show AID | retry AID | cancel AID | counts: transactions, through a running mediator's admin API", runTx},
		{"load", "drive records end to end through a running system and print a JSON summary", runLoad},
		{"backfill", "send historic records (registered before the mediator) to MOSIP through a running mediator, resumably", runBackfill},
		{"healthcheck", "exit 0 if the running service answers /healthz (the container image's HEALTHCHECK; --url for another)", runHealthcheck},
		{"version", "print the version", runVersion},
	}
}

// errUsage means the arguments were wrong; the usage was printed.
var errUsage = errors.New("usage")

// Main runs the command in args and returns the process exit code.
func Main(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], env, stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		fmt.Fprintf(stderr, "opencrvs-mosip %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "opencrvs-mosip: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "opencrvs-mosip: the mediator between OpenCRVS and MOSIP.")
	fmt.Fprintln(w, "\nUsage: opencrvs-mosip <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `opencrvs-mosip <command> -h` for a command's flags.")
}

// flags returns a flag set that prints its usage to stderr.
func flags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: opencrvs-mosip %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		fs.Usage()
		return errUsage
	}
	return nil
}
