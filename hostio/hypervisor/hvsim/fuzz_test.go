package hvsim_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// fuzzMemKiB is the memory of the fuzzed domains: 16 pages keep each run
// cheap.
const fuzzMemKiB = 64

// FuzzRestore feeds arbitrary streams to Restore. A rejected stream must be
// ErrInvalid and leave the target as it was; an accepted one must give a
// domain that saves and restores again to the same memory. The seeds carry
// zero pages only: a 4 KiB data page makes every input so long that the
// fuzzer spends its time minimizing; FuzzReadRecord covers data pages.
func FuzzRestore(f *testing.F) {
	ctx := context.Background()
	src := hvsim.New(hvsim.Config{})
	id := mkDomain(f, src, testUUID, fuzzMemKiB)
	var live bytes.Buffer
	if err := src.EnableDirtyLog(ctx, id); err != nil {
		f.Fatal(err)
	}
	if err := src.ReadPages(ctx, id, []uint64{0, 1, 5}, &live); err != nil {
		f.Fatal(err)
	}
	var img bytes.Buffer
	if err := src.Save(ctx, id, &img, hypervisor.SaveOptions{}); err != nil {
		f.Fatal(err)
	}
	if err := src.Save(ctx, id, &live, hypervisor.SaveOptions{DirtyOnly: true}); err != nil {
		f.Fatal(err)
	}
	f.Add(img.Bytes())
	f.Add(live.Bytes())
	f.Add(img.Bytes()[:100])

	f.Fuzz(func(t *testing.T, stream []byte) {
		s := hvsim.New(hvsim.Config{HostMemoryKiB: 64 << 10})
		cfg := hypervisor.CreateConfig{UUID: testUUID, Type: hypervisor.DomainTypePV, MaxVCPUs: 2, MaxMemKiB: 4 * fuzzMemKiB}
		target, err := s.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		before := info(t, s, target)
		free := s.FreeMemoryKiB()
		_, err = s.Restore(ctx, target, bytes.NewReader(stream))
		if err != nil {
			if !errdefs.IsInvalid(err) {
				t.Fatalf("rejection is not ErrInvalid: %v", err)
			}
			if after := info(t, s, target); after != before || s.FreeMemoryKiB() != free {
				t.Fatalf("a rejected image changed the target: %+v -> %+v", before, after)
			}
			return
		}
		var again bytes.Buffer
		if err := s.Save(ctx, target, &again, hypervisor.SaveOptions{}); err != nil {
			t.Fatalf("save of a restored domain: %v", err)
		}
		second, err := s.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Restore(ctx, second, &again); err != nil {
			t.Fatalf("restore of a re-saved image: %v", err)
		}
		if checksum(t, s, target) != checksum(t, s, second) {
			t.Fatal("memory differs after a second save and restore")
		}
	})
}
