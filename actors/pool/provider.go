package pool

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/xenactor/xenactor/hostio/etcd"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// memberRecord is a member's key in etcd.
type memberRecord struct {
	// ID is the member's cluster id, <host>@<incarnation>.
	ID   string `json:"id"`
	Host string `json:"host"`
	// Addr and Port are the member's pool address.
	Addr string `json:"addr"`
	Port int    `json:"port"`
}

// address returns the member's pool address.
func (m memberRecord) address() string { return net.JoinHostPort(m.Addr, strconv.Itoa(m.Port)) }

// provider is the cluster provider on etcd: the member's key under a lease
// renewed every TTL/3, and the members read at each change an etcd watch
// reports (and every PollInterval when the watch cannot run) and handed to
// the cluster's member list.
type provider struct {
	pool *Pool
	c    *cluster.Cluster
	self memberRecord

	mu      sync.Mutex
	lease   int64
	members map[string]memberRecord // by host name, self included

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

var _ cluster.ClusterProvider = (*provider)(nil)

func newProvider(p *Pool) *provider {
	return &provider{pool: p, members: map[string]memberRecord{}}
}

// StartMember registers the member and starts the lease's renewal and the
// watch of the members.
func (pr *provider) StartMember(c *cluster.Cluster) error {
	pr.c = c
	host, portStr, err := net.SplitHostPort(c.ActorSystem.Address())
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	pr.self = memberRecord{ID: c.ActorSystem.ID, Host: pr.pool.cfg.Host, Addr: host, Port: port}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pr.register(ctx); err != nil {
		return err
	}
	if err := pr.poll(ctx); err != nil {
		return err
	}
	lctx, lcancel := context.WithCancel(context.Background())
	pr.cancel = lcancel
	pr.wg.Add(2)
	go pr.keepAlive(lctx)
	go pr.watch(lctx)
	return nil
}

// StartClient is not supported: every pool process is a member.
func (pr *provider) StartClient(*cluster.Cluster) error {
	return fmt.Errorf("%w: pool clients", errdefs.ErrNotImplemented)
}

// Shutdown stops the renewal and revokes the lease, which removes the
// member's key.
func (pr *provider) Shutdown(bool) error {
	pr.once.Do(func() {
		if pr.cancel != nil {
			pr.cancel()
		}
		pr.wg.Wait()
		pr.mu.Lock()
		lease := pr.lease
		pr.mu.Unlock()
		if lease != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = pr.pool.cfg.Etcd.Revoke(ctx, lease)
		}
	})
	return nil
}

// register puts the member's key under a new lease.
func (pr *provider) register(ctx context.Context) error {
	lease, err := pr.pool.cfg.Etcd.Grant(ctx, pr.pool.cfg.TTL)
	if err != nil {
		return err
	}
	data, err := json.Marshal(pr.self)
	if err != nil {
		return err
	}
	if err := pr.pool.cfg.Etcd.Put(ctx, pr.pool.key("members", pr.self.Host), data, lease); err != nil {
		return err
	}
	pr.mu.Lock()
	pr.lease = lease
	pr.mu.Unlock()
	return nil
}

// keepAlive renews the lease every TTL/3, registering again when it expired
// (etcd unreachable for longer than the TTL).
func (pr *provider) keepAlive(ctx context.Context) {
	defer pr.wg.Done()
	t := time.NewTicker(max(pr.pool.cfg.TTL/3, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pr.mu.Lock()
		lease := pr.lease
		pr.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, pr.pool.cfg.TTL)
		err := pr.pool.cfg.Etcd.KeepAlive(rctx, lease)
		if errdefs.IsNotFound(err) {
			pr.pool.log.Warn("pool: the member's lease expired; registering again")
			err = pr.register(rctx)
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			pr.pool.log.Warn("pool: renewing the member's lease", "err", err)
		}
	}
}

