package tmpdeps

import (
	_ "github.com/expr-lang/expr"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/go-jose/go-jose/v4/jwt"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/itchyny/gojq"
	_ "github.com/riverqueue/river"
	_ "github.com/riverqueue/river/riverdriver/riversqlite"
	_ "github.com/riverqueue/river/rivermigrate"
	_ "go.yaml.in/yaml/v3"
	_ "modernc.org/sqlite"
	_ "software.sslmate.com/src/go-pkcs12"
)
