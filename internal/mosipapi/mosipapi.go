// Package mosipapi reads the database of OpenCRVS's Node mosip-api, so
// that a country switching to this mediator keeps the registrations that
// mosip-api sent to MOSIP and that still wait for their credential.
//
// mosip-api keeps one SQLite table (packages/mosip-api, both 1.8 and 1.9):
//
//	CREATE TABLE transactions (
//	  id TEXT PRIMARY KEY,                 -- the packet's registration id (AID)
//	  token TEXT UNIQUE NOT NULL,          -- the OpenCRVS bearer token of the record
//	  registration_number TEXT UNIQUE NOT NULL,
//	  created_at TEXT NOT NULL DEFAULT (datetime('now'))   -- UTC 'YYYY-MM-DD HH:MM:SS'
//	) STRICT
//
// A row is written when mosip-api sends a packet to MOSIP and deleted when
// the credential arrives, so every row is a record waiting for MOSIP. Each
// becomes a SUBMITTED transaction whose AID is the row's id: the credential
// MOSIP issues after the switch finds it, and the mediator confirms the
// record in OpenCRVS with the row's token (GraphQL for a 1.8 record token,
// tRPC for a 1.9 action token). mosip-api kept no packet, so the mediator
// cannot send one again: a transaction MOSIP has lost ends DEAD, with a
// reason saying to send the record again from OpenCRVS.
package mosipapi

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"opencrvs-mosip/internal/bridge"
	"opencrvs-mosip/internal/opencrvs"
	"opencrvs-mosip/internal/store"
)

// Row is one row of mosip-api's transactions table. Token is secret: never
// logged or printed.
type Row struct {
	ID                 string
	Token              string
	RegistrationNumber string
	// CreatedAt is when mosip-api sent the packet (zero if unreadable).
	CreatedAt time.Time
}

// createdAtLayout is SQLite's datetime('now').
const createdAtLayout = "2006-01-02 15:04:05"

