package cli

import (
	"opencrvs-mosip/internal/store"
)

// databaseConfig is the database of the operators' commands (migrate, keys
// rotate), as serve finds it: the SQLite file --sqlite names when given;
// else PostgreSQL when DATABASE_URL (or the file DATABASE_URL_FILE names)
// is set; else the SQLite file $SQLITE_DATABASE_PATH, or
// data/opencrvs-mosip.sqlite. It returns the database's name for messages,
// never the URL, which may hold a password.
func databaseConfig(env Env, sqliteFlag string) (store.Config, string, error) {
	if sqliteFlag == "" {
		dbURL, err := secretFromEnv(env, "DATABASE_URL")
		if err != nil {
			return store.Config{}, "", err
		}
		if dbURL != "" {
			return store.Config{DatabaseURL: dbURL}, "PostgreSQL database (DATABASE_URL)", nil
		}
	}
	path := firstNonEmpty(sqliteFlag, env("SQLITE_DATABASE_PATH"), "data/opencrvs-mosip.sqlite")
	return store.Config{Path: path}, "database " + path, nil
}
