package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// What TestQueryPlans calls a read that grows with the history: a full
// scan of a table; a walk of a whole index, unless a LIMIT stops it after
// a page of rows in the index's order; or a search of an index range that
// no identifier, live state or time window narrows, again unless a LIMIT
// stops it. A LIMIT stops a walk only when the rows it looks for are
// common: not when the statement looks for an identifier (a walk through
// every death, newest first, to find one registration number reads them
// all), which the plan must then use.
//
// SQLite plans without statistics, the same at any size. PostgreSQL plans
// by cost, from the statistics of this small history: a page of a listing
// may be planned here as a bitmap of a state's rows and a sort, which at a
// million rows becomes a walk of the same index in order. There, a range
// that does not narrow is accepted in a statement with a LIMIT (and no
// identifier): the SQLite half checks that an index yields its order (the
// same statement on the same indexes).

// tinyTables may be read whole: they never grow with the history.
var tinyTables = map[string]string{
	"id_sequences":             "two counters",
	"transaction_state_counts": "a row per state (on PostgreSQL per state and connection shard: at most 10 × 64)",
	"rate_limits":              "a row per rate limit",
	"shared_state":             "a row per shared key (the WebSub subscriptions)",
	"readiness_probe":          "one row",
	"river_leader":             "one row: the job queue's leader",
	"pg_database":              "PostgreSQL's catalog: a row per database",
}

// identifying columns pick one record's rows, however long the history.
var identifying = []string{
	"id", "rowid", "dedupe_key", "record_id", "tracking_id", "registration_number", "uin", "vid",
	"transaction_id", "event_id", "name", "key", "peer_id", "txn_id", "rid",
}

// timeColumns narrow a search to a window of time when bounded on both
// sides (Throughput's buckets); one-sided, they reach back to the start.
var timeColumns = []string{"created_at", "at", "received_at", "check_at", "scheduled_at", "finalized_at"}

// finalStates are the states history accumulates in (the transactions',
// then River's jobs'). A search by state narrows to the live rows only
// when the statement names none of them.
var finalStates = regexp.MustCompile(`\b(CONFIRMED|REPORTED|DEAD|CANCELLED|completed|cancelled|discarded)\b`)

var (
	stateValue = regexp.MustCompile(`\bstate = (?:ANY \()?('(?:[^']|'')*')`)
	literal    = regexp.MustCompile(`'(?:[^']|'')*'`)
	identifier = regexp.MustCompile(`[a-z_][a-z0-9_]*`)
	limitWord  = regexp.MustCompile(`(?i)\bLIMIT\b`)
)

var identifierEq = regexp.MustCompile(`\b(` + strings.Join(identifying, "|") + `)\s*=\s*(\$\d|')`)

// seeksIdentifier reports whether st looks for rows by an identifier.
func seeksIdentifier(st recorded) bool { return identifierEq.MatchString(st.query) }

// namesFinalState reports whether st names a final state, in its text or
// its arguments.
func namesFinalState(st recorded) bool {
	if finalStates.MatchString(st.query) {
		return true
	}
	for _, a := range st.args {
		if finalStates.MatchString(fmt.Sprint(a)) {
			return true
		}
	}
	return false
}

// narrows reports whether an index condition (SQLite's "(state=? AND
// check_at<?)", PostgreSQL's Index Cond) keeps the rows read to a record's,
// the live ones, or a window of time.
func narrows(st recorded, cond string) bool {
	// The states searched: PostgreSQL's condition names them, SQLite's
	// has a ? for them (then the statement's must do).
	var live bool
	if m := stateValue.FindStringSubmatch(cond); m != nil {
		live = !finalStates.MatchString(m[1])
	} else {
		live = !namesFinalState(st)
	}
	cond = literal.ReplaceAllString(cond, "''")
	cols := identifier.FindAllString(cond, -1)
	for _, c := range cols {
		if slices.Contains(identifying, c) {
			return true
		}
		if c == "state" && live {
			return true
		}
		if slices.Contains(timeColumns, c) &&
			regexp.MustCompile(`\b`+c+`\s*>`).MatchString(cond) && regexp.MustCompile(`\b`+c+`\s*<`).MatchString(cond) {
			return true
		}
	}
	return false
}

// sqlitePlan returns SQLite's plan of st, a line per step.
func sqlitePlan(ctx context.Context, s *Store, st recorded) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.query, st.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, err
		}
		plan = append(plan, detail)
	}
	return plan, rows.Err()
}

var sqliteStep = regexp.MustCompile(`^(SCAN|SEARCH) (\S+)(?: USING (.*))?$`)