// ReadDatabase reads every row of the mosip-api database at path, oldest
// first. It opens the file read-only: the database stays as mosip-api
// left it, for a roll back.
func ReadDatabase(ctx context.Context, path string) ([]Row, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("mosip-api database: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "busy_timeout(5000)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("mosip-api database %s: %w", path, err)
	}
	defer db.Close()
	if err := checkSchema(ctx, db); err != nil {
		return nil, fmt.Errorf("mosip-api database %s: %w", path, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT id, token, registration_number, created_at FROM transactions ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("mosip-api database %s: %w", path, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var created string
		if err := rows.Scan(&r.ID, &r.Token, &r.RegistrationNumber, &created); err != nil {
			return nil, fmt.Errorf("mosip-api database %s: %w", path, err)
		}
		if t, err := time.Parse(createdAtLayout, created); err == nil {
			r.CreatedAt = t.UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mosip-api database %s: %w", path, err)
	}
	return out, nil
}

// checkSchema refuses a database whose transactions table is not exactly
// mosip-api's (another file given by mistake, this mediator's own, say).
func checkSchema(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('transactions')`)
	if err != nil {
		return fmt.Errorf("not a readable SQLite database: %w", err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		cols[name] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, c := range []string{"id", "token", "registration_number", "created_at"} {
		if !cols[c] {
			missing = append(missing, c)
		}
	}
	if len(cols) == 0 {
		return errors.New("no transactions table: not a mosip-api database")
	}
	if len(missing) > 0 {
		return fmt.Errorf("the transactions table lacks %s: not a mosip-api database", strings.Join(missing, ", "))
	}
	if len(cols) != 4 {
		// This mediator's own table has these columns and many more.
		return fmt.Errorf("the transactions table has %d columns where mosip-api's has 4: not a mosip-api database (an opencrvs-mosip database?)", len(cols))
	}
	return nil
}

// DefaultDeathNumbers matches the registration numbers of deaths in
// OpenCRVS's reference country configurations: the year, then the
// record's tracking id, which starts with D for a death (B for a birth).
const DefaultDeathNumbers = `^[0-9]{4}D`

// trackingInNumber finds the tracking id in a registration number of the
// reference form <year><7-character tracking id>.
var trackingInNumber = regexp.MustCompile(`^[0-9]{4}([A-Z0-9]{7})$`)

// Options of the conversion.
type Options struct {
	// DeathNumbers matches the registration numbers of deaths; the other
	// rows are births. mosip-api's table does not say which a row is
	// (default DefaultDeathNumbers).
	DeathNumbers *regexp.Regexp
	// Now is the clock tokens are checked against (default time.Now).
	Now func() time.Time
}

// Convert turns a row into the SUBMITTED transaction that waits for the
// row's credential, and the dedupe key a resend of the record from OpenCRVS
// computes. The token says which record and OpenCRVS version it is for: a
// 1.8 record token carries recordId, a 1.9 action token eventId and
// actionId (read without verification: OpenCRVS checks it when the
// mediator uses it).
func Convert(r Row, opts Options) (*bridge.Transaction, string, error) {
	deaths := opts.DeathNumbers
	if deaths == nil {
		deaths = regexp.MustCompile(DefaultDeathNumbers)
	}
	if r.ID == "" {
		return nil, "", errors.New("no id")
	}
	if r.RegistrationNumber == "" {
		return nil, "", errors.New("no registration number")
	}
	claims, err := tokenClaims(r.Token)
	if err != nil {
		return nil, "", err
	}
	tr := &bridge.Transaction{
		ID:                 r.ID,
		Kind:               bridge.EventBirth,
		Intake:             bridge.IntakeMosipAPI,
		RegistrationNumber: r.RegistrationNumber,
		State:              bridge.StateSubmitted,
		Token:              r.Token,
		CreatedAt:          r.CreatedAt,
	}
	switch {
	case claims.EventID != "" && claims.ActionID != "":
		tr.Version, tr.RecordID, tr.ActionID = bridge.OpenCRVS19, claims.EventID, claims.ActionID
	case claims.RecordID != "":
		tr.Version, tr.RecordID = bridge.OpenCRVS18, claims.RecordID
	default:
		return nil, "", errors.New("the token names no OpenCRVS record (neither recordId nor eventId and actionId)")
	}
	if deaths.MatchString(r.RegistrationNumber) {
		tr.Kind = bridge.EventDeath
	}
	dedupe := "mosip-api:" + r.ID
	if m := trackingInNumber.FindStringSubmatch(r.RegistrationNumber); m != nil {
		tr.TrackingID = m[1]
		// What the intake computes for this record: a resend from OpenCRVS
		// (with a fresh token) finds this transaction.
		dedupe = string(tr.Kind) + ":" + tr.TrackingID
	}
	return tr, dedupe, nil
}

// tokenClaims decodes a JWT's claims without verifying it.
func tokenClaims(token string) (*opencrvs.Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the token's claims are not base64url")
	}
	var c opencrvs.Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("the token's claims are not JSON")
	}
	return &c, nil
}

// Problem is a row that was not imported, and why (never its token).
type Problem struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Report says what an import found and did.
type Report struct {
	// Rows is how many rows the mosip-api database holds.
	Rows int `json:"rows"`
	// Imported were stored now; AlreadyImported by an earlier run.
	Imported        int `json:"imported"`
	AlreadyImported int `json:"alreadyImported"`
	// Conflicts: OpenCRVS had already sent the record to this mediator.
	Conflicts int `json:"conflicts"`
	// Unusable rows could not be read (see Problems).
	Unusable int `json:"unusable"`
	// Of the rows imported now:
	Births     int `json:"births"`
	Deaths     int `json:"deaths"`
	OpenCRVS18 int `json:"opencrvs18"`
	OpenCRVS19 int `json:"opencrvs19"`
	// ExpiredTokens counts imported rows whose OpenCRVS token has expired:
	// their confirmation will fail until the record is sent again from
	// OpenCRVS (its fresh token replaces the old one).
	ExpiredTokens int       `json:"expiredTokens"`
	Problems      []Problem `json:"problems,omitempty"`
}

// Import reads the mosip-api database at path and stores its rows in st as
// SUBMITTED transactions. Running it again imports nothing twice.
func Import(ctx context.Context, st *store.Store, path string, opts Options) (Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	rows, err := ReadDatabase(ctx, path)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Rows: len(rows)}
	var items []store.ImportItem
	for _, r := range rows {
		tr, dedupe, err := Convert(r, opts)
		if err != nil {
			rep.Unusable++
			rep.Problems = append(rep.Problems, Problem{ID: r.ID, Reason: err.Error()})
			continue
		}
		reason := "imported from the mosip-api database: its packet was sent to MOSIP"
		if !r.CreatedAt.IsZero() {
			reason += " at " + r.CreatedAt.Format(time.RFC3339)
		}
		items = append(items, store.ImportItem{Transaction: tr, DedupeKey: dedupe, Reason: reason})
	}
	outcomes, err := st.Import(ctx, items)
	for i, o := range outcomes {
		tr := items[i].Transaction
		switch o {
		case store.ImportPresent:
			rep.AlreadyImported++
		case store.ImportConflict:
			rep.Conflicts++
			rep.Problems = append(rep.Problems, Problem{ID: tr.ID, Reason: "OpenCRVS already sent this record to the mediator (transaction " + items[i].DedupeKey + "); the mosip-api row is not needed"})
		case store.ImportInserted:
			rep.Imported++
			if tr.Kind == bridge.EventDeath {
				rep.Deaths++
			} else {
				rep.Births++
			}
			if tr.Version == bridge.OpenCRVS19 {
				rep.OpenCRVS19++
			} else {
				rep.OpenCRVS18++
			}
			if c, err := tokenClaims(tr.Token); err == nil && c.Expiry > 0 && !now().Before(time.Unix(c.Expiry, 0)) {
				rep.ExpiredTokens++
			}
		}
	}
	return rep, err
}
