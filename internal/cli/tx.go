package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/jobs"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

const txSynopsis = `tx list [--state STATE] [--limit N] [--json] | tx show AID | tx retry AID  [--sqlite PATH]

Operators' view of transactions, read from the mediator's database (it may
be running). retry resumes a DEAD transaction in the state it died in.`

func runTx(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "show" && args[0] != "retry") {
		fmt.Fprintf(stderr, "Usage: opencrvs-mosip %s\n", txSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	sub := args[0]
	fs := flags("tx "+sub, txSynopsis, stderr)
	path := fs.String("sqlite", "", "SQLite database file (default: $SQLITE_DATABASE_PATH, else data/opencrvs-mosip.sqlite)")
	state := fs.String("state", "", "list: only transactions in this state ("+statesList()+")")
	limit := fs.Int("limit", 50, "list: at most this many (1..1000)")
	asJSON := fs.Bool("json", false, "list: JSON instead of a table")
	// The AID comes first or last: tx show AID --sqlite x, tx show --sqlite x AID.
	rest := args[1:]
	var id string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return errUsage
	}
	if (sub == "list") != (id == "") {
		fmt.Fprintf(stderr, "Usage: opencrvs-mosip %s\n", txSynopsis)
		return errUsage
	}
	st, err := openExisting(ctx, firstNonEmpty(*path, env("SQLITE_DATABASE_PATH"), "data/opencrvs-mosip.sqlite"))
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "list":
		s := bridge.State(strings.ToUpper(*state))
		if s != "" && !s.Valid() {
			return fmt.Errorf("unknown state %q: want one of %s", *state, statesList())
		}
		if *limit < 1 || *limit > 1000 {
			return fmt.Errorf("--limit must be from 1 to 1000")
		}
		list, err := st.List(ctx, store.ListFilter{State: s, Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			views := make([]pipeline.TransactionView, len(list))
			for i, tr := range list {
				views[i] = pipeline.View(tr, nil)
			}
			return writeIndented(stdout, views)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AID\tEVENT\tSTATE\tUPDATED\tATTEMPTS\tLAST ERROR")
		for _, tr := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", tr.ID, tr.Kind, tr.State,
				tr.UpdatedAt.Format(time.RFC3339), tr.Attempts, telemetry.Printable(tr.LastError, 80))
		}
		return tw.Flush()
	case "show":
		tr, err := st.Transaction(ctx, id)
		if err != nil {
			return err
		}
		events, err := st.Events(ctx, id)
		if err != nil {
			return err
		}
		return writeIndented(stdout, pipeline.View(tr, events))
	default: // retry
		runner, err := jobs.New(jobs.Config{Store: st})
		if err != nil {
			return err
		}
		svc := &pipeline.Service{Store: st, Jobs: runner}
		tr, err := svc.Retry(ctx, id, "tx retry")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "transaction %s is %s again; the running mediator takes it up within a second\n", tr.ID, tr.State)
		return nil
	}
}

// openExisting opens a database the mediator made, refusing one that does
// not exist or is out of date rather than creating or migrating it.
func openExisting(ctx context.Context, path string) (*store.Store, error) {
	st, err := store.Open(ctx, store.Config{Path: path, MustExist: true})
	if err != nil {
		return nil, err
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func statesList() string {
	names := make([]string, len(bridge.States))
	for i, s := range bridge.States {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
