// Command opencrvs-mosip is the mediator between OpenCRVS and MOSIP, with
// simulators of both for running the whole flow on one machine. Run
// `opencrvs-mosip help` for its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"opencrvs-mosip/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
