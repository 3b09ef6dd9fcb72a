package hypervisortest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func lifecycleTests() []testCase {
	return []testCase{
		{"ListDomains_Dom0AndSorted", testListDom0},
		{"Create_InfoKeepsConfig", testCreateInfo},
		{"Create_IDsIncreaseAndAreNotReused", testIDs},
		{"SetMaxMemAndVCPUs", testMaxMemVCPUs},
		{"Build_InfoShowsMemory", testBuild},
		{"PauseUnpause_Flags", testPauseUnpause},
		{"Shutdown_EachReason", testShutdownReasons},
		{"Destroy_Removes", testDestroy},
		{"UnknownDomain_NotFound", testUnknown},
	}
}

func testListDom0(t *testing.T, h *harness) {
	id := h.create(h.config(h.o.types[0]))
	list, err := h.hv.ListDomains(h.ctx())
	require.NoError(t, err)
	require.NotEmpty(t, list)
	assert.Equal(t, hypervisor.Dom0, list[0].ID, "dom0 comes first")
	for i := 1; i < len(list); i++ {
		assert.Less(t, list[i-1].ID, list[i].ID, "sorted by id")
	}
	assert.True(t, containsID(list, id))

	dom0 := h.info(hypervisor.Dom0)
	assert.False(t, dom0.Paused || dom0.Shutdown || dom0.Dying, "%+v", dom0)
	assert.NotZero(t, dom0.MemoryKiB)
	assert.GreaterOrEqual(t, dom0.VCPUs, 1)
	_, err = hypervisor.ParseUUID(dom0.UUID)
	assert.NoError(t, err)
}

func containsID(list []hypervisor.DomainInfo, id hypervisor.DomID) bool {
	for _, d := range list {
		if d.ID == id {
			return true
		}
	}
	return false
}

func testCreateInfo(t *testing.T, h *harness) {
	for _, typ := range h.o.types {
		cfg := h.config(typ)
		cfg.MaxVCPUs = 3
		cfg.UUID = strings.ToUpper(cfg.UUID)
		id := h.create(cfg)
		assert.NotEqual(t, hypervisor.Dom0, id)
		assert.Less(t, id, hypervisor.DomIDFirstReserved)
		info := h.info(id)
		assert.Equal(t, id, info.ID)
		assert.Equal(t, strings.ToLower(cfg.UUID), info.UUID, "uuid kept, in canonical lower case")
		assert.Equal(t, typ, info.Type)
		assert.Equal(t, 3, info.VCPUs)
		assert.Equal(t, cfg.MaxMemKiB, info.MaxMemKiB)
		assert.True(t, info.Paused, "a new domain is paused")
		assert.False(t, info.Running || info.Shutdown || info.Dying, "%+v", info)
	}
	for name, cfg := range map[string]hypervisor.CreateConfig{
		"bad uuid":   {UUID: "not-a-uuid", Type: hypervisor.DomainTypePV, MaxVCPUs: 1},
		"no type":    {UUID: newUUID(), MaxVCPUs: 1},
		"zero vcpus": {UUID: newUUID(), Type: hypervisor.DomainTypePV},
	} {
		_, err := h.hv.Create(h.ctx(), cfg)
		assert.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}
}

func testIDs(t *testing.T, h *harness) {
	a := h.create(h.config(h.o.types[0]))
	b := h.create(h.config(h.o.types[0]))
	assert.Greater(t, b, a)
	require.NoError(t, h.hv.Destroy(h.ctx(), a))
	h.waitGone(a)
	c := h.create(h.config(h.o.types[0]))
	assert.NotEqual(t, a, c, "a freed id is not reused at once")
	assert.Greater(t, c, b)
}

func testMaxMemVCPUs(t *testing.T, h *harness) {
	id := h.create(h.config(h.o.types[0]))
	require.NoError(t, h.hv.SetMaxMem(h.ctx(), id, 3*h.o.build.MemoryKiB))
	vcpus := 4
	if h.o.fixedVCPUs {
		vcpus = 1
		assert.True(t, errdefs.IsInvalid(h.hv.SetMaxVCPUs(h.ctx(), id, 3)), "more vCPUs than created")
	}
	require.NoError(t, h.hv.SetMaxVCPUs(h.ctx(), id, vcpus))
	info := h.info(id)
	assert.Equal(t, 3*h.o.build.MemoryKiB, info.MaxMemKiB)
	assert.Equal(t, vcpus, info.VCPUs)
	assert.True(t, errdefs.IsInvalid(h.hv.SetMaxVCPUs(h.ctx(), id, 0)))

	require.NoError(t, h.hv.SetMaxMem(h.ctx(), id, h.o.build.MemoryKiB/2))
	_, err := h.hv.Build(h.ctx(), id, h.o.build)
	assert.True(t, errdefs.IsInvalid(err), "build beyond max memory: %v", err)
}