// sqliteProblems lists the steps of plan that read history in full.
// tables are the database's tables (other names are subqueries).
func sqliteProblems(st recorded, plan []string, tables map[string]bool) []string {
	text := strings.Join(plan, "\n")
	// A LIMIT stops an index walk after a page, unless the rows are
	// sorted first (all of them read).
	bounded := limitWord.MatchString(st.query) && !seeksIdentifier(st) &&
		!regexp.MustCompile(`USE TEMP B-TREE FOR (ORDER|GROUP) BY`).MatchString(text)
	var out []string
	for _, line := range plan {
		m := sqliteStep.FindStringSubmatch(line)
		if m == nil || !tables[m[2]] || tinyTables[m[2]] != "" {
			continue
		}
		using := m[3]
		switch {
		case strings.Contains(using, "AUTOMATIC"):
			out = append(out, line+": builds an index from the whole table")
		case m[1] == "SCAN" && !strings.Contains(using, "INDEX"):
			out = append(out, line+": reads the whole table")
		case m[1] == "SCAN" && !bounded:
			out = append(out, line+": reads the whole index, with no LIMIT to stop it in the index's order")
		case m[1] == "SEARCH":
			cond := ""
			if i := strings.Index(using, "("); i >= 0 {
				cond = using[i:]
			}
			if !narrows(st, cond) && !bounded {
				out = append(out, line+": the index range grows with the history (no identifier, live state or time window narrows it, no LIMIT stops it)")
			}
		}
	}
	return out
}

// postgresPlan returns PostgreSQL's plan of st (EXPLAIN's JSON) with
// sequential scans off: a table is then read in full only when no index
// can serve the statement.
func postgresPlan(ctx context.Context, s *Store, st recorded) (map[string]any, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		return nil, err
	}
	var out string
	if err := tx.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+st.query, st.args...).Scan(&out); err != nil {
		return nil, err
	}
	var plans []struct {
		Plan map[string]any `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		return nil, fmt.Errorf("EXPLAIN's JSON: %v: %s", err, out)
	}
	return plans[0].Plan, nil
}

// streaming nodes hand rows on as they come: a LIMIT above them still
// stops the scans below (a Nested Loop: its outer side).
var streaming = []string{"Limit", "Result", "Subquery Scan", "Append", "Merge Append", "LockRows", "Nested Loop"}

// postgresIndexes returns the key columns of every index, in order.
func postgresIndexes(ctx context.Context, s *Store) (map[string][]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid, k, true)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid, generate_series(1, i.indnkeyatts) AS k
		WHERE c.relnamespace = current_schema()::regnamespace ORDER BY c.relname, k`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var index, col string
		if err := rows.Scan(&index, &col); err != nil {
			return nil, err
		}
		out[index] = append(out[index], col)
	}
	return out, rows.Err()
}

var indexClause = regexp.MustCompile(`^\(*\s*(?:[a-z_][a-z0-9_]*\.)?([a-z_][a-z0-9_]*)\s*(=|<>|<=|>=|<|>)`)

// searchedCond keeps of PostgreSQL's Index Cond the clauses that bound the
// range of index entries read: those on the index's leading columns while
// they are compared for equality, and on the first compared otherwise. (A
// condition on a later column is checked on every entry of that range.)
func searchedCond(cond string, columns []string) string {
	if columns == nil {
		return cond
	}
	clauses := splitAnd(cond)
	var kept []string
	for _, col := range columns {
		eq, found := false, false
		for _, c := range clauses {
			m := indexClause.FindStringSubmatch(c)
			if m == nil || m[1] != col {
				continue
			}
			found = true
			kept = append(kept, c)
			eq = eq || m[2] == "="
		}
		if !found || !eq {
			break
		}
	}
	return strings.Join(kept, " AND ")
}

// splitAnd splits cond at the ANDs outside its string literals.
func splitAnd(cond string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(cond); i++ {
		switch {
		case cond[i] == '\'':
			quoted = !quoted // '' inside a literal toggles twice
		case !quoted && strings.HasPrefix(cond[i:], " AND "):
			out = append(out, cond[start:i])
			start = i + len(" AND ")
			i = start - 1
		}
	}
	return append(out, cond[start:])
}

