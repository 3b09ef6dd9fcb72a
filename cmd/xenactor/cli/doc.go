// Package cli is the xenactor command line: a cobra command tree over the
// typed API client (package client). New builds the tree; the transport is
// the caller's (Options.Connect), so tests run the commands against a daemon
// in their own process. ExitCode maps a command's error to the exit codes
// documented in docs/cli.md.
package cli
