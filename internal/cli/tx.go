package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"opencrvs-mosip/internal/admin"
	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/pipeline"
	"opencrvs-mosip/internal/telemetry"
)

const txSynopsis = `tx list [--state S] [--kind K] [--version V] [--older-than AGE] [--q ID] [--limit N] [--cursor C]
       | tx show AID | tx retry AID | tx cancel AID --reason TEXT | tx counts
       [--server URL] [--json]

Operators' view of transactions, through the admin API of a running
mediator (--server, default $OPENCRVS_MOSIP_SERVER, else
http://127.0.0.1:$PORT, port 2024 by default), with the token in
$ADMIN_TOKEN or the file $ADMIN_TOKEN_FILE names.

list   newest first; --q finds an AID, tracking id, registration number or
       OpenCRVS record id; a full page ends with the --cursor of the next
show   one transaction with its event log and last error
retry  a DEAD transaction resumes where it died; one MOSIP refused
       (REJECTED_BY_MOSIP) is resubmitted under a new AID
cancel stops a transaction for good (CANCELLED); OpenCRVS is not told
counts transactions per state and the oldest one waiting`

var txCommands = []string{"list", "show", "retry", "cancel", "counts"}

func runTx(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains(txCommands, args[0]) {
		fmt.Fprintf(stderr, "Usage: opencrvs-mosip %s\n", txSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	sub := args[0]
	fs := flags("tx "+sub, txSynopsis, stderr)
	server := fs.String("server", "", "the mediator's base URL (default: $OPENCRVS_MOSIP_SERVER, else http://127.0.0.1:$PORT)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer instead of a table")
	var q admin.Query
	var state, kind, olderThan, reason string
	if sub == "list" {
		fs.StringVar(&state, "state", "", "only transactions in this state ("+admin.StateNames()+")")
		fs.StringVar(&kind, "kind", "", "only this event kind (birth, death, death-reversal)")
		fs.StringVar(&q.Version, "version", "", "only records from this OpenCRVS version (1.8, 1.9)")
		fs.StringVar(&olderThan, "older-than", "", "only transactions created at least this long ago (90m, 1h, 2d)")
		fs.StringVar(&q.Search, "q", "", "find an AID, tracking id, registration number or OpenCRVS record id (exact)")
		fs.IntVar(&q.Limit, "limit", admin.DefaultLimit, fmt.Sprintf("at most this many (1..%d)", admin.MaxLimit))
		fs.StringVar(&q.Cursor, "cursor", "", "continue a listing: the cursor a full page ended with")
	}
	if sub == "cancel" {
		fs.StringVar(&reason, "reason", "", "why the transaction is cancelled (required; kept in its event log)")
	}
	// The AID comes first or last: tx show AID --json, tx show --json AID.
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
	if needsID := sub != "list" && sub != "counts"; needsID != (id != "") {
		fmt.Fprintf(stderr, "Usage: opencrvs-mosip %s\n", txSynopsis)
		return errUsage
	}
	c, err := newAdminClient(*server, env)
	if err != nil {
		return err
	}
	txPath := "/admin/transactions/" + url.PathEscape(id)

	switch sub {
	case "list":
		// The server checks the filters too; checking here first says
		// which flag is wrong in the flag's own words.
		values := url.Values{"state": {state}, "kind": {kind}, "version": {q.Version}, "older_than": {olderThan},
			"q": {q.Search}, "limit": {fmt.Sprint(q.Limit)}, "cursor": {q.Cursor}}
		parsed, err := admin.ParseQuery(values)
		if err != nil {
			return flagError(err)
		}
		var page admin.Page
		raw, err := c.do(ctx, http.MethodGet, "/admin/transactions?"+parsed.Values().Encode(), nil, &page)
		if err != nil || *asJSON {
			return printRaw(stdout, raw, err)
		}
		printList(stdout, page)
		if page.NextCursor != "" {
			fmt.Fprintf(stdout, "\nmore: add --cursor %s\n", page.NextCursor)
		}
		return nil
	case "show":
		var d admin.Detail
		raw, err := c.do(ctx, http.MethodGet, txPath, nil, &d)
		if err != nil || *asJSON {
			return printRaw(stdout, raw, err)
		}
		printDetail(stdout, d)
		return nil
	case "retry":
		var v pipeline.TransactionView
		raw, err := c.do(ctx, http.MethodPost, txPath+"/retry", nil, &v)
		if err != nil || *asJSON {
			return printRaw(stdout, raw, err)
		}
		if v.ID != id {
			fmt.Fprintf(stdout, "transaction %s was resubmitted to MOSIP as %s (%s); %s is CANCELLED\n", id, v.ID, v.State, id)
		} else {
			fmt.Fprintf(stdout, "transaction %s is %s again; the mediator takes it up at once\n", v.ID, v.State)
		}
		return nil
	case "cancel":
		if strings.TrimSpace(reason) == "" {
			fmt.Fprintln(stderr, "tx cancel needs --reason: why the transaction is cancelled")
			return errUsage
		}
		body, _ := json.Marshal(map[string]string{"reason": reason})
		var v pipeline.TransactionView
		raw, err := c.do(ctx, http.MethodPost, txPath+"/cancel", body, &v)
		if err != nil || *asJSON {
			return printRaw(stdout, raw, err)
		}
		fmt.Fprintf(stdout, "transaction %s is %s\n", v.ID, v.State)
		return nil
	default: // counts
		var counts admin.Counts
		raw, err := c.do(ctx, http.MethodGet, "/admin/counts", nil, &counts)
		if err != nil || *asJSON {
			return printRaw(stdout, raw, err)
		}
		printCounts(stdout, counts)
		return nil
	}
}

// flagError renames a query parameter in err after its flag.
func flagError(err error) error {
	msg := err.Error()
	for param, flagName := range map[string]string{"older_than: ": "--older-than: ", "q: ": "--q: "} {
		if strings.HasPrefix(msg, param) {
			return errors.New(flagName + strings.TrimPrefix(msg, param))
		}
	}
	return errors.New("--" + msg)
}

// adminClient calls a mediator's admin API.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

// newAdminClient finds the server and the token: --server, else
// $OPENCRVS_MOSIP_SERVER, else this machine on $PORT (2024); $ADMIN_TOKEN
// or the file $ADMIN_TOKEN_FILE names.
func newAdminClient(server string, env Env) (*adminClient, error) {
	base := firstNonEmpty(server, env("OPENCRVS_MOSIP_SERVER"), "http://127.0.0.1:"+firstNonEmpty(env("PORT"), "2024"))
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the server %q is not an http(s) URL such as http://127.0.0.1:2024", base)
	}
	token := strings.TrimSpace(env("ADMIN_TOKEN"))
	if path := strings.TrimSpace(env("ADMIN_TOKEN_FILE")); path != "" {
		if token != "" {
			return nil, errors.New("set either ADMIN_TOKEN or ADMIN_TOKEN_FILE, not both")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ADMIN_TOKEN_FILE: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("no admin token: set ADMIN_TOKEN, or ADMIN_TOKEN_FILE to a file holding it (the mediator's ADMIN_TOKEN)")
	}
	return &adminClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do calls the admin API and decodes a 2xx answer into out; it returns the
// answer as it came. A problem answer is an error saying the problem's
// detail.
func (c *adminClient) do(ctx context.Context, method, path string, body []byte, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the mediator at %s (set --server or OPENCRVS_MOSIP_SERVER): %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the mediator's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, problemError(resp, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("the mediator's answer (HTTP %d) is not what the admin API answers: %w", resp.StatusCode, err)
	}
	return raw, nil
}

// problemError turns an error answer into an error that says what the
// server said: a problem's detail (and field), else the status.
func problemError(resp *http.Response, raw []byte) error {
	var p struct {
		Title, Detail, Field string
	}
	msg := ""
	if json.Unmarshal(raw, &p) == nil {
		msg = firstNonEmpty(p.Detail, p.Title)
		if p.Field != "" {
			msg = p.Field + ": " + msg
		}
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		msg += " (check ADMIN_TOKEN or ADMIN_TOKEN_FILE)"
	}
	return fmt.Errorf("%s (HTTP %d)", telemetry.Printable(msg, 500), resp.StatusCode)
}

// printRaw prints the admin API's JSON answer, indented.
func printRaw(w io.Writer, raw []byte, err error) error {
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	return writeIndented(w, v)
}

func printList(w io.Writer, page admin.Page) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AID\tEVENT\tOPENCRVS\tSTATE\tCREATED\tATTEMPTS\tLAST ERROR")
	for _, v := range page.Transactions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", v.ID, v.Event, v.OpenCRVSVersion, v.State,
			v.CreatedAt.Format(time.RFC3339), v.Attempts, telemetry.Printable(v.LastError, 80))
	}
	tw.Flush()
	if len(page.Transactions) == 0 {
		fmt.Fprintln(w, "(no transaction matches)")
	}
}

