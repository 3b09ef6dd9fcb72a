package hvremote

import (
	"context"
	"fmt"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// Create creates a domain on the server's hypervisor.
func (c *Client) Create(ctx context.Context, cfg hypervisor.CreateConfig) (hypervisor.DomID, error) {
	rep, err := c.call(ctx, &request{Method: mCreate, Create: &cfg})
	if err != nil {
		return 0, err
	}
	return rep.ID, nil
}

// SetMaxMem sets a domain's memory limit.
func (c *Client) SetMaxMem(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	_, err := c.call(ctx, &request{Method: mSetMaxMem, ID: id, KiB: kib})
	return err
}

// SetMaxVCPUs sets a domain's vCPU count.
func (c *Client) SetMaxVCPUs(ctx context.Context, id hypervisor.DomID, n int) error {
	_, err := c.call(ctx, &request{Method: mSetMaxVCPUs, ID: id, N: n})
	return err
}

// Pause pauses a domain.
func (c *Client) Pause(ctx context.Context, id hypervisor.DomID) error {
	_, err := c.call(ctx, &request{Method: mPause, ID: id})
	return err
}

// Unpause unpauses a domain.
func (c *Client) Unpause(ctx context.Context, id hypervisor.DomID) error {
	_, err := c.call(ctx, &request{Method: mUnpause, ID: id})
	return err
}

// Shutdown shuts a domain down with reason.
func (c *Client) Shutdown(ctx context.Context, id hypervisor.DomID, reason hypervisor.ShutdownReason) error {
	_, err := c.call(ctx, &request{Method: mShutdown, ID: id, Reason: reason})
	return err
}

// Destroy destroys a domain.
func (c *Client) Destroy(ctx context.Context, id hypervisor.DomID) error {
	_, err := c.call(ctx, &request{Method: mDestroy, ID: id})
	return err
}

// DomainInfo returns the state of one domain.
func (c *Client) DomainInfo(ctx context.Context, id hypervisor.DomID) (hypervisor.DomainInfo, error) {
	rep, err := c.call(ctx, &request{Method: mDomainInfo, ID: id})
	if err != nil {
		return hypervisor.DomainInfo{}, err
	}
	if rep.Info == nil {
		return hypervisor.DomainInfo{}, fmt.Errorf("hvremote: DomainInfo: empty reply: %w", errdefs.ErrUnavailable)
	}
	return *rep.Info, nil
}

// ListDomains returns every domain, sorted by id.
func (c *Client) ListDomains(ctx context.Context) ([]hypervisor.DomainInfo, error) {
	rep, err := c.call(ctx, &request{Method: mListDomains})
	if err != nil {
		return nil, err
	}
	return rep.Domains, nil
}

// Build builds a created domain.
func (c *Client) Build(ctx context.Context, id hypervisor.DomID, cfg hypervisor.BuildConfig) (hypervisor.BuildResult, error) {
	rep, err := c.call(ctx, &request{Method: mBuild, ID: id, Build: &cfg})
	return buildResult(mBuild, rep, err)
}

func buildResult(method string, rep *reply, err error) (hypervisor.BuildResult, error) {
	if err != nil {
		return hypervisor.BuildResult{}, err
	}
	if rep.Build == nil {
		return hypervisor.BuildResult{}, fmt.Errorf("hvremote: %s: empty reply: %w", method, errdefs.ErrUnavailable)
	}
	return *rep.Build, nil
}

// SetMemoryTarget sets a domain's balloon target.
func (c *Client) SetMemoryTarget(ctx context.Context, id hypervisor.DomID, kib uint64) error {
	_, err := c.call(ctx, &request{Method: mSetMemoryTarget, ID: id, KiB: kib})
	return err
}

// EnableDirtyLog starts dirty-page logging of a domain.
func (c *Client) EnableDirtyLog(ctx context.Context, id hypervisor.DomID) error {
	_, err := c.call(ctx, &request{Method: mEnableDirtyLog, ID: id})
	return err
}

// DisableDirtyLog stops dirty-page logging of a domain.
func (c *Client) DisableDirtyLog(ctx context.Context, id hypervisor.DomID) error {
	_, err := c.call(ctx, &request{Method: mDisableDirtyLog, ID: id})
	return err
}

// ReadDirtyLog returns the pages a domain dirtied.
func (c *Client) ReadDirtyLog(ctx context.Context, id hypervisor.DomID, clear bool) ([]uint64, error) {
	rep, err := c.call(ctx, &request{Method: mReadDirtyLog, ID: id, Clear: clear})
	if err != nil {
		return nil, err
	}
	return rep.PFNs, nil
}

// WritePage writes guest memory from outside (hypervisortest.PageAccess);
// the server's hypervisor must have it.
func (c *Client) WritePage(ctx context.Context, id hypervisor.DomID, pfn uint64, data []byte) error {
	_, err := c.call(ctx, &request{Method: mWritePage, ID: id, PFN: pfn, Data: data})
	return err
}

// WritePageAt writes data into a guest page at offset, leaving the rest of
// the page as the guest has it (a console daemon advancing a ring index
// does not undo what the guest wrote meanwhile).
func (c *Client) WritePageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset int, data []byte) error {
	_, err := c.call(ctx, &request{Method: mWritePageAt, ID: id, PFN: pfn, Offset: offset, Data: data})
	return err
}

// ReadPage returns a copy of a guest page (hypervisortest.PageAccess).
func (c *Client) ReadPage(ctx context.Context, id hypervisor.DomID, pfn uint64) ([]byte, error) {
	rep, err := c.call(ctx, &request{Method: mReadPage, ID: id, PFN: pfn})
	if err != nil {
		return nil, err
	}
	return rep.Data, nil
}

// ReadPageAt returns a copy of n bytes of a guest page from offset; the
// server's hypervisor must have it (hvsim.Sim does).
func (c *Client) ReadPageAt(ctx context.Context, id hypervisor.DomID, pfn uint64, offset, n int) ([]byte, error) {
	rep, err := c.call(ctx, &request{Method: mReadPageAt, ID: id, PFN: pfn, Offset: offset, N: n})
	if err != nil {
		return nil, err
	}
	if len(rep.Data) != n {
		return nil, fmt.Errorf("hvremote: %s: %d bytes instead of %d: %w", mReadPageAt, len(rep.Data), n,
			errdefs.ErrUnavailable)
	}
	return rep.Data, nil
}

// MemoryChecksum returns a digest of a domain's memory
// (hypervisortest.PageAccess).
func (c *Client) MemoryChecksum(ctx context.Context, id hypervisor.DomID) ([32]byte, error) {
	var sum [32]byte
	rep, err := c.call(ctx, &request{Method: mMemoryChecksum, ID: id})
	if err != nil {
		return sum, err
	}
	if len(rep.Data) != len(sum) {
		return sum, fmt.Errorf("hvremote: MemoryChecksum: %d bytes: %w", len(rep.Data), errdefs.ErrUnavailable)
	}
	copy(sum[:], rep.Data)
	return sum, nil
}
