package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"opencrvs-mosip/internal/store"
)

const keysSynopsis = `keys generate [--id ID] | keys rotate [--sqlite PATH] | keys demo [--dir DIR]

generate prints a new STORE_ENCRYPTION_KEY entry. To change keys, put the
new entry first and keep the old one after it (comma-separated), restart,
run rotate (it re-encrypts every stored token with the first key), then
drop the old entry. demo writes the keys of a demonstration with the
simulators (never for production).`

func runKeys(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "demo" {
		return runKeysDemo(args[1:], stdout, stderr) // demo.go
	}
	if len(args) == 0 || (args[0] != "generate" && args[0] != "rotate") {
		fmt.Fprintf(stderr, "Usage: opencrvs-mosip %s\n", keysSynopsis)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	fs := flags("keys "+args[0], keysSynopsis, stderr)
	id := fs.String("id", "k"+time.Now().UTC().Format("20060102"), "generate: the key's id")
	path := fs.String("sqlite", "", "rotate: SQLite database file (default: PostgreSQL when $DATABASE_URL is set, else $SQLITE_DATABASE_PATH, else data/opencrvs-mosip.sqlite)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if args[0] == "generate" {
		line, err := store.GenerateKey(*id)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
		return nil
	}
	spec, err := secretFromEnv(env, "STORE_ENCRYPTION_KEY")
	if err != nil {
		return err
	}
	if spec == "" {
		return errors.New("STORE_ENCRYPTION_KEY (or STORE_ENCRYPTION_KEY_FILE) is required: the keys to rotate with")
	}
	sealer, err := store.ParseKeys(spec)
	if err != nil {
		return fmt.Errorf("STORE_ENCRYPTION_KEY: %w", err)
	}
	dbCfg, _, err := databaseConfig(env, *path)
	if err != nil {
		return err
	}
	dbCfg.MustExist, dbCfg.Sealer = true, sealer
	st, err := store.Open(ctx, dbCfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	n, err := st.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d tokens re-encrypted with key %s; keys after it can now be removed\n", n, sealer.CurrentKeyID())
	return nil
}

// secretFromEnv reads NAME, or the file NAME_FILE names.
func secretFromEnv(env Env, name string) (string, error) {
	v, file := strings.TrimSpace(env(name)), strings.TrimSpace(env(name+"_FILE"))
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("set either %s or %s_FILE, not both", name, name)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return v, nil
}
