package hypervisortest

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func migrationTests() []testCase {
	return []testCase{
		{"SaveRestore_SameMemory", testSaveRestore},
		{"Restore_Mismatch", testRestoreMismatch},
		{"DirtyLog_EnableReadClear", testDirtyLog},
		{"ReadPages_StreamDecodes", testReadPages},
		{"LiveMigration_PreCopyThenDirtyOnlySave", testLiveMigration},
	}
}

// pattern returns a page whose bytes depend on pfn and seed.
func pattern(pfn uint64, seed byte) []byte {
	p := make([]byte, hypervisor.PageSize)
	for i := range p {
		p[i] = byte(uint64(i)*31+pfn*7) ^ seed
	}
	return p
}

// fill writes patterns into a few pages spread over the domain's memory,
// returning their pfns.
func (h *harness) fill(pa PageAccess, id hypervisor.DomID, seed byte) []uint64 {
	h.t.Helper()
	n := h.nPages()
	pfns := []uint64{0, 1, n / 3, n / 2, n - 3}
	for _, pfn := range pfns {
		require.NoError(h.t, pa.WritePage(h.ctx(), id, pfn, pattern(pfn, seed)))
	}
	return pfns
}

// sameMemory checks that two domains have equal checksums and pages.
func (h *harness) sameMemory(pa PageAccess, a, b hypervisor.DomID, pfns []uint64) {
	h.t.Helper()
	sumA, err := pa.MemoryChecksum(h.ctx(), a)
	require.NoError(h.t, err)
	sumB, err := pa.MemoryChecksum(h.ctx(), b)
	require.NoError(h.t, err)
	assert.Equal(h.t, sumA, sumB, "memory checksums of %d and %d", a, b)
	for _, pfn := range pfns {
		pageA, err := pa.ReadPage(h.ctx(), a, pfn)
		require.NoError(h.t, err)
		pageB, err := pa.ReadPage(h.ctx(), b, pfn)
		require.NoError(h.t, err)
		assert.True(h.t, bytes.Equal(pageA, pageB), "page %#x differs", pfn)
	}
}

// save saves a paused domain.
func (h *harness) save(id hypervisor.DomID, opts hypervisor.SaveOptions) []byte {
	h.t.Helper()
	var buf bytes.Buffer
	require.NoError(h.t, h.hv.Save(h.ctx(), id, &buf, opts))
	return buf.Bytes()
}

func testSaveRestore(t *testing.T, h *harness) {
	for _, typ := range h.o.types {
		src, _ := h.builtOf(typ)
		img := h.save(src, hypervisor.SaveOptions{})
		dst := h.create(h.config(typ))
		res, err := h.hv.Restore(h.ctx(), dst, bytes.NewReader(img))
		require.NoError(t, err)
		assert.NotEqual(t, res.StoreGFN, res.ConsoleGFN)
		assert.NotZero(t, res.StorePort)
		info := h.info(dst)
		assert.Equal(t, h.o.build.MemoryKiB, info.MemoryKiB)
		assert.True(t, info.Paused, "a restored domain is paused")
		assert.False(t, info.Shutdown)
		require.NoError(t, h.hv.Unpause(h.ctx(), dst), "a restored domain runs")
	}

	pa := h.pages()
	src, _ := h.built()
	require.NoError(t, h.hv.Unpause(h.ctx(), src))
	pfns := h.fill(pa, src, 0x5A)
	require.NoError(t, h.hv.Shutdown(h.ctx(), src, hypervisor.ShutdownSuspend))
	img := h.save(src, hypervisor.SaveOptions{})
	dst := h.create(h.config(h.o.types[0]))
	_, err := h.hv.Restore(h.ctx(), dst, bytes.NewReader(img))
	require.NoError(t, err)
	h.sameMemory(pa, src, dst, pfns)
}

func testRestoreMismatch(t *testing.T, h *harness) {
	src, _ := h.built()
	img := h.save(src, hypervisor.SaveOptions{})

	small := h.config(h.o.types[0])
	small.MaxMemKiB = h.o.build.MemoryKiB / 2
	dst := h.create(small)
	_, err := h.hv.Restore(h.ctx(), dst, bytes.NewReader(img))
	assert.True(t, errdefs.IsInvalid(err), "image larger than the target's max memory: %v", err)

	if len(h.o.types) > 1 {
		dst := h.create(h.config(h.o.types[1]))
		_, err := h.hv.Restore(h.ctx(), dst, bytes.NewReader(img))
		assert.True(t, errdefs.IsInvalid(err), "image of another type: %v", err)
	}
}

