package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/xenactor/xenactor/hostio/xenbus"
)

// writeJunk is one round of a hostile guest: binary junk in the places it
// may write, nonsense device states, and attempts on places it may not
// (other domains, the backends, its dom0-owned home), which xenstore's
// permissions must refuse.
func (g *guest) writeJunk() {
	ctx, cancel := g.ctx()
	defer cancel()
	r := rand.New(rand.NewPCG(uint64(g.domid), 7))
	junk := make([]byte, 64)
	for i := range junk {
		junk[i] = byte(r.IntN(256))
	}
	targets := []string{
		"data/os_name", "data/meminfo_total", "attr/vif/0/ipv4/0", "data/updated", "control/feature-balloon",
		"device/vbd/768/state", "device/vif/0/state", "memory/target", "name", "domid",
		"/local/domain/0/backend/vbd/" + strconv.FormatUint(uint64(g.domid), 10) + "/768/state",
		fmt.Sprintf("/local/domain/%d/data/os_name", g.domid+1),
		"/vm", "/local/domain/0/x",
	}
	for _, t := range targets {
		_ = g.xs.Write(ctx, t, junk)
	}
	_ = g.xs.Rm(ctx, "/local/domain/0")
	_ = g.xs.Rm(ctx, g.home)
	_, _ = g.xs.Read(ctx, "/local/domain/0/backend")
}

// fillQuota creates nodes, watches and transactions until xenstore says no.
func (g *guest) fillQuota() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*1e9)
	defer cancel()
	for i := 0; i < 100000 && g.running(); i++ {
		if err := g.xs.Write(ctx, fmt.Sprintf("data/fill/%d", i), []byte("x")); err != nil {
			break
		}
	}
	for i := 0; i < 10000 && g.running(); i++ {
		if _, err := g.xs.Watch(ctx, fmt.Sprintf("data/w%d", i), "fill"); err != nil {
			break
		}
	}
	for i := 0; i < 1000 && g.running(); i++ {
		if _, err := g.xs.Transaction(ctx); err != nil {
			break
		}
	}
}

// flap rewrites every frontend's state with a random one.
func (g *guest) flap() {
	ctx, cancel := g.ctx()
	defer cancel()
	for _, k := range g.devices(ctx) {
		_ = g.xs.Write(ctx, k.FrontendPath()+"/state", xenbus.State(rand.IntN(9)).Value())
	}
}