// watch follows the members' keys with an etcd watch and reads the members
// again at each change, so a member that joins, leaves or whose lease
// expires is seen at once. While the watch runs, the members are also read
// every watchedPolls PollIntervals, in case a change was missed; while it
// cannot be opened (etcd unreachable), every PollInterval, and the watch is
// tried again at each read.
func (pr *provider) watch(ctx context.Context) {
	defer pr.wg.Done()
	t := time.NewTicker(pr.pool.cfg.PollInterval)
	defer t.Stop()
	var w *etcd.Watcher
	var wcancel context.CancelFunc = func() {}
	defer func() { wcancel() }()
	polls := 0
	for {
		if w == nil {
			wctx, cancel := context.WithCancel(ctx)
			if nw, err := pr.pool.cfg.Etcd.Watch(wctx, pr.pool.prefix("members")); err == nil {
				w, wcancel = nw, cancel
				// Changes between the last read and the watch's start.
				pr.read(ctx)
			} else {
				cancel()
				if ctx.Err() == nil {
					pr.pool.log.Debug("pool: watching the members", "err", err)
				}
			}
		}
		var changes <-chan []etcd.Event
		if w != nil {
			changes = w.C
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				if err := w.Err(); err != nil && ctx.Err() == nil {
					pr.pool.log.Warn("pool: the members' watch ended", "err", err)
				}
				wcancel()
				w = nil
			}
			pr.read(ctx)
		case <-t.C:
			if polls++; w == nil || polls%watchedPolls == 0 {
				pr.read(ctx)
			}
		}
	}
}

// watchedPolls is how many PollIntervals pass between two reads of the
// members while a watch runs.
const watchedPolls = 10

// read reads the members, logging a failure.
func (pr *provider) read(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pr.poll(rctx); err != nil && ctx.Err() == nil {
		pr.pool.log.Warn("pool: reading the members", "err", err)
	}
}

// poll reads the members and hands them to the cluster's member list, which
// announces who joined and who left.
func (pr *provider) poll(ctx context.Context) error {
	kvs, err := pr.pool.cfg.Etcd.Get(ctx, pr.pool.prefix("members"))
	if err != nil {
		return err
	}
	members := map[string]memberRecord{pr.self.Host: pr.self}
	for _, kv := range kvs {
		var m memberRecord
		if err := json.Unmarshal(kv.Value, &m); err != nil || m.ID == "" || m.Host == "" {
			pr.pool.log.Warn("pool: a bad member key", "key", kv.Key)
			continue
		}
		if m.Host == pr.self.Host {
			continue
		}
		members[m.Host] = m
	}
	pr.mu.Lock()
	old := pr.members
	pr.members = members
	pr.mu.Unlock()
	for h, m := range members {
		if o, ok := old[h]; !ok || o.ID != m.ID {
			pr.pool.log.Info("pool: member up", "host", h, "address", m.address())
		}
	}
	for h := range old {
		if _, ok := members[h]; !ok {
			pr.pool.log.Warn("pool: member down", "host", h)
		}
	}
	list := make(cluster.Members, 0, len(members))
	for _, m := range members {
		list = append(list, &cluster.Member{Id: m.ID, Host: m.Addr, Port: int32(m.Port), Kinds: []string{}})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Id < list[j].Id })
	pr.c.MemberList.UpdateClusterTopology(list)
	return nil
}

// member returns the live member named host.
func (pr *provider) member(host string) (memberRecord, bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	m, ok := pr.members[host]
	return m, ok
}

// live returns the live members by host name.
func (pr *provider) live() map[string]memberRecord {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	out := make(map[string]memberRecord, len(pr.members))
	for h, m := range pr.members {
		out[h] = m
	}
	return out
}

// checkUnique fails when a live member at another address holds the host
// name. The same host coming back on the same address (after a crash,
// before its old lease expired) takes its name over.
func (p *Pool) checkUnique(ctx context.Context) error {
	kvs, err := p.cfg.Etcd.Get(ctx, p.key("members", p.cfg.Host))
	if err != nil {
		return fmt.Errorf("pool: etcd: %w", err)
	}
	for _, kv := range kvs {
		if kv.Key != p.key("members", p.cfg.Host) {
			continue
		}
		var m memberRecord
		if json.Unmarshal(kv.Value, &m) == nil && sameAddress(m.address(), p.cfg.Address) {
			return nil
		}
		return fmt.Errorf("%w: host name %q is held by a live pool member at %s", errdefs.ErrExists, p.cfg.Host,
			m.address())
	}
	return nil
}

// sameAddress reports whether a member's address is the configured one
// (not with a port chosen by the system).
func sameAddress(member, configured string) bool {
	return !strings.HasSuffix(configured, ":0") && member == configured
}
