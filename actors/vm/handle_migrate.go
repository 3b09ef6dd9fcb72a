package vm

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/xenactor/xenactor/actors/tasks"
	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/migrate"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The task kinds of a migration's two sides.
const (
	kindMigrate = "VM.migrate"
	kindReceive = "VM.receive"
)

// MigrateVM moves the running VM to another host (hostio/migrate): its
// spec goes to the destination's migration listener at Dest (host:port)
// with Token, through TLS when TLS is set; the destination prepares an
// empty domain; the memory follows (pre-copied while the guest runs when
// Live, through flate when Compress); the domain is paused for the last
// pages; the destination restores, plugs and unpauses it. The source then
// tears its domain down and the host forgets the VM (Config.OnMigrated):
// the destination's host owns it, journal and all.
//
// The last round pauses the domain rather than asking the guest to
// suspend, so that a failure before the destination's unpause lets the
// guest run on here as it was. Until then a failure or a cancel leaves the
// VM Running on this host and nothing on the destination. MaxIterations
// and DirtyThreshold tune the pre-copy (hostio/migrate's defaults when 0).
// The task's progress is the fraction of the pre-copy rounds sent; the
// reply is an OperationReply (task kind "VM.migrate").
type MigrateVM struct {
	Dest           string
	Token          string
	TLS            *tls.Config
	Live           bool
	Compress       bool
	MaxIterations  int
	DirtyThreshold int
}

// MigrationMetadata is what the source sends the destination: the VM's
// spec as its journal holds it.
type MigrationMetadata struct {
	Spec Spec `json:"spec"`
}

// MigrateResult is the result of a VM.migrate task, as JSON.
type MigrateResult struct {
	Dest       string  `json:"dest"`
	BytesSent  int64   `json:"bytes_sent"`
	Iterations int     `json:"iterations"`
	DurationMS float64 `json:"duration_ms"`
	DowntimeMS float64 `json:"downtime_ms"`
	// Rounds are the pre-copy rounds as they were reported: the first
	// (iteration 0) sent every page.
	Rounds []MigrateRound `json:"rounds"`
}

// MigrateRound is one pre-copy round of a MigrateResult.
type MigrateRound struct {
	Iteration           int     `json:"iteration"`
	BytesSent           int64   `json:"bytes_sent"`
	DirtyPages          int     `json:"dirty_pages"`
	DirtyRate           float64 `json:"dirty_pages_per_second"`
	EstimatedDowntimeMS float64 `json:"estimated_downtime_ms"`
}

