// Command patchwave is Patchwave in one binary: the server, the agent and
// the command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/patchwave/patchwave/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