// postgresProblems lists the nodes of plan that read history in full;
// indexes are the key columns of each index.
func postgresProblems(st recorded, plan map[string]any, indexes map[string][]string) []string {
	var out []string
	// A range that does not narrow is costed, not ruled out (see above).
	costed := limitWord.MatchString(st.query) && !seeksIdentifier(st)
	var walk func(n map[string]any, bounded bool, heap string)
	walk = func(n map[string]any, bounded bool, heap string) {
		typ, _ := n["Node Type"].(string)
		rel, _ := n["Relation Name"].(string)
		cond, _ := n["Index Cond"].(string)
		idx, _ := n["Index Name"].(string)
		if rel == "" {
			rel = heap
		}
		what := fmt.Sprintf("%s on %s", typ, rel)
		if idx != "" {
			what += " using " + idx
		}
		if cond != "" {
			what += " (" + cond + ")"
		}
		tiny := tinyTables[rel] != ""
		switch typ {
		case "Seq Scan":
			if !tiny {
				out = append(out, what+": reads the whole table although sequential scans are off: no index serves it")
			}
		case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
			// A bitmap is built from every matching entry: a LIMIT does
			// not stop it.
			bounded = bounded && typ != "Bitmap Index Scan" && !seeksIdentifier(st)
			switch {
			case tiny:
			case cond == "" && !bounded:
				out = append(out, what+": reads the whole index, with no LIMIT to stop it in the index's order")
			case cond != "" && !narrows(st, searchedCond(cond, indexes[idx])) && !bounded && !costed:
				out = append(out, what+": the index range grows with the history (no identifier, live state or time window narrows it, no LIMIT stops it)")
			}
		}
		children, _ := n["Plans"].([]any)
		for i, c := range children {
			child, ok := c.(map[string]any)
			if !ok {
				continue
			}
			b := typ == "Limit" || (bounded && slices.Contains(streaming, typ) && (typ != "Nested Loop" || i == 0))
			h := ""
			if typ == "Bitmap Heap Scan" || typ == "BitmapOr" || typ == "BitmapAnd" {
				h = rel
			}
			walk(child, b, h)
		}
	}
	walk(plan, false, "")
	return out
}

// postgresSummary is plan in a line: its nodes, depth first.
func postgresSummary(plan map[string]any) string {
	var parts []string
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		p, _ := n["Node Type"].(string)
		if rel, _ := n["Relation Name"].(string); rel != "" {
			p += " " + rel
		}
		if idx, _ := n["Index Name"].(string); idx != "" {
			p += " using " + idx
		}
		if cond, _ := n["Index Cond"].(string); cond != "" {
			p += " " + cond
		}
		parts = append(parts, p)
		children, _ := n["Plans"].([]any)
		for _, c := range children {
			if child, ok := c.(map[string]any); ok {
				walk(child)
			}
		}
	}
	walk(plan)
	return strings.Join(parts, "; ")
}

// PostgreSQL's Index Cond names every column the index checks, but only
// the leading ones bound the entries read.
func TestSearchedCond(t *testing.T) {
	stateCreatedID := []string{"state", "created_at", "id"}
	for _, c := range []struct {
		cond    string
		columns []string
		want    string
	}{
		{"((state = 'DEAD'::text) AND (id = '1'::text))", stateCreatedID, "((state = 'DEAD'::text)"},
		{"((state = 'DEAD'::text) AND (created_at = '5'::bigint) AND (id = '1'::text))", stateCreatedID,
			"((state = 'DEAD'::text) AND (created_at = '5'::bigint) AND (id = '1'::text))"},
		{"((state = 'DEAD'::text) AND (created_at < '5'::bigint) AND (id = '1'::text))", stateCreatedID,
			"((state = 'DEAD'::text) AND (created_at < '5'::bigint)"},
		{"((event_kind = 'birth'::text) AND (tracking_id = 'x AND y'::text))", []string{"event_kind", "tracking_id", "created_at"},
			"((event_kind = 'birth'::text) AND (tracking_id = 'x AND y'::text))"},
		{"(created_at < '5'::bigint)", []string{"state", "created_at", "id"}, ""},
	} {
		if got := searchedCond(c.cond, c.columns); got != c.want {
			t.Errorf("searchedCond(%q, %v) = %q, want %q", c.cond, c.columns, got, c.want)
		}
	}
	dead := recorded{query: `UPDATE transactions SET state = 'QUEUED' WHERE id = $1 AND state = 'DEAD'`}
	if narrows(dead, searchedCond("((state = 'DEAD'::text) AND (id = '1'::text))", stateCreatedID)) {
		t.Error("a search of every DEAD transaction for one id narrows, it says")
	}
	if !narrows(dead, "(id = '1'::text)") {
		t.Error("a search by id does not narrow, it says")
	}
	// The condition's states decide, when it names them.
	if !narrows(dead, "((state = 'ISSUED'::text) AND (id = '1'::text))") {
		t.Error("a search of the ISSUED transactions does not narrow, it says")
	}
	if narrows(recorded{query: "x"}, "(state = ANY ('{QUEUED,CONFIRMED}'::text[]))") {
		t.Error("a search of the CONFIRMED transactions narrows, it says")
	}
}
