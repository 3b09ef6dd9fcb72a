package sim

import (
	"bytes"
	"context"
	"io"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/hypervisor/hvsim"
)

// kernelMagic opens the note the simulated builder leaves in a new
// domain's memory: the image the guest booted, so that the guest's
// behaviour travels with its memory. A domain restored from a saved image
// (resume, or the receiving end of a migration) comes back as the same
// guest, on this host or another.
//
// The note lives in the xenstore ring page: the simulated xenstore talks to
// guests over connections, not rings, and the guest's own simulated writes
// skip the ring pages, so nothing overwrites it. After the image and a NUL
// comes the unique-domain-id the guest agent last saw (agentMemory): the
// agent's memory travels with the domain's, so that a resumed or migrated
// agent can tell it moved.
const kernelMagic = "xenactor-sim-kernel\x00"

// restoredImage is the image of a restored domain whose memory holds no
// note (an image saved from a domain built elsewhere): it boots the default
// profile.
const restoredImage = "sim:restored"

// loadKernel leaves the note of image in the built domain's memory.
func (v hostHV) loadKernel(ctx context.Context, id hypervisor.DomID, res hypervisor.BuildResult, image string) error {
	return writeNote(ctx, v.Sim, id, res.StoreGFN, image, "")
}

// writeNote writes the note of image, with the unique-domain-id the
// guest agent last saw, to page gfn of domain id.
func writeNote(ctx context.Context, s *hvsim.Sim, id hypervisor.DomID, gfn uint64, image, agentUID string) error {
	note := append([]byte(kernelMagic), image...)
	note = append(append(note, 0), agentUID...)
	if len(note) > hypervisor.PageSize {
		note = note[:hypervisor.PageSize]
	}
	return s.WritePage(ctx, id, gfn, note)
}

// kernelImage reads the note back from a restored domain's memory: the
// image, and the unique-domain-id its agent last saw ("" for none).
func (v hostHV) kernelImage(ctx context.Context, id hypervisor.DomID, res hypervisor.BuildResult) (image, agentUID string) {
	page, err := v.Sim.ReadPage(ctx, id, res.StoreGFN)
	if err != nil {
		return restoredImage, ""
	}
	rest, ok := bytes.CutPrefix(page, []byte(kernelMagic))
	if !ok {
		return restoredImage, ""
	}
	img, uid, _ := bytes.Cut(rest, []byte{0})
	if i := bytes.IndexByte(uid, 0); i >= 0 {
		uid = uid[:i]
	}
	if len(img) == 0 {
		return restoredImage, ""
	}
	return string(img), string(uid)
}

// Restore implements hypervisor.Migration: the simulator's restore, after
// which the host knows which guest the domain runs. Its kernel starts, as
// a resumed kernel does, once the domain is introduced and unpaused; it
// finds the devices the toolstack wrote for the new domain and goes through
// the XenBus handshake with their backends again.
func (v hostHV) Restore(ctx context.Context, id hypervisor.DomID, r io.Reader) (hypervisor.BuildResult, error) {
	res, err := v.Sim.Restore(ctx, id, r)
	if err != nil {
		return res, err
	}
	image, uid := v.kernelImage(ctx, id, res)
	v.h.mu.Lock()
	v.h.images[id] = image
	v.h.restored[id] = true
	v.h.stores[id] = res.StoreGFN
	v.h.agentUIDs[id] = uid
	v.h.mu.Unlock()
	return res, nil
}
