package hypervisortest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func transitionTests() []testCase {
	return []testCase{
		{"Build_Twice", testBuildTwice},
		{"Build_BadConfig", testBuildBadConfig},
		{"SetMaxVCPUs_AfterBuild", testVCPUsAfterBuild},
		{"CanceledContext", testCanceled},
	}
}

// saveTransitionTests are the transitions of Save and Restore.
func saveTransitionTests() []testCase {
	return []testCase{
		{"Save_NeedsPausedOrSuspended", testSaveStates},
		{"Restore_IntoBuiltDomain", testRestoreIntoBuilt},
	}
}

func testBuildTwice(t *testing.T, h *harness) {
	id, _ := h.built()
	_, err := h.hv.Build(h.ctx(), id, h.o.build)
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
	assert.Equal(t, h.o.build.MemoryKiB, h.info(id).MemoryKiB, "the first build stands")
}

func testBuildBadConfig(t *testing.T, h *harness) {
	id := h.create(h.config(h.o.types[0]))
	for name, mutate := range map[string]func(*hypervisor.BuildConfig){
		"no memory":          func(c *hypervisor.BuildConfig) { c.MemoryKiB = 0 },
		"part of a page":     func(c *hypervisor.BuildConfig) { c.MemoryKiB++ },
		"target over memory": func(c *hypervisor.BuildConfig) { c.TargetKiB = c.MemoryKiB + 4 },
	} {
		cfg := h.o.build
		mutate(&cfg)
		_, err := h.hv.Build(h.ctx(), id, cfg)
		assert.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}
	_, err := h.hv.Build(h.ctx(), id, h.o.build)
	assert.NoError(t, err, "failed builds leave the domain buildable")
}

func testSaveStates(t *testing.T, h *harness) {
	unbuilt := h.create(h.config(h.o.types[0]))
	assert.True(t, errdefs.IsInvalid(h.hv.Save(h.ctx(), unbuilt, io.Discard, hypervisor.SaveOptions{})))

	id, _ := h.built()
	require.NoError(t, h.hv.Unpause(h.ctx(), id))
	err := h.hv.Save(h.ctx(), id, io.Discard, hypervisor.SaveOptions{})
	assert.True(t, errdefs.IsInvalid(err), "save of a running domain: %v", err)
	assert.True(t, errdefs.IsInvalid(h.hv.Save(h.ctx(), id, io.Discard, hypervisor.SaveOptions{DirtyOnly: true})))

	require.NoError(t, h.hv.Shutdown(h.ctx(), id, hypervisor.ShutdownSuspend))
	var buf bytes.Buffer
	require.NoError(t, h.hv.Save(h.ctx(), id, &buf, hypervisor.SaveOptions{}), "a suspended domain saves")
	assert.NotZero(t, buf.Len())

	off, _ := h.built()
	require.NoError(t, h.hv.Unpause(h.ctx(), off))
	require.NoError(t, h.hv.Shutdown(h.ctx(), off, hypervisor.ShutdownPoweroff))
	assert.True(t, errdefs.IsInvalid(h.hv.Save(h.ctx(), off, io.Discard, hypervisor.SaveOptions{})))
}

func testRestoreIntoBuilt(t *testing.T, h *harness) {
	src, _ := h.built()
	var img bytes.Buffer
	require.NoError(t, h.hv.Save(h.ctx(), src, &img, hypervisor.SaveOptions{}))
	dst, _ := h.built()
	_, err := h.hv.Restore(h.ctx(), dst, bytes.NewReader(img.Bytes()))
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
}

func testVCPUsAfterBuild(t *testing.T, h *harness) {
	id, _ := h.built()
	assert.True(t, errdefs.IsInvalid(h.hv.SetMaxVCPUs(h.ctx(), id, 1)))
	assert.Equal(t, 2, h.info(id).VCPUs)
}

func testCanceled(t *testing.T, h *harness) {
	id, _ := h.built()
	ctx, cancel := context.WithCancel(h.ctx())
	cancel()
	_, createErr := h.hv.Create(ctx, h.config(h.o.types[0]))
	_, infoErr := h.hv.DomainInfo(ctx, id)
	_, listErr := h.hv.ListDomains(ctx)
	_, eventsErr := h.hv.Events(ctx)
	for name, err := range map[string]error{
		"Create":      createErr,
		"DomainInfo":  infoErr,
		"ListDomains": listErr,
		"Events":      eventsErr,
		"Unpause":     h.hv.Unpause(ctx, id),
		"Save":        h.hv.Save(ctx, id, io.Discard, hypervisor.SaveOptions{}),
	} {
		assert.True(t, errors.Is(err, context.Canceled), "%s: %v", name, err)
	}
	assert.True(t, h.info(id).Paused, "a canceled unpause did nothing")
}
