package ovs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Schema is Debian's Open vSwitch database schema.
const Schema = "/usr/share/openvswitch/vswitch.ovsschema"

// Private is an Open vSwitch of the simulated host's own, in user space in
// one directory: the database (conf.db), ovsdb-server on db.sock and
// ovs-vswitchd, each with its control socket and log there. It gives the
// two daemons' process specs, for a supervisor to run (actors/daemons), and
// nothing of it touches /var/run/openvswitch or the system's switch.
//
// ovs-vswitchd runs with --disable-system --enable-dummy=override: no
// kernel datapath, and Open vSwitch's own dummy network devices, since the
// simulated guests' interfaces are not Linux interfaces. Bridges are made
// with datapath_type=netdev.
type Private struct {
	Dir   string
	progs map[string]string
}

// The programs a Private needs.
var privatePrograms = []string{"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl", "ovs-ofctl"}

// NewPrivate returns the private switch in dir, creating dir. The programs
// are looked up in PATH: a missing one is errdefs.ErrUnavailable.
func NewPrivate(dir string) (*Private, error) {
	p := &Private{Dir: dir, progs: make(map[string]string)}
	for _, name := range privatePrograms {
		path, err := exec.LookPath(name)
		if err != nil {
			return nil, fmt.Errorf("ovs: %s (apt-get install openvswitch-switch): %w: %w", name,
				errdefs.ErrUnavailable, err)
		}
		p.progs[name] = path
	}
	if _, err := os.Stat(Schema); err != nil {
		return nil, fmt.Errorf("ovs: schema: %w: %w", errdefs.ErrUnavailable, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ovs: %w", err)
	}
	return p, nil
}

// DB is the ovsdb-server's socket.
func (p *Private) DB() string { return filepath.Join(p.Dir, "db.sock") }

func (p *Private) path(name string) string { return filepath.Join(p.Dir, name) }

// env points Open vSwitch's programs at the directory.
func (p *Private) env() []string {
	return []string{"OVS_RUNDIR=" + p.Dir, "OVS_DBDIR=" + p.Dir, "OVS_LOGDIR=" + p.Dir, "OVS_SYSCONFDIR=" + p.Dir}
}

// Prepare creates the database from the schema unless it exists: ports and
// bridges survive the daemons' restarts in it.
func (p *Private) Prepare(ctx context.Context) error {
	db := p.path("conf.db")
	if _, err := os.Stat(db); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, p.progs["ovsdb-tool"], "create", db, Schema)
	cmd.Env = append(os.Environ(), p.env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ovs: ovsdb-tool create: %w: %s", err, out)
	}
	return nil
}

// DBServer is the process spec of ovsdb-server.
func (p *Private) DBServer() process.Spec {
	return process.Spec{Name: "ovsdb-server", Path: p.progs["ovsdb-server"], Dir: p.Dir,
		Env: append(os.Environ(), p.env()...),
		Args: []string{p.path("conf.db"), "--remote=punix:" + p.DB(), "--unixctl=" + p.path("ovsdb-server.ctl"),
			"--log-file=" + p.path("ovsdb-server.log"), "--no-chdir"}}
}

// Vswitchd is the process spec of ovs-vswitchd.
func (p *Private) Vswitchd() process.Spec {
	return process.Spec{Name: "ovs-vswitchd", Path: p.progs["ovs-vswitchd"], Dir: p.Dir,
		Env: append(os.Environ(), p.env()...),
		Args: []string{"unix:" + p.DB(), "--unixctl=" + p.path("ovs-vswitchd.ctl"),
			"--log-file=" + p.path("ovs-vswitchd.log"), "--no-chdir", "--disable-system", "--enable-dummy=override"}}
}

// DBReady tells whether ovsdb-server serves: ovs-vsctl initialises the
// database without waiting for ovs-vswitchd.
func (p *Private) DBReady(ctx context.Context) error {
	return p.run(ctx, p.progs["ovs-vsctl"], "--db=unix:"+p.DB(), "--timeout=2", "--no-wait", "init")
}

// VswitchdReady tells whether ovs-vswitchd answers on its control socket.
func (p *Private) VswitchdReady(ctx context.Context) error {
	return p.run(ctx, p.progs["ovs-appctl"], "-t", p.path("ovs-vswitchd.ctl"), "--timeout=2", "version")
}

func (p *Private) run(ctx context.Context, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), p.env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ovs: %s %v: %w: %s", filepath.Base(prog), args, err, out)
	}
	return nil
}

// Switch is the switch on this Open vSwitch: bridges with
// datapath_type=netdev, and OpenFlow rules through the bridges' management
// sockets in the directory.
func (p *Private) Switch() *Vsctl {
	return NewVsctl(VsctlConfig{Program: p.progs["ovs-vsctl"], DB: p.DB(), DatapathType: "netdev",
		Timeout: 10 * time.Second, Ofctl: p.progs["ovs-ofctl"], OfctlRunDir: p.Dir})
}
