package pvsproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/xenactor/xenactor/hostio/process"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// privateRoot is where xenopsd keeps the devices' private directories.
const privateRoot = "/xapi"

// VIF is a VIF the proxy serves.
type VIF struct {
	DomID    uint32   `json:"domid"`
	DevID    int      `json:"devid"`
	Settings Settings `json:"settings"`
}

// Status is what the stand-in reports on its control socket: the VIFs
// it serves, by domid and devid, and the sites they belong to.
type Status struct {
	Sites []string `json:"sites"`
	VIFs  []VIF    `json:"vifs"`
	// Scans counts the reads of xenstore, one at start and one per watch
	// event.
	Scans int `json:"scans"`
}

// Main runs the stand-in proxy daemon with argv (without the program's
// name): --xenstore=<socket> is dom0's xenstored, --control=<socket> where
// it reports its Status (one JSON line to each connection). It exits 0 on
// SIGTERM.
func Main(argv []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("xenactor-pvsproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	xsPath := fs.String("xenstore", "", "the xenstored socket")
	control := fs.String("control", "", "the control socket")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *xsPath == "" || *control == "" {
		fmt.Fprintln(stderr, "xenactor-pvsproxy: --xenstore and --control are required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *xsPath, *control, stderr); err != nil {
		fmt.Fprintln(stderr, "xenactor-pvsproxy:", err)
		return 1
	}
	fmt.Fprintln(stderr, "xenactor-pvsproxy: exiting")
	return 0
}

func run(ctx context.Context, xsPath, control string, log io.Writer) error {
	xs, err := xenstore.Dial(ctx, xsPath)
	if err != nil {
		return err
	}
	defer xs.Close()
	w, err := xs.Watch(ctx, privateRoot, "pvsproxy")
	if err != nil {
		return err
	}
	_ = os.Remove(control)
	l, err := net.Listen("unix", control)
	if err != nil {
		return err
	}
	defer os.Remove(control)
	defer l.Close()
	var (
		mu sync.Mutex
		st Status
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			b, _ := json.Marshal(st)
			mu.Unlock()
			_, _ = c.Write(append(b, '\n'))
			c.Close()
		}
	}()
	fmt.Fprintln(log, "xenactor-pvsproxy: ready")
	for {
		// The watch fires once when set, then on every change below.
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.Events():
			if !ok {
				return fmt.Errorf("xenstore watch ended: %w", errdefs.ErrUnavailable)
			}
		}
		vifs := scan(ctx, xs, log)
		mu.Lock()
		st.VIFs, st.Sites, st.Scans = vifs, sites(vifs), st.Scans+1
		mu.Unlock()
	}
}

// scan reads the PVS settings of every VIF under /xapi.
func scan(ctx context.Context, xs *xenstore.Client, log io.Writer) []VIF {
	var vifs []VIF
	doms, _ := xs.Directory(ctx, privateRoot)
	for _, d := range doms {
		domid, err := strconv.ParseUint(d, 10, 32)
		if err != nil {
			continue
		}
		dir := privateRoot + "/" + d + "/private/vif"
		ids, _ := xs.Directory(ctx, dir)
		for _, id := range ids {
			devid, err := strconv.Atoi(id)
			if err != nil {
				continue
			}
			s, err := Read(ctx, xs, dir+"/"+id)
			switch {
			case errdefs.IsNotFound(err):
				continue // not a PVS VIF, or half written
			case err != nil:
				fmt.Fprintf(log, "xenactor-pvsproxy: VIF %d.%d: %v\n", domid, devid, err)
				continue
			}
			vifs = append(vifs, VIF{DomID: uint32(domid), DevID: devid, Settings: s})
		}
	}
	slices.SortFunc(vifs, func(a, b VIF) int {
		if a.DomID != b.DomID {
			return int(a.DomID) - int(b.DomID)
		}
		return a.DevID - b.DevID
	})
	return vifs
}

func sites(vifs []VIF) []string {
	var out []string
	for _, v := range vifs {
		if !slices.Contains(out, v.Settings.Site) {
			out = append(out, v.Settings.Site)
		}
	}
	slices.Sort(out)
	return out
}

// Query reads the stand-in's Status from its control socket; it is also
// its health probe.
func Query(ctx context.Context, control string) (Status, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", control)
	if err != nil {
		return Status{}, fmt.Errorf("pvsproxy: %v: %w", err, errdefs.ErrUnavailable)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return Status{}, fmt.Errorf("pvsproxy: reading the status: %v: %w", err, errdefs.ErrUnavailable)
	}
	var st Status
	if err := json.Unmarshal(line, &st); err != nil {
		return Status{}, fmt.Errorf("pvsproxy: status %q: %v: %w", line, err, errdefs.ErrInvalid)
	}
	return st, nil
}

// Daemon returns the process.Spec of the proxy daemon program (the
// stand-in) named name, on dom0's xenstored socket, reporting on control,
// and its readiness and health probe, for a daemons actor.
func Daemon(name, program, xenstored, control string, env []string) (process.Spec, func(context.Context) error) {
	spec := process.Spec{Name: name, Path: program, Args: []string{"--xenstore=" + xenstored, "--control=" + control},
		Env: env}
	return spec, func(ctx context.Context) error {
		_, err := Query(ctx, control)
		return err
	}
}
