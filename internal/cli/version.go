package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// Build information, set by `make release` and `make build`:
//
//	-ldflags "-X opencrvs-mosip/internal/cli.Version=v1.2.3
//	          -X opencrvs-mosip/internal/cli.Commit=<git commit>
//	          -X opencrvs-mosip/internal/cli.BuildDate=<RFC 3339 time>"
//
// A plain `go build` or `go run` leaves them empty; BuildInfo then reads
// what the Go toolchain recorded (the module version of `go install
// pkg@version`, the VCS revision and commit time of a checkout).
var (
	Version   = ""
	Commit    = ""
	BuildDate = ""
)

// BuildInfo is what `opencrvs-mosip version` prints.
type BuildInfo struct {
	Version, Commit, Date string
}

// ReadBuildInfo returns the build information: the -X values, else the
// toolchain's, else "dev"/"unknown".
func ReadBuildInfo() BuildInfo {
	return buildInfo(Version, Commit, BuildDate, debug.ReadBuildInfo)
}

func buildInfo(version, commit, date string, read func() (*debug.BuildInfo, bool)) BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date}
	if info, ok := read(); ok {
		var modified bool
		var rev, at string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if b.Commit == "" && rev != "" {
			b.Commit = rev
			if modified {
				b.Commit += "-dirty"
			}
		}
		if b.Date == "" {
			b.Date = at
		}
		if v := info.Main.Version; b.Version == "" && v != "" && v != "(devel)" {
			b.Version = v
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

func (b BuildInfo) String() string {
	return fmt.Sprintf("opencrvs-mosip %s (commit %s, built %s)", b.Version, b.Commit, b.Date)
}

func runVersion(_ context.Context, args []string, _ Env, stdout, stderr io.Writer) error {
	if err := parse(flags("version", "version", stderr), args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, ReadBuildInfo())
	return nil
}