func testBuild(t *testing.T, h *harness) {
	for _, typ := range h.o.types {
		id, res := h.builtOf(typ)
		info := h.info(id)
		assert.Equal(t, h.o.build.MemoryKiB, info.MemoryKiB, "%s", typ)
		assert.Equal(t, h.o.build.MemoryKiB, info.TargetKiB, "target defaults to memory")
		assert.True(t, info.Paused, "a built domain stays paused")
		assert.NotEqual(t, res.StoreGFN, res.ConsoleGFN)
		assert.NotZero(t, res.StorePort)
		assert.NotZero(t, res.ConsolePort)
		assert.NotEqual(t, res.StorePort, res.ConsolePort)
	}
	cfg := h.o.build
	cfg.TargetKiB = cfg.MemoryKiB / 2
	id := h.create(h.config(h.o.types[0]))
	_, err := h.hv.Build(h.ctx(), id, cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg.TargetKiB, h.info(id).TargetKiB)
}

func testPauseUnpause(t *testing.T, h *harness) {
	id, _ := h.built()
	require.NoError(t, h.hv.Unpause(h.ctx(), id))
	info := h.info(id)
	assert.False(t, info.Paused)
	assert.True(t, info.Running || info.Blocked, "an unpaused domain runs or blocks: %+v", info)
	require.NoError(t, h.hv.Unpause(h.ctx(), id), "unpause is idempotent")

	require.NoError(t, h.hv.Pause(h.ctx(), id))
	info = h.info(id)
	assert.True(t, info.Paused)
	assert.False(t, info.Running || info.Blocked, "%+v", info)
	require.NoError(t, h.hv.Pause(h.ctx(), id), "pause is idempotent")
	require.NoError(t, h.hv.Unpause(h.ctx(), id))
	assert.False(t, h.info(id).Paused)
}

func testShutdownReasons(t *testing.T, h *harness) {
	for _, reason := range hypervisor.ShutdownReasons() {
		t.Run(reason.String(), func(t *testing.T) {
			h := h.sub(t)
			id, _ := h.built()
			require.NoError(t, h.hv.Unpause(h.ctx(), id))
			require.NoError(t, h.hv.Shutdown(h.ctx(), id, reason))
			info := h.info(id)
			assert.True(t, info.Shutdown)
			assert.Equal(t, reason, info.ShutdownReason)
			assert.False(t, info.Running || info.Blocked, "%+v", info)

			other := (reason + 1) % hypervisor.ShutdownReason(len(hypervisor.ShutdownReasons()))
			require.NoError(t, h.hv.Shutdown(h.ctx(), id, other))
			assert.Equal(t, reason, h.info(id).ShutdownReason, "the first reason sticks")
		})
	}
	id, _ := h.built()
	assert.True(t, errdefs.IsInvalid(h.hv.Shutdown(h.ctx(), id, 99)))
}

func testDestroy(t *testing.T, h *harness) {
	id, _ := h.built()
	require.NoError(t, h.hv.Unpause(h.ctx(), id))
	require.NoError(t, h.hv.Destroy(h.ctx(), id))
	h.waitGone(id)
	list, err := h.hv.ListDomains(h.ctx())
	require.NoError(t, err)
	assert.False(t, containsID(list, id))
	assert.True(t, errdefs.IsNotFound(h.hv.Destroy(h.ctx(), id)))
}

func testUnknown(t *testing.T, h *harness) {
	list, err := h.hv.ListDomains(h.ctx())
	require.NoError(t, err)
	id := hypervisor.DomIDFirstReserved - 1
	for containsID(list, id) {
		id--
	}
	ctx := h.ctx()
	_, infoErr := h.hv.DomainInfo(ctx, id)
	_, buildErr := h.hv.Build(ctx, id, h.o.build)
	_, readErr := h.hv.ReadDirtyLog(ctx, id, false)
	_, restoreErr := h.hv.Restore(ctx, id, strings.NewReader(""))
	for name, err := range map[string]error{
		"DomainInfo":      infoErr,
		"SetMaxMem":       h.hv.SetMaxMem(ctx, id, 1024),
		"SetMaxVCPUs":     h.hv.SetMaxVCPUs(ctx, id, 1),
		"Pause":           h.hv.Pause(ctx, id),
		"Unpause":         h.hv.Unpause(ctx, id),
		"Shutdown":        h.hv.Shutdown(ctx, id, hypervisor.ShutdownPoweroff),
		"Destroy":         h.hv.Destroy(ctx, id),
		"Build":           buildErr,
		"SetMemoryTarget": h.hv.SetMemoryTarget(ctx, id, 1024),
		"Save":            h.hv.Save(ctx, id, &strings.Builder{}, hypervisor.SaveOptions{}),
		"Restore":         restoreErr,
		"EnableDirtyLog":  h.hv.EnableDirtyLog(ctx, id),
		"DisableDirtyLog": h.hv.DisableDirtyLog(ctx, id),
		"ReadDirtyLog":    readErr,
		"ReadPages":       h.hv.ReadPages(ctx, id, []uint64{0}, &strings.Builder{}),
	} {
		assert.True(t, errdefs.IsNotFound(err), "%s: %v", name, err)
		if err != nil {
			assert.Contains(t, err.Error(), "domain "+id.String(), "%s names the domain", name)
		}
	}
}
