package cli

import (
	"context"
	"fmt"
	"io"
	"net"

	"opencrvs-mosip/internal/app"
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
	fs := flags("migrate", "migrate [--sqlite PATH]", stderr)
	path := fs.String("sqlite", "", "SQLite database file (default: $SQLITE_DATABASE_PATH, else data/opencrvs-mosip.sqlite)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" {
		*path = env("SQLITE_DATABASE_PATH")
	}
	if *path == "" {
		*path = "data/opencrvs-mosip.sqlite"
	}
	st, err := store.Open(ctx, store.Config{Path: *path})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is up to date\n", *path)
	return nil
}
