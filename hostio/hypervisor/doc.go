// Package hypervisor is the domain-control boundary of xenactor, shaped after
// libxenctrl and libxenguest.
//
// Hypervisor is the whole interface; it is made of small ones (Domains,
// Builder, Memory, Events, Migration) so that callers ask only for what they
// use. Implementations are the simulator in hypervisor/hvsim and the cgo
// implementation against the real libraries in hypervisor/xen (build tag
// xen); both run the conformance suite in hypervisor/hypervisortest.
//
// The package also defines the memory image format written by
// Migration.Save and Migration.ReadPages and read by Migration.Restore: a
// sequence of records, each a header of two little-endian 64-bit integers
// (type, length) followed by the body. An image is
//
//	PageBatch* Header PageBatch* VCPUContext* End
//
// where the PageBatch records before the Header are pre-copy rounds of a
// live migration (written by ReadPages while the guest still runs), and later
// copies of a page replace earlier ones.
//
// Errors wrap internal/errdefs values with the domain id: an unknown domain
// is ErrNotFound ("domain 7: not found"), an operation the domain's state
// forbids is ErrInvalid or ErrBusy, and a host without enough free memory is
// ErrResourceExhausted with the KiB needed and free.
package hypervisor
