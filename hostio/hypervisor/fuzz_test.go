package hypervisor_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// FuzzReadRecord reads arbitrary bytes as a record stream and decodes every
// record body: each failure must be a clear ErrInvalid, never a panic or an
// allocation beyond what the stream holds.
func FuzzReadRecord(f *testing.F) {
	var seed bytes.Buffer
	h, _ := hypervisor.ImageHeader{Type: hypervisor.DomainTypePV, MemoryKiB: 64, MaxMemKiB: 64, VCPUs: 1,
		StoreGFN: 15, ConsoleGFN: 14}.MarshalBinary()
	batch, _ := hypervisor.EncodePageBatch([]hypervisor.Page{{PFN: 1, Data: make([]byte, hypervisor.PageSize)}, {PFN: 2}})
	vc, _ := hypervisor.VCPUContext{Online: true}.MarshalBinary()
	_ = hypervisor.WriteRecord(&seed, hypervisor.RecordHeader, h)
	_ = hypervisor.WriteRecord(&seed, hypervisor.RecordPageBatch, batch)
	_ = hypervisor.WriteRecord(&seed, hypervisor.RecordVCPUContext, vc)
	_ = hypervisor.WriteRecord(&seed, hypervisor.RecordEnd, nil)
	f.Add(seed.Bytes())
	f.Add(recordHeader(hypervisor.RecordPageBatch, 1<<40))
	f.Add(recordHeader(hypervisor.RecordPageBatch, 200<<10))
	f.Add([]byte{1})

	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bytes.NewReader(stream)
		for {
			typ, body, err := hypervisor.ReadRecord(r)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errdefs.IsInvalid(err) {
					t.Fatalf("error is not ErrInvalid: %v", err)
				}
				return
			}
			if len(body) > len(stream) {
				t.Fatalf("body of %d bytes from a stream of %d", len(body), len(stream))
			}
			switch typ {
			case hypervisor.RecordHeader:
				var h hypervisor.ImageHeader
				checkInvalid(t, h.UnmarshalBinary(body))
			case hypervisor.RecordPageBatch:
				pages, err := hypervisor.DecodePageBatch(body)
				checkInvalid(t, err)
				if err == nil {
					again, err := hypervisor.EncodePageBatch(pages)
					if err != nil || !bytes.Equal(again, body) {
						t.Fatalf("batch does not re-encode to itself: %v", err)
					}
				}
			case hypervisor.RecordVCPUContext:
				var c hypervisor.VCPUContext
				checkInvalid(t, c.UnmarshalBinary(body))
			}
		}
	})
}

func checkInvalid(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("error is not ErrInvalid: %v", err)
	}
}
