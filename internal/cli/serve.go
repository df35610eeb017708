package cli

import (
	"context"
	"fmt"
	"io"
	"net"

	"opencrvs-mosip/internal/app"
	"opencrvs-mosip/internal/mosipapi"
	"opencrvs-mosip/internal/store"
	"opencrvs-mosip/internal/telemetry"
)

func runServe(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("serve", "serve\n\nThe mediator reads its configuration from these environment variables:", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: opencrvs-mosip serve\n\nThe mediator reads its configuration from these environment variables:")
		app.PrintOptions(stderr)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := app.LoadConfig(env)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return serve(ctx, cfg, stderr)
}

// serve runs a mediator with cfg until ctx ends.
func serve(ctx context.Context, cfg app.Config, logOut io.Writer) error {
	log, err := telemetry.NewLogger(logOut, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	m, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		if err := servePprof(ctx, cfg.PprofAddr, log); err != nil {
			m.Close()
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		m.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return m.Run(ctx, ln)
}

func runMigrate(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := flags("migrate", migrateSynopsis, stderr)
	path := fs.String("sqlite", "", "SQLite database file (default: PostgreSQL when $DATABASE_URL is set, else $SQLITE_DATABASE_PATH, else data/opencrvs-mosip.sqlite)")
	from := fs.String("from-mosip-api", "", "then import the pending transactions of this Node mosip-api SQLite database (import.go)")
	deaths := fs.String("death-numbers", mosipapi.DefaultDeathNumbers, "with --from-mosip-api: a regular expression matching the registration numbers of deaths (the others are births)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, name, err := databaseConfig(env, *path)
	if err != nil {
		return err
	}
	var imp *mosipAPIImport
	if *from != "" {
		var err error
		if imp, err = newMosipAPIImport(env, *from, *deaths); err != nil {
			return err
		}
	}
	if imp != nil {
		cfg.Sealer = imp.sealer
	}
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is up to date\n", name)
	if imp != nil {
		return imp.run(ctx, st, stdout, stderr)
	}
	return nil
}
