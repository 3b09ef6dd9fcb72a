package ovstest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Run runs the conformance suite; newSwitch returns the switch for one
// subtest (a fresh simulator, or a real switch). Each subtest names its
// bridges and ports apart from the others' and deletes its bridges, so one
// real switch may serve them all.
func Run(t *testing.T, newSwitch func(t *testing.T) ovs.Switch) {
	for i, tc := range tests() {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, sw: newSwitch(t), suffix: fmt.Sprintf("x%d", i)}
			tc.run(t, h)
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, h *harness)
}

// harness holds one subtest's switch and helpers.
type harness struct {
	t      *testing.T
	sw     ovs.Switch
	suffix string
}

func (h *harness) ctx() context.Context { return h.t.Context() }

// name returns base made unique to the subtest.
func (h *harness) name(base string) string { return base + h.suffix }

// bridge creates a bridge named after base, deleted when the test ends.
func (h *harness) bridge(base string) string {
	h.t.Helper()
	b := h.name(base)
	require.NoError(h.t, h.sw.AddBridge(h.ctx(), b))
	h.t.Cleanup(func() { _ = h.sw.DelBridge(context.Background(), b) })
	return b
}

func (h *harness) ports(bridge string) []string {
	h.t.Helper()
	ports, err := h.sw.ListPorts(h.ctx(), bridge)
	require.NoError(h.t, err)
	return ports
}

// vifIDs are external-ids as the reference's vif script sets them.
func vifIDs(vm, vif string) map[string]string {
	return map[string]string{
		ovs.KeyAttachedMAC: "00:16:3e:00:00:01", ovs.KeyIfaceID: vif, ovs.KeyVMUUID: vm,
		ovs.KeyVIFUUID: vif, ovs.KeyNetworkUUID: "7c3c1e0b-4d5e-4c8a-9b1f-2a3b4c5d6e7f",
	}
}

