// Package storetest fills a mediator database with history: finished
// transactions, with their event logs and WebSub deliveries, written in bulk
// by SQL. The query plans test (internal/store) and the history benchmark
// (bench/history) share it.
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"opencrvs-mosip/internal/bridge"
)

// History describes the finished transactions Seed adds.
type History struct {
	// N is how many.
	N int
	// End is when the last of them was created; the others were created
	// Every apart before it (default one second). Their events and
	// deliveries follow within a few seconds of their creation.
	End   time.Time
	Every time.Duration
	// PacketBytes pads each transaction's stored MOSIP packet to about this
	// size (a real one is a few kilobytes: it is what makes the table
	// large); 0 stores a small one.
	PacketBytes int
	// Batch is how many transactions one database transaction adds
	// (default 20000).
	Batch int
	// Progress, if set, is called after each batch with how many
	// transactions are stored.
	Progress func(done int)
}

// The mix of outcomes, by i % 20 for the i-th transaction: 16 births
// confirmed, 2 refused by MOSIP and reported to OpenCRVS, 1 dead after
// submission, 1 death confirmed. Births that were confirmed got a UIN and a
// VID. Every fourth transaction is from OpenCRVS 1.9. Ids are unlike those
// the mediator makes (centre and machine 99999, tracking ids HIST...), so
// that records sent to a seeded mediator never meet them.
const (
	mixReported1, mixReported2, mixDead, mixDeath = 16, 17, 18, 19
	eventSpacingMS                                = 200 // between a transaction's events
)

