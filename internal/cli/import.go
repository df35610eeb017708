package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"

	"opencrvs-mosip/internal/mosipapi"
	"opencrvs-mosip/internal/store"
)

const migrateSynopsis = `migrate [--sqlite PATH] [--from-mosip-api FILE.db [--death-numbers REGEX]]

Applies the database migrations (PostgreSQL's when DATABASE_URL or
DATABASE_URL_FILE is set, as for serve). With --from-mosip-api it then imports the
registrations a Node mosip-api sent to MOSIP and that still wait for their
credential (its SQLite database, read-only), so that the credentials MOSIP
issues after the switch find their record. Running it again imports
nothing twice. It needs STORE_ENCRYPTION_KEY (or _FILE): the imported
OpenCRVS tokens are stored encrypted. Stop mosip-api first;
docs/switching-from-mosip-api.md has the whole procedure.`

// mosipAPIImport is `migrate --from-mosip-api`.
type mosipAPIImport struct {
	path   string
	sealer *store.Sealer
	opts   mosipapi.Options
	// aidFormat and aidPrefix are this mediator's AID settings, to warn
	// when its own ids could repeat mosip-api's.
	aidFormat, aidPrefix string
}

func newMosipAPIImport(env Env, path, deathNumbers string) (*mosipAPIImport, error) {
	deaths, err := regexp.Compile(deathNumbers)
	if err != nil {
		return nil, fmt.Errorf("--death-numbers: %w", err)
	}
	spec, err := secretFromEnv(env, "STORE_ENCRYPTION_KEY")
	if err != nil {
		return nil, err
	}
	if spec == "" {
		return nil, errors.New("--from-mosip-api needs STORE_ENCRYPTION_KEY (or STORE_ENCRYPTION_KEY_FILE), the one the mediator runs with: the imported OpenCRVS tokens are stored encrypted")
	}
	sealer, err := store.ParseKeys(spec)
	if err != nil {
		return nil, fmt.Errorf("STORE_ENCRYPTION_KEY: %w", err)
	}
	return &mosipAPIImport{
		path: path, sealer: sealer, opts: mosipapi.Options{DeathNumbers: deaths},
		aidFormat: firstNonEmpty(env("AID_FORMAT"), "rid"), aidPrefix: firstNonEmpty(env("TRANSACTION_ID_PREFIX"), "10001"),
	}, nil
}

func (m *mosipAPIImport) run(ctx context.Context, st *store.Store, stdout, stderr io.Writer) error {
	rep, err := mosipapi.Import(ctx, st, m.path, m.opts)
	if err != nil && rep.Rows == 0 {
		return err
	}
	fmt.Fprintf(stdout, "mosip-api database %s: %d pending transaction(s)\n", m.path, rep.Rows)
	fmt.Fprintf(stdout, "  imported now:          %d (births %d, deaths %d; OpenCRVS 1.8: %d, 1.9: %d)\n",
		rep.Imported, rep.Births, rep.Deaths, rep.OpenCRVS18, rep.OpenCRVS19)
	fmt.Fprintf(stdout, "  imported before:       %d\n", rep.AlreadyImported)
	fmt.Fprintf(stdout, "  sent here by OpenCRVS: %d\n", rep.Conflicts)
	fmt.Fprintf(stdout, "  unusable:              %d\n", rep.Unusable)
	for _, p := range rep.Problems {
		fmt.Fprintf(stderr, "transaction %s: %s\n", p.ID, p.Reason)
	}
	if rep.ExpiredTokens > 0 {
		fmt.Fprintf(stderr, "warning: %d imported record(s) carry an OpenCRVS token that has expired: they cannot be confirmed until OpenCRVS sends them again (the fresh token replaces the old one); `opencrvs-mosip tx list --state DEAD` shows them once MOSIP has answered\n", rep.ExpiredTokens)
	}
	if m.aidFormat == "prefixed" {
		fmt.Fprintf(stderr, "warning: AID_FORMAT=prefixed counts up from %s0000000001, and mosip-api's ids were %s plus 10 random digits: an id of this mediator could repeat one MOSIP already holds. Keep AID_FORMAT=rid (the default) or use another TRANSACTION_ID_PREFIX.\n", m.aidPrefix, m.aidPrefix)
	}
	return err
}
