package hypervisortest

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func corruptImageTests() []testCase {
	return []testCase{
		{"Restore_CorruptImage_LeavesTargetUntouched", testCorruptImages},
	}
}

type record struct {
	typ  hypervisor.RecordType
	body []byte
}

func splitRecords(t *testing.T, img []byte) []record {
	t.Helper()
	var recs []record
	r := bytes.NewReader(img)
	for {
		typ, body, err := hypervisor.ReadRecord(r)
		if err == io.EOF {
			return recs
		}
		require.NoError(t, err)
		recs = append(recs, record{typ, body})
	}
}

func joinRecords(t *testing.T, recs []record) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, rec := range recs {
		require.NoError(t, hypervisor.WriteRecord(&buf, rec.typ, rec.body))
	}
	return buf.Bytes()
}

// without returns recs minus those of type typ.
func without(recs []record, typ hypervisor.RecordType) []record {
	var out []record
	for _, r := range recs {
		if r.typ != typ {
			out = append(out, r)
		}
	}
	return out
}

// corruptImages returns broken variants of a valid image of nPages pages.
func corruptImages(t *testing.T, img []byte, nPages uint64) map[string][]byte {
	recs := splitRecords(t, img)
	require.Equal(t, hypervisor.RecordHeader, recs[0].typ)
	require.Equal(t, hypervisor.RecordEnd, recs[len(recs)-1].typ)
	edit := func(f func(recs []record) []record) []byte {
		cp := make([]record, len(recs))
		for i, r := range recs {
			cp[i] = record{r.typ, bytes.Clone(r.body)}
		}
		return joinRecords(t, f(cp))
	}
	insert := func(at int, rec record) []byte {
		return edit(func(r []record) []record { return append(r[:at], append([]record{rec}, r[at:]...)...) })
	}
	farPage, err := hypervisor.EncodePageBatch([]hypervisor.Page{{PFN: nPages + 5, Data: make([]byte, hypervisor.PageSize)}})
	require.NoError(t, err)
	hugeLength := make([]byte, hypervisor.RecordHeaderSize)
	binary.LittleEndian.PutUint64(hugeLength[0:], uint64(hypervisor.RecordPageBatch))
	binary.LittleEndian.PutUint64(hugeLength[8:], 1<<62)
	last := len(recs) - 1

	return map[string][]byte{
		"empty":             nil,
		"garbage":           bytes.Repeat([]byte{0xA5}, 4096),
		"cut in half":       img[:len(img)/2],
		"no end record":     img[:len(img)-hypervisor.RecordHeaderSize],
		"huge length":       append(joinRecords(t, recs[:1]), hugeLength...),
		"bad magic":         edit(func(r []record) []record { r[0].body[0] ^= 0xFF; return r }),
		"bad version":       edit(func(r []record) []record { r[0].body[8] = 0x7F; return r }),
		"no header":         edit(func(r []record) []record { return r[1:] }),
		"two headers":       insert(1, recs[0]),
		"unknown record":    insert(1, record{typ: 99, body: []byte("x")}),
		"zero record type":  insert(1, record{typ: 0}),
		"pfn beyond memory": insert(1, record{hypervisor.RecordPageBatch, farPage}),
		"bad page batch":    insert(1, record{hypervisor.RecordPageBatch, []byte{1, 0, 0, 0}}),
		"no vcpu context":   joinRecords(t, without(recs, hypervisor.RecordVCPUContext)),
		"end with a body":   edit(func(r []record) []record { r[last].body = []byte{0}; return r }),
	}
}

func testCorruptImages(t *testing.T, h *harness) {
	src, _ := h.built()
	pa, hasPages := h.hv.(PageAccess)
	var pfns []uint64
	if hasPages {
		pfns = h.fill(pa, src, 0x77)
	}
	img := h.save(src, hypervisor.SaveOptions{})
	dst := h.create(h.config(h.o.types[0]))
	before := h.info(dst)

	for name, bad := range corruptImages(t, img, h.nPages()) {
		_, err := h.hv.Restore(h.ctx(), dst, bytes.NewReader(bad))
		if assert.Error(t, err, name) {
			assert.True(t, errdefs.IsInvalid(err), "%s: want ErrInvalid, got %v", name, err)
		}
		after := h.info(dst)
		after.CPUTime = before.CPUTime
		assert.Equal(t, before, after, "%s: the target is untouched", name)
	}

	_, err := h.hv.Restore(h.ctx(), dst, bytes.NewReader(img))
	require.NoError(t, err, "the target still takes a good image")
	if hasPages {
		h.sameMemory(pa, src, dst, pfns)
	}
}
