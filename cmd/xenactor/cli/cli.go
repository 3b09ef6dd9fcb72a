package cli

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
)

// Options are the environment of the command tree.
type Options struct {
	// Connect returns a client of the daemon, with the client configuration
	// file config ("" searches the default places). The commands close it.
	Connect func(ctx context.Context, config string) (*client.Client, error)
	// Stdout receives the commands' output, Stderr progress and notes.
	Stdout, Stderr io.Writer
	// IsTerminal is whether Stderr is a terminal: progress bars are drawn
	// only then.
	IsTerminal bool
}

// app is the state shared by the commands of one tree: the options and the
// global flags.
type app struct {
	opts    Options
	config  string
	json    bool
	timeout time.Duration
	// host runs every call on that host of the daemon's pool (--host).
	host string
}

// New returns the root command "xenactor" with every subcommand.
func New(opts Options) *cobra.Command {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	a := &app{opts: opts}
	root := &cobra.Command{
		Use:   "xenactor",
		Short: "Drive xenactord: VMs, devices, tasks, events and the host",
		Long: "xenactor is the command line client of xenactord's API.\n\n" +
			"It finds the daemon's address and credentials in the client configuration (--config, $XENACTOR_CONFIG,\n" +
			"./run/state/api/client.json or /var/lib/xenactor/api/client.json). Operations wait for their task\n" +
			"unless --no-wait is given. Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 task failed,\n" +
			"5 permission, 6 unavailable, 7 timeout, 8 busy or conflict, 9 invalid argument, 10 canceled.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE:          groupRunE,
	}
	root.SetOut(opts.Stdout)
	root.SetErr(opts.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.config, "config", "",
		"the client configuration file (client.json) with the daemon's address and credentials")
	pf.BoolVar(&a.json, "json", false, "print JSON (protojson) for scripts instead of tables")
	pf.DurationVar(&a.timeout, "timeout", 0, "give up after this long (e.g. 30s, 5m); 0 waits as long as it takes")
	pf.StringVar(&a.host, "host", "", "run the command on this host of the daemon's pool: the daemon routes it there")
	root.AddCommand(a.vmCommand(), a.deviceCommand(vbdKind), a.deviceCommand(vifKind), a.taskCommand(),
		a.eventsCommand(), a.hostCommand(), a.poolCommand())
	return root
}

// group returns a command that only holds subcommands: run without one, or
// with an unknown one, it is a usage error.
func group(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: groupRunE}
}

// groupRunE is the RunE of the commands that only hold subcommands.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Help()
	return usagef("%s needs a subcommand", cmd.CommandPath())
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// exactArgs is cobra.ExactArgs(n) as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// run returns a RunE that connects to the daemon, runs f with the client
// under the --timeout deadline, and closes the client.
func (a *app) run(f func(ctx context.Context, c *client.Client, args []string) error) func(*cobra.Command,
	[]string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if a.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, a.timeout)
			defer cancel()
		}
		c, err := a.connect(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = c.Close() }()
		return f(ctx, c, args)
	}
}

// connect returns a client of the daemon, routed to --host when given.
func (a *app) connect(ctx context.Context) (*client.Client, error) {
	if a.opts.Connect == nil {
		return nil, errNoConnect
	}
	c, err := a.opts.Connect(ctx, a.config)
	if err != nil || a.host == "" {
		return c, err
	}
	return c.On(a.host), nil
}
