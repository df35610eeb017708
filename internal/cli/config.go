package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"opencrvs-mosip/internal/country"
)

func runConfig(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "Usage: opencrvs-mosip config check [--config FILE] [--record FILE]")
		return errUsage
	}
	fs := flags("config check", "config check [--config FILE] [--record FILE]", stderr)
	path := fs.String("config", "", "country configuration (default: $COUNTRY_CONFIG, else the embedded default)")
	recordPath := fs.String("record", "", "an OpenCRVS 1.8 FHIR bundle to try (default: an embedded sample birth)")
	centre := fs.String("center-id", "", "MOSIP centre id for the mapping (default: $MOSIP_CENTER_ID, else 10001)")
	machine := fs.String("machine-id", "", "MOSIP machine id for the mapping (default: $MOSIP_MACHINE_ID, else 10004)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *path == "" {
		*path = env("COUNTRY_CONFIG")
	}
	cfg, err := country.Load(*path, country.Options{Vars: map[string]string{
		"centerId":  firstNonEmpty(*centre, env("MOSIP_CENTER_ID"), "10001"),
		"machineId": firstNonEmpty(*machine, env("MOSIP_MACHINE_ID"), "10004"),
	}})
	if err != nil {
		return err
	}
	var record []byte
	if *recordPath != "" {
		if record, err = os.ReadFile(*recordPath); err != nil {
			return err
		}
	}
	return cfg.Check(stdout, record, time.Now())
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