func tests() []testCase {
	return []testCase{
		{"Bridge_AddListDel", func(t *testing.T, h *harness) {
			b := h.name("br")
			require.NoError(t, h.sw.AddBridge(h.ctx(), b))
			require.Empty(t, h.ports(b), "a new bridge has no ports (its local port is not listed)")
			require.NoError(t, h.sw.DelBridge(h.ctx(), b))
			_, err := h.sw.ListPorts(h.ctx(), b)
			require.True(t, errdefs.IsNotFound(err), "ListPorts of a deleted bridge: %v", err)
			err = h.sw.DelBridge(h.ctx(), b)
			require.True(t, errdefs.IsNotFound(err), "DelBridge of a missing bridge: %v", err)
		}},
		{"Bridge_MayExist", func(t *testing.T, h *harness) {
			b := h.bridge("br")
			p := h.name("vif1.0")
			require.NoError(t, h.sw.AddPort(h.ctx(), b, p, nil))
			require.NoError(t, h.sw.AddBridge(h.ctx(), b), "adding an existing bridge succeeds")
			require.Equal(t, []string{p}, h.ports(b), "and keeps its ports")
		}},
		{"Port_ExternalIDs", func(t *testing.T, h *harness) {
			b := h.bridge("br")
			p1, p2 := h.name("vif1.0"), h.name("vif1.1")
			ids := vifIDs("0ec00fdc-8127-4817-80d4-79d61797f87a", "e41c690e-c0a1-4130-8e95-b9a505db2f3c")
			require.NoError(t, h.sw.AddPort(h.ctx(), b, p1, ids))
			require.NoError(t, h.sw.AddPort(h.ctx(), b, p2, map[string]string{"note": "a b=c:d"}))
			require.Equal(t, []string{p1, p2}, h.ports(b))
			got, err := h.sw.PortExternalIDs(h.ctx(), p1)
			require.NoError(t, err)
			require.Equal(t, ids, got)
			got, err = h.sw.PortExternalIDs(h.ctx(), p2)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"note": "a b=c:d"}, got, "values keep spaces, '=' and ':'")
		}},
		{"Port_AddAgainReplaces", func(t *testing.T, h *harness) {
			b1, b2 := h.bridge("br"), h.bridge("bs")
			p := h.name("vif2.0")
			require.NoError(t, h.sw.AddPort(h.ctx(), b1, p, map[string]string{"a": "1", "b": "2"}))
			require.NoError(t, h.sw.AddPort(h.ctx(), b1, p, map[string]string{"a": "3"}), "may-exist")
			require.Equal(t, []string{p}, h.ports(b1))
			got, err := h.sw.PortExternalIDs(h.ctx(), p)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"a": "3"}, got, "the new external-ids replace the old")
			require.NoError(t, h.sw.AddPort(h.ctx(), b2, p, nil), "adding it to another bridge moves it")
			require.Empty(t, h.ports(b1))
			require.Equal(t, []string{p}, h.ports(b2))
			got, err = h.sw.PortExternalIDs(h.ctx(), p)
			require.NoError(t, err)
			require.Empty(t, got)
		}},
		{"Port_Del", func(t *testing.T, h *harness) {
			b := h.bridge("br")
			p := h.name("vif3.0")
			require.NoError(t, h.sw.AddPort(h.ctx(), b, p, vifIDs("vm", "vif")))
			require.NoError(t, h.sw.DelPort(h.ctx(), p))
			require.Empty(t, h.ports(b))
			_, err := h.sw.PortExternalIDs(h.ctx(), p)
			require.True(t, errdefs.IsNotFound(err), "external-ids of a deleted port: %v", err)
			err = h.sw.DelPort(h.ctx(), p)
			require.True(t, errdefs.IsNotFound(err), "DelPort of a missing port: %v", err)
		}},
		{"Errors_MissingBridge", func(t *testing.T, h *harness) {
			b := h.name("nobr")
			err := h.sw.AddPort(h.ctx(), b, h.name("vif4.0"), nil)
			require.True(t, errdefs.IsNotFound(err), "AddPort on a missing bridge: %v", err)
			_, err = h.sw.ListPorts(h.ctx(), b)
			require.True(t, errdefs.IsNotFound(err), "ListPorts of a missing bridge: %v", err)
			_, err = h.sw.PortExternalIDs(h.ctx(), h.name("vif4.0"))
			require.True(t, errdefs.IsNotFound(err), "the failed AddPort left no port: %v", err)
		}},
		{"DelBridge_DeletesPorts", func(t *testing.T, h *harness) {
			b := h.name("br")
			p := h.name("vif5.0")
			require.NoError(t, h.sw.AddBridge(h.ctx(), b))
			require.NoError(t, h.sw.AddPort(h.ctx(), b, p, nil))
			require.NoError(t, h.sw.DelBridge(h.ctx(), b))
			_, err := h.sw.PortExternalIDs(h.ctx(), p)
			require.True(t, errdefs.IsNotFound(err), "a deleted bridge's port: %v", err)
			require.NoError(t, h.sw.AddBridge(h.ctx(), b))
			t.Cleanup(func() { _ = h.sw.DelBridge(context.Background(), b) })
			require.Empty(t, h.ports(b), "a bridge made again starts empty")
		}},
		{"Errors_NameConflicts", func(t *testing.T, h *harness) {
			b1, b2 := h.bridge("br"), h.bridge("bs")
			p := h.name("vif6.0")
			require.NoError(t, h.sw.AddPort(h.ctx(), b1, p, nil))
			err := h.sw.AddPort(h.ctx(), b1, b2, nil)
			require.True(t, errdefs.IsExists(err), "a port named as a bridge: %v", err)
			err = h.sw.AddBridge(h.ctx(), p)
			require.True(t, errdefs.IsExists(err), "a bridge named as a port: %v", err)
			err = h.sw.DelPort(h.ctx(), b1)
			require.True(t, errdefs.IsInvalid(err), "deleting a bridge's local port: %v", err)
			require.Equal(t, []string{p}, h.ports(b1))
			require.Empty(t, h.ports(b2))
		}},
		{"Errors_Invalid", func(t *testing.T, h *harness) {
			b := h.bridge("br")
			for _, name := range []string{"", "a-name-longer-than-15", "has space", "semi;colon", "quote\""} {
				require.True(t, errdefs.IsInvalid(h.sw.AddBridge(h.ctx(), name)), "bridge %q", name)
				require.True(t, errdefs.IsInvalid(h.sw.AddPort(h.ctx(), b, name, nil)), "port %q", name)
				require.True(t, errdefs.IsInvalid(h.sw.DelPort(h.ctx(), name)), "port %q", name)
			}
			for _, ids := range []map[string]string{{"": "v"}, {"k=v": "v"}, {"k": "quote\""}, {"k": "new\nline"}} {
				err := h.sw.AddPort(h.ctx(), b, h.name("vif7.0"), ids)
				require.True(t, errdefs.IsInvalid(err), "external-ids %q: %v", ids, err)
			}
			require.Empty(t, h.ports(b))
		}},
		{"Canceled", func(t *testing.T, h *harness) {
			b := h.bridge("br")
			ctx, cancel := context.WithCancel(h.ctx())
			cancel()
			err := h.sw.AddPort(ctx, b, h.name("vif8.0"), nil)
			require.True(t, errdefs.IsCanceled(err), "a canceled AddPort: %v", err)
			require.Empty(t, h.ports(b))
		}},
		{"Concurrent_Adds", func(t *testing.T, h *harness) {
			const n = 8
			b := h.name("br")
			t.Cleanup(func() { _ = h.sw.DelBridge(context.Background(), b) })
			var wg sync.WaitGroup
			errs := make(chan error, 2*n)
			want := make([]string, n)
			for i := range n {
				want[i] = fmt.Sprintf("vif%d.0%s", 10+i, h.suffix)
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Every adder makes sure of the bridge first, as
					// concurrent hotplugs do.
					if err := h.sw.AddBridge(h.ctx(), b); err != nil {
						errs <- err
						return
					}
					errs <- h.sw.AddPort(h.ctx(), b, want[i], vifIDs("vm", want[i]))
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.ElementsMatch(t, want, h.ports(b))
			for _, p := range want {
				ids, err := h.sw.PortExternalIDs(h.ctx(), p)
				require.NoError(t, err)
				require.Equal(t, p, ids[ovs.KeyVIFUUID])
			}
		}},
	}
}