// migrate runs a MigrateVM.
func (r *runner) migrate(ctx context.Context, msg *MigrateVM) *opDone {
	uuid, hv := r.cfg.Spec.UUID, r.cfg.Hypervisor
	if err := r.needDomain("migrate"); err != nil {
		return &opDone{err: err}
	}
	fail := func(err error) *opDone {
		return &opDone{hasDomain: true, err: fmt.Errorf("vm %s: migrate: %w", uuid, err)}
	}
	info, err := hv.DomainInfo(ctx, r.domid)
	if err != nil {
		return fail(fmt.Errorf("domain %d: %w", r.domid, err))
	}
	if p := powerState(info); p != Running {
		return fail(fmt.Errorf("VM is %s, not Running: %w", p, errdefs.ErrInvalid))
	}
	if r.cfg.DeviceModels != nil || len(r.cfg.Spec.VGPUs) > 0 || r.cfg.EmuManager != nil {
		return fail(fmt.Errorf("VMs with a device model, vGPUs or a save helper do not migrate yet: %w",
			errdefs.ErrNotImplemented))
	}
	meta, err := json.Marshal(MigrationMetadata{Spec: r.cfg.Journal.Record().Spec})
	if err != nil {
		return fail(fmt.Errorf("metadata: %v: %w", err, errdefs.ErrInvalid))
	}
	conn, err := migrate.Dial(ctx, msg.Dest, msg.TLS)
	if err != nil {
		return fail(err)
	}
	var rounds []MigrateRound
	cfg := migrate.SendConfig{Token: msg.Token, Metadata: meta, Hypervisor: hv, DomID: r.domid, Live: msg.Live,
		Compress: msg.Compress, MaxIterations: msg.MaxIterations, DirtyThreshold: msg.DirtyThreshold,
		Progress: r.migrateProgress(msg, &rounds)}
	var res migrate.Result
	err = atom(ctx, "migrate", func(ctx context.Context) (err error) {
		res, err = migrate.Send(ctx, conn, cfg)
		return err
	})
	observeMigration(res, err)
	if err != nil {
		return fail(fmt.Errorf("to %s: %w", msg.Dest, err))
	}
	// The destination runs the VM: this copy goes.
	if err := r.teardown(ctx, r.domid); err != nil {
		return &opDone{err: fmt.Errorf("vm %s: migrated to %s, but the teardown of domain %d here failed: %w",
			uuid, msg.Dest, r.domid, err), migrated: true}
	}
	result, _ := json.Marshal(MigrateResult{Dest: msg.Dest, BytesSent: res.BytesSent, Iterations: res.Iterations,
		DurationMS: ms(res.Duration), DowntimeMS: ms(res.Downtime), Rounds: rounds})
	return &opDone{result: result, migrated: true}
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// migrateProgress reports each pre-copy round as the task's progress, with
// its detail (MigrateDetail), and appends it to rounds.
func (r *runner) migrateProgress(msg *MigrateVM, rounds *[]MigrateRound) func(migrate.Progress) {
	most := msg.MaxIterations
	if most <= 0 {
		most = migrate.DefaultMaxIterations
	}
	return func(p migrate.Progress) {
		*rounds = append(*rounds, MigrateRound{Iteration: p.Iteration, BytesSent: p.BytesSent, DirtyPages: p.DirtyPages,
			DirtyRate: p.DirtyRate, EstimatedDowntimeMS: ms(p.EstimatedDowntime)})
		if r.cfg.Tasks == nil || r.root == nil {
			return
		}
		r.root.Send(r.cfg.Tasks, &tasks.UpdateProgress{ID: r.taskID,
			Progress: min(0.95, float64(p.Iteration+1)/float64(most+2)), Detail: MigrateDetail(p)})
	}
}

// MigrateDetail is the detail (tasks.Task.Detail) of a VM.migrate task
// after a pre-copy round: bytes_sent, pages_sent, iteration, dirty_pages,
// dirty_pages_per_second and estimated_downtime_ms, as decimal numbers.
func MigrateDetail(p migrate.Progress) map[string]string {
	return map[string]string{
		"bytes_sent":             strconv.FormatInt(p.BytesSent, 10),
		"pages_sent":             strconv.FormatInt(p.PagesSent, 10),
		"iteration":              strconv.Itoa(p.Iteration),
		"dirty_pages":            strconv.Itoa(p.DirtyPages),
		"dirty_pages_per_second": strconv.FormatFloat(p.DirtyRate, 'f', 0, 64),
		"estimated_downtime_ms":  strconv.FormatFloat(ms(p.EstimatedDowntime), 'f', 1, 64),
	}
}

// ReceiveVM makes the Halted VM the destination of a migration: In drives
// it (NewIncoming). A domain is created at once; the image In is given is
// restored into it; on In's commit the devices are plugged and the domain
// unpaused. An abort, a cancel or a failure tears down what was made and
// leaves the VM Halted. The reply is an OperationReply (task kind
// "VM.receive").
type ReceiveVM struct{ In *Incoming }

// Incoming is the destination's side of one migration, between the
// migration listener (hostio/migrate's Incoming) and the VM actor's
// receive operation.
type Incoming struct {
	prepared  chan error
	image     chan io.Reader
	restored  chan error
	commit    chan struct{}
	committed chan error
	abort     chan struct{}
	done      chan struct{}
	once      sync.Once
}

// NewIncoming returns an Incoming for a ReceiveVM.
func NewIncoming() *Incoming {
	return &Incoming{prepared: make(chan error, 1), image: make(chan io.Reader), restored: make(chan error, 1),
		commit: make(chan struct{}), committed: make(chan error, 1), abort: make(chan struct{}),
		done: make(chan struct{})}
}

// Prepared waits until the receive operation created the domain.
func (in *Incoming) Prepared(ctx context.Context) error {
	return in.wait(ctx, in.prepared)
}

// Restore gives the receive operation the image and waits until it was
// restored.
func (in *Incoming) Restore(ctx context.Context, r io.Reader) error {
	select {
	case in.image <- r:
	case <-in.done:
		return fmt.Errorf("receive ended before the image: %w", errdefs.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	return in.wait(ctx, in.restored)
}

// Commit lets the receive operation plug the devices and unpause the
// domain, and waits until it did.
func (in *Incoming) Commit(ctx context.Context) error {
	select {
	case in.commit <- struct{}{}:
	case <-in.done:
		return fmt.Errorf("receive ended before the commit: %w", errdefs.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	return in.wait(ctx, in.committed)
}

// Abort ends the receive operation, which tears down what it made, and
// waits until it ended.
func (in *Incoming) Abort(ctx context.Context) {
	in.once.Do(func() { close(in.abort) })
	select {
	case <-in.done:
	case <-ctx.Done():
	}
}

// wait waits for a step's result.
func (in *Incoming) wait(ctx context.Context, ch chan error) error {
	select {
	case err := <-ch:
		return err
	case <-in.done:
		select {
		case err := <-ch:
			return err
		default:
		}
		return fmt.Errorf("receive ended: %w", errdefs.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// receive runs a ReceiveVM.
func (r *runner) receive(ctx context.Context, msg *ReceiveVM) *opDone {
	in := msg.In
	defer close(in.done)
	spec := r.cfg.Spec
	refuse := func(err error) *opDone {
		in.prepared <- err
		return &opDone{hasDomain: r.hasDomain, err: err}
	}
	switch {
	case r.hasDomain || r.image != "":
		return refuse(fmt.Errorf("vm %s: receive: the VM is not Halted: %w", spec.UUID, errdefs.ErrInvalid))
	case in == nil:
		return refuse(fmt.Errorf("vm %s: receive: no incoming migration: %w", spec.UUID, errdefs.ErrInvalid))
	}
	if err := r.canCreate("receive"); err != nil {
		return refuse(err)
	}
	domid, err := r.createDomain(ctx)
	if err != nil {
		return refuse(err)
	}
	in.prepared <- nil
	var (
		res   hypervisor.BuildResult
		image io.Reader
	)
	aborted := fmt.Errorf("vm %s: receive: the migration was aborted: %w", spec.UUID, errdefs.ErrCanceled)
	select {
	case image = <-in.image:
	case <-in.abort:
		err = aborted
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		err = atom(ctx, "restore", func(ctx context.Context) (err error) {
			res, err = r.restoreImage(ctx, domid, image)
			return err
		})
		if err != nil {
			err = fmt.Errorf("vm %s: restore domain %d from the migration: %w", spec.UUID, domid, err)
		}
		in.restored <- err
	}
	if err == nil {
		select {
		case <-in.commit:
			err = r.bringUp(ctx, domid, res, false)
			in.committed <- err
		case <-in.abort:
			err = aborted
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		if terr := r.teardown(ctx, domid); terr != nil {
			return &opDone{hasDomain: true, err: fmt.Errorf("%w (and the teardown failed: %v)", err, terr)}
		}
		return &opDone{err: err}
	}
	return &opDone{hasDomain: true, result: []byte(`{"domid":` + strconv.FormatUint(uint64(domid), 10) + `}`)}
}
