package hypervisor_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func recordHeader(typ hypervisor.RecordType, n uint64) []byte {
	b := make([]byte, hypervisor.RecordHeaderSize)
	binary.LittleEndian.PutUint64(b[0:], uint64(typ))
	binary.LittleEndian.PutUint64(b[8:], n)
	return b
}

func TestRecord_RoundTrip(t *testing.T) {
	var buf bytes.Buffer
	big := bytes.Repeat([]byte{7}, 300<<10)
	require.NoError(t, hypervisor.WriteRecord(&buf, hypervisor.RecordHeader, []byte("abc")))
	require.NoError(t, hypervisor.WriteRecord(&buf, hypervisor.RecordEnd, nil))
	require.NoError(t, hypervisor.WriteRecord(&buf, hypervisor.RecordPageBatch, big))

	r := iotest.HalfReader(&buf)
	typ, body, err := hypervisor.ReadRecord(r)
	require.NoError(t, err)
	assert.Equal(t, hypervisor.RecordHeader, typ)
	assert.Equal(t, []byte("abc"), body)
	typ, body, err = hypervisor.ReadRecord(r)
	require.NoError(t, err)
	assert.Equal(t, hypervisor.RecordEnd, typ)
	assert.Empty(t, body)
	typ, body, err = hypervisor.ReadRecord(r)
	require.NoError(t, err)
	assert.Equal(t, hypervisor.RecordPageBatch, typ)
	assert.Equal(t, big, body)
	_, _, err = hypervisor.ReadRecord(r)
	assert.Equal(t, io.EOF, err)
}

func TestReadRecord_Malformed(t *testing.T) {
	tests := []struct {
		name   string
		stream []byte
	}{
		{"header cut short", recordHeader(hypervisor.RecordEnd, 0)[:9]},
		{"body cut short", append(recordHeader(hypervisor.RecordHeader, 10), 1, 2, 3)},
		{"long body cut short", append(recordHeader(hypervisor.RecordPageBatch, 1<<20), make([]byte, 70<<10)...)},
		{"length over the limit", recordHeader(hypervisor.RecordPageBatch, hypervisor.MaxRecordSize+1)},
		{"length of 2^64-1", recordHeader(hypervisor.RecordPageBatch, ^uint64(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := hypervisor.ReadRecord(bytes.NewReader(tt.stream))
			require.Error(t, err)
			assert.True(t, errdefs.IsInvalid(err), "%v", err)
		})
	}
}

func TestReadRecord_ReaderError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := hypervisor.ReadRecord(iotest.ErrReader(boom))
	assert.ErrorIs(t, err, boom)
	assert.False(t, errdefs.IsInvalid(err))
}

func TestWriteRecord_TooLarge(t *testing.T) {
	err := hypervisor.WriteRecord(io.Discard, hypervisor.RecordPageBatch, make([]byte, hypervisor.MaxRecordSize+1))
	assert.True(t, errdefs.IsInvalid(err), "%v", err)
}

func TestPageBatch_RoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte{0xAB}, hypervisor.PageSize)
	in := []hypervisor.Page{{PFN: 5, Data: data}, {PFN: 1}, {PFN: hypervisor.MaxPFN, Data: data}}
	body, err := hypervisor.EncodePageBatch(in)
	require.NoError(t, err)
	assert.Len(t, body, 8+3*8+2*hypervisor.PageSize)
	out, err := hypervisor.DecodePageBatch(body)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

func TestPageBatch_Invalid(t *testing.T) {
	page := make([]byte, hypervisor.PageSize)
	for name, pages := range map[string][]hypervisor.Page{
		"empty":      nil,
		"too many":   make([]hypervisor.Page, hypervisor.MaxBatchPages+1),
		"short page": {{PFN: 1, Data: []byte{1}}},
		"pfn range":  {{PFN: hypervisor.MaxPFN + 1, Data: page}},
	} {
		_, err := hypervisor.EncodePageBatch(pages)
		assert.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}

	good, err := hypervisor.EncodePageBatch([]hypervisor.Page{{PFN: 3, Data: page}, {PFN: 4}})
	require.NoError(t, err)
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, body := range map[string][]byte{
		"short head":      good[:5],
		"zero count":      mutate(func(b []byte) []byte { b[0] = 0; return b }),
		"huge count":      mutate(func(b []byte) []byte { b[3] = 0xFF; return b }),
		"reserved":        mutate(func(b []byte) []byte { b[5] = 1; return b }),
		"entries cut":     good[:12],
		"data cut":        good[:len(good)-1],
		"trailing":        append(bytes.Clone(good), 0),
		"page type":       mutate(func(b []byte) []byte { b[15] = 0x20; return b }),
		"reserved bits":   mutate(func(b []byte) []byte { b[14] = 0x20; return b }),
		"zero type, data": mutate(func(b []byte) []byte { b[15] = 0x10; return b }),
	} {
		_, err := hypervisor.DecodePageBatch(body)
		assert.True(t, errdefs.IsInvalid(err), "%s: %v", name, err)
	}
}

func TestImageHeader_RoundTrip(t *testing.T) {
	u, err := hypervisor.ParseUUID("0123abcd-0000-4000-8000-00000000beef")
	require.NoError(t, err)
	h := hypervisor.ImageHeader{Type: hypervisor.DomainTypeHVM, UUID: u, MemoryKiB: 65536, MaxMemKiB: 131072,
		TargetKiB: 65536, VCPUs: 4, StoreGFN: 16383, ConsoleGFN: 16382}
	b, err := h.MarshalBinary()
	require.NoError(t, err)
	var got hypervisor.ImageHeader
	require.NoError(t, got.UnmarshalBinary(b))
	assert.Equal(t, h, got)

	for name, f := range map[string]func(b []byte){
		"magic":    func(b []byte) { b[0] = 'X' },
		"version":  func(b []byte) { b[8] = 9 },
		"type":     func(b []byte) { b[12] = 0 },
		"vcpus":    func(b []byte) { b[56], b[57] = 0, 0 },
		"memory":   func(b []byte) { b[32] = 1 },
		"store":    func(b []byte) { b[70] = 1 },
		"reserved": func(b []byte) { b[61] = 1 },
	} {
		bad := bytes.Clone(b)
		f(bad)
		assert.True(t, errdefs.IsInvalid(got.UnmarshalBinary(bad)), name)
	}
	assert.True(t, errdefs.IsInvalid(got.UnmarshalBinary(b[:40])))
}

func TestVCPUContext_RoundTrip(t *testing.T) {
	c := hypervisor.VCPUContext{ID: 3, Online: true, Arch: []byte{1, 2, 3}}
	b, err := c.MarshalBinary()
	require.NoError(t, err)
	var got hypervisor.VCPUContext
	require.NoError(t, got.UnmarshalBinary(b))
	assert.Equal(t, c, got)
	b[4] = 2
	assert.True(t, errdefs.IsInvalid(got.UnmarshalBinary(b)))
	assert.True(t, errdefs.IsInvalid(got.UnmarshalBinary(b[:7])))
}