// Seed adds h.N finished transactions (CONFIRMED, REPORTED and DEAD; births
// and deaths; OpenCRVS 1.8 and 1.9), each with its event log, and a WebSub
// delivery for each that MOSIP issued a credential for, to a database the
// store's migrations created and that holds no transaction yet. postgres
// says which dialect db speaks (false: SQLite). The counts per state follow
// through the schema's triggers.
func Seed(ctx context.Context, db *sql.DB, postgres bool, h History) error {
	if h.N <= 0 {
		return errors.New("storetest: nothing to seed: N must be positive")
	}
	every := h.Every
	if every <= 0 {
		every = time.Second
	}
	batch := h.Batch
	if batch <= 0 {
		batch = 20000
	}
	if h.End.IsZero() {
		h.End = time.Now()
	}
	var stored int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM transactions LIMIT 1) AS t`).Scan(&stored); err != nil {
		return fmt.Errorf("storetest: read the database (is it migrated?): %w", err)
	}
	if stored > 0 {
		return errors.New("storetest: the database already holds transactions: Seed fills a new one")
	}
	packet, err := json.Marshal(bridge.Packet{
		Process: bridge.ProcessNew,
		Fields: map[string]json.RawMessage{
			"fullName": json.RawMessage(`[{"language":"eng","value":"Seeded History"}]`),
			"padding":  json.RawMessage(`"` + strings.Repeat("x", max(0, h.PacketBytes-120)) + `"`),
		},
	})
	if err != nil {
		return err
	}
	q := seedQueries(postgres)
	base := h.End.UnixMilli() - int64(h.N-1)*every.Milliseconds()
	for lo := 0; lo < h.N; lo += batch {
		hi := min(lo+batch, h.N)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("storetest: begin: %w", err)
		}
		type stmt struct {
			what, query string
			args        []any
		}
		stmts := []stmt{
			{"transactions", q.transactions, []any{lo, hi, base, every.Milliseconds(), string(packet)}},
			{"events", q.events, []any{lo, hi, base, every.Milliseconds()}},
			{"deliveries", q.deliveries, []any{lo, hi, base, every.Milliseconds()}},
		}
		if postgres {
			// The counts per state: the trigger would update its row once
			// per transaction inserted, and PostgreSQL keeps every version
			// of it until the commit (a batch would take quadratic time).
			stmts = append([]stmt{{"counts", `ALTER TABLE transactions DISABLE TRIGGER transactions_count_insert`, nil}}, stmts...)
			stmts = append(stmts, stmt{"counts", `ALTER TABLE transactions ENABLE TRIGGER transactions_count_insert`, nil},
				stmt{"counts", q.counts, []any{lo, hi}})
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("storetest: seed %s %d to %d: %w", s.what, lo, hi, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("storetest: commit: %w", err)
		}
		if h.Progress != nil {
			h.Progress(hi)
		}
	}
	return nil
}

type queries struct{ transactions, events, deliveries, counts string }

// seedQueries are the three statements that add transactions lo to hi-1
// ($1, $2): their rows, their events, their deliveries. $3 is when
// transaction 0 was created (Unix ms), $4 the spacing (ms); the
// transactions' $5 is the packet.
func seedQueries(postgres bool) queries {
	pad := func(expr string, n int) string { return fmt.Sprintf(`printf('%%0%dd', %s)`, n, expr) }
	series := `SELECT CAST($1 AS INTEGER) UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < $2`
	if postgres {
		pad = func(expr string, n int) string { return fmt.Sprintf(`lpad(CAST(%s AS TEXT), %d, '0')`, expr, n) }
		series = `SELECT generate_series(CAST($1 AS BIGINT), CAST($2 AS BIGINT) - 1)`
	}
	// h: one row per transaction, with what the statements derive from.
	with := fmt.Sprintf(`WITH RECURSIVE seq(i) AS (%s),
		h AS (SELECT i, i %% 20 AS m, i %% 4 AS v, '9999999999' || %s AS id, 'HIST' || %s AS tracking,
			$3 + i * $4 AS created FROM seq)
		`, series, pad("i", 19), pad("i", 9))
	kind := fmt.Sprintf(`CASE m WHEN %d THEN 'death' ELSE 'birth' END`, mixDeath)
	final := fmt.Sprintf(`CASE m WHEN %d THEN 'REPORTED' WHEN %d THEN 'REPORTED' WHEN %d THEN 'DEAD' ELSE 'CONFIRMED' END`,
		mixReported1, mixReported2, mixDead)
	confirmedBirth := fmt.Sprintf(`m < %d`, mixReported1)
	refused := fmt.Sprintf(`m IN (%d, %d)`, mixReported1, mixReported2)
	var b strings.Builder
	fmt.Fprintf(&b, `%sINSERT INTO transactions (id, dedupe_key, event_kind, opencrvs_version, intake, record_id,
			action_id, tracking_id, registration_number, state, token, packet, attempts, last_error, uin, vid,
			created_at, updated_at, reject_reason, dead_from, check_at, checks)
		SELECT id, %[2]s || ':' || tracking, %[2]s,
			CASE v WHEN 3 THEN '1.9' ELSE '1.8' END,
			CASE v WHEN 3 THEN 'event-document' WHEN 1 THEN 'mapped' ELSE 'fhir' END,
			'hist-record-' || %[3]s,
			CASE v WHEN 3 THEN 'hist-action-' || %[3]s ELSE '' END,
			tracking, 'HIST' || %[4]s, %[5]s, NULL, CAST($5 AS TEXT),
			CASE m WHEN %[6]d THEN 5 ELSE 1 END,
			CASE WHEN %[7]s THEN 'RPR-MVS-001: the packet failed validation' WHEN m = %[6]d THEN 'MOSIP did not answer in time' ELSE '' END,
			CASE WHEN %[8]s THEN '9' || %[9]s ELSE '' END,
			CASE WHEN %[8]s THEN '9' || %[10]s ELSE '' END,
			created, created + %[11]d,
			CASE WHEN %[7]s THEN 'The record failed MOSIP validation' ELSE '' END,
			CASE m WHEN %[6]d THEN 'SUBMITTED' ELSE '' END,
			created + 60000, 0
		FROM h ORDER BY i`,
		with, kind, pad("i", 12), pad("i", 12), final, mixDead, refused, confirmedBirth, pad("i", 9), pad("i", 15), 3*eventSpacingMS)
	transactions := b.String()

	// Events: accepted, submitted, then issued and confirmed, refused and
	// reported, or dead (three events).
	events := fmt.Sprintf(`%s, steps(k) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)
		INSERT INTO transaction_events (transaction_id, at, from_state, to_state, reason, attempt)
		SELECT id, created + k * %d,
			CASE k WHEN 0 THEN '' WHEN 1 THEN 'QUEUED' WHEN 2 THEN 'SUBMITTED'
				ELSE CASE WHEN %[3]s THEN 'REJECTED_BY_MOSIP' ELSE 'ISSUED' END END,
			CASE k WHEN 0 THEN 'QUEUED' WHEN 1 THEN 'SUBMITTED'
				WHEN 2 THEN CASE WHEN %[3]s THEN 'REJECTED_BY_MOSIP' WHEN m = %[4]d THEN 'DEAD' ELSE 'ISSUED' END
				ELSE CASE WHEN %[3]s THEN 'REPORTED' ELSE 'CONFIRMED' END END,
			CASE k WHEN 0 THEN 'accepted: seeded history' WHEN 1 THEN 'MOSIP accepted the packet'
				WHEN 2 THEN CASE WHEN %[3]s THEN 'MOSIP refused the packet' WHEN m = %[4]d THEN 'retries exhausted' ELSE 'credential issued' END
				ELSE CASE WHEN %[3]s THEN 'OpenCRVS told' ELSE 'OpenCRVS registered the record' END END,
			CASE k WHEN 0 THEN 0 ELSE 1 END
		FROM h CROSS JOIN steps
		WHERE k < CASE m WHEN %[4]d THEN 3 ELSE 4 END
		ORDER BY i, k`, with, eventSpacingMS, refused, mixDead)

	// A delivery for each credential MOSIP issued.
	deliveries := fmt.Sprintf(`%sINSERT INTO websub_deliveries (event_id, received_at, transaction_id, outcome, detail)
		SELECT 'hist-event-' || %s, created + %d, id, 'applied', '' FROM h
		WHERE m < %d OR m = %d ORDER BY i`, with, pad("i", 12), 2*eventSpacingMS+100, mixReported1, mixDeath)
	// PostgreSQL: the counts the trigger would have added (migration 0006).
	counts := fmt.Sprintf(`WITH RECURSIVE seq(i) AS (%s)
		SELECT transaction_state_count_add(st, count(*)) FROM (SELECT %s AS st FROM (SELECT i %% 20 AS m FROM seq) AS h) AS f
		GROUP BY st`, series, final)
	return queries{transactions: transactions, events: events, deliveries: deliveries, counts: counts}
}