func printDetail(w io.Writer, d admin.Detail) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, telemetry.Printable(v, 300))
		}
	}
	row("AID", d.ID)
	row("State", string(d.State))
	row("Died in", string(d.DeadFrom))
	row("Event", string(d.Event))
	row("OpenCRVS", string(d.OpenCRVSVersion)+" record "+d.RecordID)
	row("Tracking id", d.TrackingID)
	row("Registration number", d.RegistrationNumber)
	row("Corrects", d.Corrects)
	row("Created", d.CreatedAt.Format(time.RFC3339)+" ("+(time.Duration(d.AgeSeconds)*time.Second).String()+" ago)")
	row("Updated", d.UpdatedAt.Format(time.RFC3339))
	row("Attempts", fmt.Sprint(d.Attempts))
	row("National ID issued", fmt.Sprint(d.NationalIDIssued))
	row("Last error", d.LastError)
	row("Reject reason", d.RejectReason)
	row("Skip reason", d.SkipReason)
	row("Peer id", d.PeerID)
	if d.Stage != nil {
		row("MOSIP side stage", d.Stage.Status+" (rid "+d.Stage.RID+", "+d.Stage.UpdatedAt.Format(time.RFC3339)+")")
		row("Stage reason", d.Stage.Reason)
	}
	row("Retry would", d.Retry)
	if d.NextStatusCheck != nil {
		row("Next status check", d.NextStatusCheck.Format(time.RFC3339))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nEvents:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  AT\tFROM\tTO\tATTEMPT\tREASON")
	for _, e := range d.Events {
		from := string(e.From)
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", e.At.Format(time.RFC3339), from, e.To, e.Attempt, telemetry.Printable(e.Reason, 120))
	}
	tw.Flush()
	if len(d.Related) > 0 {
		fmt.Fprintln(w, "\nOther transactions of the record:")
		printList(w, admin.Page{Transactions: d.Related})
	}
}

func printCounts(w io.Writer, c admin.Counts) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tTRANSACTIONS")
	for _, st := range bridge.States {
		fmt.Fprintf(tw, "%s\t%d\n", st, c.ByState[st])
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d waiting", c.Waiting)
	if c.OldestWaitingID != "" {
		fmt.Fprintf(w, "; the oldest, %s, for %s", c.OldestWaitingID, time.Duration(c.OldestWaitingSeconds)*time.Second)
	}
	fmt.Fprintln(w)
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
