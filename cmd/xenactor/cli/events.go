package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xenactor/xenactor/client"
	"github.com/xenactor/xenactor/messages"
)

// barrierPrefix starts the ids of the stream's barriers, which "events"
// uses to know it has caught up and does not print.
const barrierPrefix = "barrier/"

// eventLine is one change of the update stream, for --json.
type eventLine struct {
	Time   string `json:"time"`
	ID     string `json:"id,omitempty"`
	Change string `json:"change"`
	Next   uint64 `json:"next"`
}

// eventsCommand is "events".
func (a *app) eventsCommand() *cobra.Command {
	var follow bool
	var from uint64
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Print the changes of the update stream (VMs, tasks, daemons) after --from",
		Long: "events prints one line per change: the time it was received, the id that changed (vm/<uuid>,\n" +
			"task/<id>, daemon/<name>, ...) and \"changed\" or \"removed\". A \"resync\" line means --from is\n" +
			"no longer covered: list everything again. Without --follow it prints every change made before the\n" +
			"command started and exits, writing the position to follow from next on stderr (\"next: N\"); with\n" +
			"--json every line is a JSON object carrying that position.",
		Args: exactArgs(0),
		RunE: a.run(func(ctx context.Context, c *client.Client, _ []string) error {
			if !follow {
				next, err := a.printUntilNow(ctx, c, from)
				if err != nil {
					return err
				}
				if !a.json {
					fmt.Fprintf(a.opts.Stderr, "next: %d\n", next)
				}
				return nil
			}
			for {
				b, err := c.NextEvents(ctx, from, client.DefaultEventsPoll)
				if err != nil {
					if errors.Is(err, context.Canceled) && ctx.Err() != nil {
						return nil // Ctrl-C ends following.
					}
					return err
				}
				from = b.Next
				if err := a.printBatch(b); err != nil {
					return err
				}
			}
		}),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing changes as they come, until interrupted")
	cmd.Flags().Uint64Var(&from, "from", 0, "print the changes after this position (0: from the stream's start)")
	return cmd
}

// printUntilNow prints the changes after from up to a barrier injected now,
// and returns the position to follow from next.
func (a *app) printUntilNow(ctx context.Context, c *client.Client, from uint64) (uint64, error) {
	bar, err := c.Barrier(ctx)
	if err != nil {
		return 0, err
	}
	for {
		b, err := c.NextEvents(ctx, from, client.DefaultEventsPoll)
		if err != nil {
			return 0, err
		}
		if err := a.printBatch(b); err != nil {
			return 0, err
		}
		from = b.Next
		if from >= bar.Seq {
			return from, nil
		}
	}
}

// printBatch prints the changes of a batch, one line each.
func (a *app) printBatch(b *messages.EventBatch) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	line := func(id, change string) error {
		if a.json {
			return a.printPlainJSON(eventLine{Time: now, ID: id, Change: change, Next: b.Next})
		}
		if id == "" {
			_, err := fmt.Fprintf(a.opts.Stdout, "%s\t%s\n", now, change)
			return err
		}
		_, err := fmt.Fprintf(a.opts.Stdout, "%s\t%s\t%s\n", now, id, change)
		return err
	}
	if b.Resync {
		if err := line("", "resync"); err != nil {
			return err
		}
	}
	for _, id := range b.Ids {
		if strings.HasPrefix(id, barrierPrefix) {
			continue
		}
		if err := line(id, "changed"); err != nil {
			return err
		}
	}
	for _, id := range b.Removed {
		if err := line(id, "removed"); err != nil {
			return err
		}
	}
	return nil
}