func testDirtyLog(t *testing.T, h *harness) {
	id, _ := h.built()
	_, err := h.hv.ReadDirtyLog(h.ctx(), id, false)
	assert.True(t, errdefs.IsInvalid(err), "read before enable: %v", err)
	require.NoError(t, h.hv.EnableDirtyLog(h.ctx(), id))
	assert.True(t, errdefs.IsBusy(h.hv.EnableDirtyLog(h.ctx(), id)), "a second enable is busy")

	if pa, ok := h.hv.(PageAccess); ok {
		n := h.nPages()
		for _, pfn := range []uint64{n - 3, 5, 2} {
			require.NoError(t, pa.WritePage(h.ctx(), id, pfn, []byte{1}))
		}
		want := []uint64{2, 5, n - 3}
		peek, err := h.hv.ReadDirtyLog(h.ctx(), id, false)
		require.NoError(t, err)
		assert.Equal(t, want, peek)
		got, err := h.hv.ReadDirtyLog(h.ctx(), id, true)
		require.NoError(t, err)
		assert.Equal(t, want, got, "a peek does not clear")
	}
	got, err := h.hv.ReadDirtyLog(h.ctx(), id, true)
	require.NoError(t, err)
	assert.True(t, slices.IsSorted(got))
	got, err = h.hv.ReadDirtyLog(h.ctx(), id, false)
	require.NoError(t, err)
	assert.Empty(t, got, "a paused domain dirties nothing after a clear")

	require.NoError(t, h.hv.DisableDirtyLog(h.ctx(), id))
	_, err = h.hv.ReadDirtyLog(h.ctx(), id, false)
	assert.True(t, errdefs.IsInvalid(err), "read after disable: %v", err)
	require.NoError(t, h.hv.EnableDirtyLog(h.ctx(), id), "logging can be enabled again")
}

// decodePages reads a stream of PageBatch records.
func decodePages(t *testing.T, stream []byte) []hypervisor.Page {
	t.Helper()
	var out []hypervisor.Page
	r := bytes.NewReader(stream)
	for {
		typ, body, err := hypervisor.ReadRecord(r)
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		require.Equal(t, hypervisor.RecordPageBatch, typ)
		pages, err := hypervisor.DecodePageBatch(body)
		require.NoError(t, err)
		out = append(out, pages...)
	}
}

func testReadPages(t *testing.T, h *harness) {
	id, _ := h.built()
	require.NoError(t, h.hv.Unpause(h.ctx(), id))
	n := h.nPages()
	pfns := make([]uint64, 0, hypervisor.MaxBatchPages+10)
	for i := range uint64(hypervisor.MaxBatchPages + 10) {
		pfns = append(pfns, (i*7)%n)
	}
	var buf bytes.Buffer
	require.NoError(t, h.hv.ReadPages(h.ctx(), id, pfns, &buf))
	pages := decodePages(t, buf.Bytes())
	require.Len(t, pages, len(pfns))
	for i, p := range pages {
		assert.Equal(t, pfns[i], p.PFN)
	}

	var empty bytes.Buffer
	require.NoError(t, h.hv.ReadPages(h.ctx(), id, nil, &empty))
	assert.Zero(t, empty.Len())
	assert.True(t, errdefs.IsInvalid(h.hv.ReadPages(h.ctx(), id, []uint64{n}, io.Discard)), "pfn beyond memory")
	unbuilt := h.create(h.config(h.o.types[0]))
	assert.True(t, errdefs.IsInvalid(h.hv.ReadPages(h.ctx(), unbuilt, []uint64{0}, io.Discard)))

	pa := h.pages()
	require.NoError(t, h.hv.Pause(h.ctx(), id), "the guest's own writes would race the check")
	written := h.fill(pa, id, 0x33)
	buf.Reset()
	require.NoError(t, h.hv.ReadPages(h.ctx(), id, written, &buf))
	for i, p := range decodePages(t, buf.Bytes()) {
		assert.Equal(t, written[i], p.PFN)
		assert.Equal(t, pattern(p.PFN, 0x33), p.Data)
	}
}

// testLiveMigration drives iterative pre-copy as the migrate actor does:
// every page while the guest runs, then the pages dirtied meanwhile, then a
// dirty-only save of the paused guest, all on one stream that the
// destination restores.
func testLiveMigration(t *testing.T, h *harness) {
	pa := h.pages()
	src, _ := h.built()
	h.fill(pa, src, 1)
	require.NoError(t, h.hv.Unpause(h.ctx(), src))
	require.NoError(t, h.hv.EnableDirtyLog(h.ctx(), src))

	var stream bytes.Buffer
	all := make([]uint64, h.nPages())
	for i := range all {
		all[i] = uint64(i)
	}
	require.NoError(t, h.hv.ReadPages(h.ctx(), src, all, &stream))
	for round := range 3 {
		pfns := h.fill(pa, src, byte(10+round))
		dirty, err := h.hv.ReadDirtyLog(h.ctx(), src, true)
		require.NoError(t, err)
		assert.Subset(t, dirty, pfns)
		require.NoError(t, h.hv.ReadPages(h.ctx(), src, dirty, &stream))
	}
	require.NoError(t, pa.WritePage(h.ctx(), src, 7, pattern(7, 99)), "a write after the last round")
	require.NoError(t, h.hv.Pause(h.ctx(), src))
	require.NoError(t, h.hv.Save(h.ctx(), src, &stream, hypervisor.SaveOptions{DirtyOnly: true}))
	dirty, err := h.hv.ReadDirtyLog(h.ctx(), src, false)
	require.NoError(t, err)
	assert.Empty(t, dirty, "a dirty-only save clears the log")
	require.NoError(t, h.hv.DisableDirtyLog(h.ctx(), src))

	dst := h.create(h.config(h.o.types[0]))
	_, err = h.hv.Restore(h.ctx(), dst, &stream)
	require.NoError(t, err)
	h.sameMemory(pa, src, dst, []uint64{0, 7, h.nPages() / 2})
}
