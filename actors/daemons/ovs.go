package daemons

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/process"
)

// OVS returns the configs of a private Open vSwitch's two daemons,
// ovsdb-server and ovs-vswitchd, with their readiness and health probes.
// Start ovsdb-server first: ovs-vswitchd connects to it.
func OVS(m *process.Manager, p *ovs.Private) (db, vswitchd Config) {
	db = Config{Manager: m, Spec: p.DBServer(), Ready: p.DBReady, Health: p.DBReady}
	vswitchd = Config{Manager: m, Spec: p.Vswitchd(), Ready: p.VswitchdReady, Health: p.VswitchdReady}
	return db, vswitchd
}

// Start spawns the actor of cfg, named name, under system's root and waits
// until its daemon runs. If it does not by the time ctx ends, or the actor
// gives up on it, the actor is stopped (and the daemon with it) and the
// error returned.
func Start(ctx context.Context, system *actor.ActorSystem, name string, cfg Config) (Client, error) {
	pid, err := system.Root.SpawnNamed(Props(cfg), name)
	if err != nil {
		return Client{}, fmt.Errorf("daemons: spawn %s: %w", name, err)
	}
	c := NewClient(system, pid)
	for {
		st, err := c.Status(ctx)
		switch {
		case err == nil && st.State == StateRunning:
			return c, nil
		case err == nil && st.State == StateFailed:
			err = fmt.Errorf("daemons: %s failed: %w", name, st.LastErr)
		case ctx.Err() != nil:
			err = fmt.Errorf("daemons: %s is not running (%s, last error: %v): %w", name, st.State, st.LastErr,
				ctx.Err())
		default:
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = c.Stop(sctx)
		cancel()
		return Client{}, err
	}
}

// StartOVS runs a private Open vSwitch in dir (ovs.NewPrivate) under two
// daemon actors spawned in system, ovsdb-server then ovs-vswitchd, each
// once its predecessor runs, with their pid files and logs in
// dir/daemons. It returns the switch and the actors' clients, in start
// order: stop them in reverse order. On error, what it started is stopped.
func StartOVS(ctx context.Context, system *actor.ActorSystem, dir string, notify func(Status)) (ovs.Switch, []Client, error) {
	p, err := ovs.NewPrivate(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := p.Prepare(ctx); err != nil {
		return nil, nil, err
	}
	m, err := process.NewManager(filepath.Join(dir, "daemons"))
	if err != nil {
		return nil, nil, err
	}
	db, vswitchd := OVS(m, p)
	var clients []Client
	for _, c := range []Config{db, vswitchd} {
		c.Notify = notify
		dc, err := Start(ctx, system, "daemon/"+c.Spec.Name, c)
		if err != nil {
			for i := len(clients) - 1; i >= 0; i-- {
				sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_ = clients[i].Stop(sctx)
				cancel()
			}
			return nil, nil, err
		}
		clients = append(clients, dc)
	}
	return p.Switch(), clients, nil
}
