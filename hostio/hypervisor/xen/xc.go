//go:build xen && linux && cgo

package xen

/*
#cgo LDFLAGS: -lxenguest -lxenctrl -lxenevtchn -lxentoollog
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xenguest.h>
#include <xenevtchn.h>
#include <xentoollog.h>

// xa_logger keeps the error messages of libxenctrl and libxenguest, so a
// failed build says why; everything below XTL_ERROR is dropped.
struct xa_logger {
	xentoollog_logger vtable;
	char buf[1024];
};

static void xa_vmessage(struct xentoollog_logger *lg, xentoollog_level level, int errnoval,
                        const char *context, const char *format, va_list al) {
	struct xa_logger *l = (struct xa_logger *)lg;
	size_t n;
	if (level < XTL_ERROR)
		return;
	n = strlen(l->buf);
	if (n > 0 && n < sizeof(l->buf) - 2) {
		strcpy(l->buf + n, "; ");
		n += 2;
	}
	if (n < sizeof(l->buf) - 1)
		vsnprintf(l->buf + n, sizeof(l->buf) - n, format, al);
	n = strlen(l->buf);
	if (errnoval > 0 && n < sizeof(l->buf) - 1)
		snprintf(l->buf + n, sizeof(l->buf) - n, " (%s)", strerror(errnoval));
}

static void xa_destroy(struct xentoollog_logger *lg) { free(lg); }

static struct xa_logger *xa_logger_new(void) {
	struct xa_logger *l = calloc(1, sizeof(*l));
	if (l) {
		l->vtable.vmessage = xa_vmessage;
		l->vtable.destroy = xa_destroy;
	}
	return l;
}

static xc_interface *xa_open(struct xa_logger *l) {
	return xc_interface_open((xentoollog_logger *)l, (xentoollog_logger *)l, 0);
}

// xa_create is XEN_DOMCTL_createdomain as libxl 4.17 fills it for a PV or
// PVH guest.
static int xa_create(xc_interface *xch, uint32_t *domid, const uint8_t *handle, int pvh,
                     unsigned int max_vcpus) {
	struct xen_domctl_createdomain c;
	memset(&c, 0, sizeof(c));
	memcpy(c.handle, handle, sizeof(c.handle));
	if (pvh) {
		c.flags = XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap;
		c.arch.emulation_flags = XEN_X86_EMU_LAPIC;
	}
	c.max_vcpus = max_vcpus;
	c.max_evtchn_port = 1023;
	c.max_grant_frames = 64;
	c.max_maptrack_frames = 1024;
	c.grant_opts = XEN_DOMCTL_GRANT_version(1);
	*domid = 0;
	return xc_domain_create(xch, domid, &c);
}

// xa_max_vcpus allocates the vCPUs, which Xen 4.17 still needs after
// XEN_DOMCTL_createdomain (XEN_DOMCTL_max_vcpus with the same count).
static int xa_max_vcpus(xc_interface *xch, uint32_t domid, unsigned int max) {
	return xc_domain_max_vcpus(xch, domid, max);
}

static int xa_cpuid(xc_interface *xch, uint32_t domid) {
	return xc_cpuid_apply_policy(xch, domid, false, NULL, 0, true, false, false, NULL, NULL);
}

struct xa_build {
	uint32_t domid;
	const char *kernel;
	const char *ramdisk;
	const char *cmdline;
	uint64_t mem_kib;
	uint32_t store_domid, console_domid;
	uint32_t store_port, console_port;
	unsigned int max_vcpus;
	// out
	uint64_t store_gfn, console_gfn;
	const char *step;
};

// xa_dom_open starts a domain build of container type: the image with
// b's command line, kernel and ramdisk (if any) loaded; NULL on failure,
// with b->step saying where.
static struct xc_dom_image *xa_dom_open(xc_interface *xch, struct xa_build *b, int container) {
	struct xc_dom_image *dom;

	b->step = "allocate";
	dom = xc_dom_allocate(xch, b->cmdline, NULL);
	if (!dom)
		return NULL;
	dom->container_type = container;
	b->step = "kernel";
	if (xc_dom_kernel_file(dom, b->kernel) != 0)
		goto fail;
	if (b->ramdisk && b->ramdisk[0]) {
		b->step = "ramdisk";
		if (xc_dom_module_file(dom, b->ramdisk, NULL) != 0)
			goto fail;
	}
	return dom;
fail:
	xc_dom_release(dom);
	return NULL;
}

// xa_build_pv is libxl__build_pv and libxl__build_dom of libxl 4.17,
// without vNUMA, device tree or a memory claim.
static int xa_build_pv(xc_interface *xch, struct xa_build *b) {
	struct xc_dom_image *dom;
	int rc = -1;

	dom = xa_dom_open(xch, b, XC_DOM_PV_CONTAINER);
	if (!dom)
		return -1;
	dom->flags = 0;
	dom->console_evtchn = b->console_port;
	dom->console_domid = b->console_domid;
	dom->xenstore_evtchn = b->store_port;
	dom->xenstore_domid = b->store_domid;
	dom->claim_enabled = 0;
	dom->max_vcpus = b->max_vcpus;
	b->step = "boot_xen_init";
	if (xc_dom_boot_xen_init(dom, xch, b->domid) != 0)
		goto out;
	b->step = "parse_image";
	if (xc_dom_parse_image(dom) != 0)
		goto out;
	b->step = "mem_init";
	if (xc_dom_mem_init(dom, (unsigned int)(b->mem_kib >> 10)) != 0)
		goto out;
	dom->total_pages = b->mem_kib >> 2;
	b->step = "boot_mem_init";
	if (xc_dom_boot_mem_init(dom) != 0)
		goto out;
	b->step = "build_image";
	if (xc_dom_build_image(dom) != 0)
		goto out;
	b->step = "boot_image";
	if (xc_dom_boot_image(dom) != 0)
		goto out;
	b->step = "gnttab_init";
	if (xc_dom_gnttab_init(dom) != 0)
		goto out;
	b->store_gfn = xc_dom_p2m(dom, dom->xenstore_pfn);
	b->console_gfn = xc_dom_p2m(dom, dom->console_pfn);
	b->step = "";
	rc = 0;
out:
	xc_dom_release(dom);
	return rc;
}

// xa_build_pvh is libxl__build_hvm of libxl 4.17 for a PVH guest booted
// straight into its kernel: no device model, no firmware, no ACPI tables.
// The memory map is libxl's: RAM below the MMIO hole, the HVM special
// pages reserved, RAM above 4 GiB for the rest.
static int xa_build_pvh(xc_interface *xch, struct xa_build *b) {
	struct xc_dom_image *dom;
	struct e820entry e820[3];
	unsigned int n = 0;
	uint64_t mem_size = b->mem_kib << 10, lowmem_end, highmem_end = 0, mmio_start, start;
	uint64_t v;
	int rc = -1;

	dom = xa_dom_open(xch, b, XC_DOM_HVM_CONTAINER);
	if (!dom)
		return -1;
	dom->target_pages = b->mem_kib >> 2;
	// The local APIC page, the ACPI area and the special pages are inside
	// the MMIO hole.
	start = (uint64_t)(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES) << XC_PAGE_SHIFT;
	if (start > 0xfee00000ULL)
		start = 0xfee00000ULL;
	if (start > 0xfc000000ULL)
		start = 0xfc000000ULL;
	dom->mmio_size = (1ULL << 32) - start;
	lowmem_end = mem_size;
	mmio_start = (1ULL << 32) - dom->mmio_size;
	if (lowmem_end > mmio_start) {
		highmem_end = (1ULL << 32) + (lowmem_end - mmio_start);
		lowmem_end = mmio_start;
	}
	dom->lowmem_end = lowmem_end;
	dom->highmem_end = highmem_end;
	dom->mmio_start = mmio_start;
	dom->vga_hole_size = 0;
	dom->device_model = false;
	dom->max_vcpus = b->max_vcpus;
	dom->console_evtchn = b->console_port;
	dom->console_domid = b->console_domid;
	dom->xenstore_evtchn = b->store_port;
	dom->xenstore_domid = b->store_domid;
	dom->claim_enabled = 0;

	e820[n].addr = 0;
	e820[n].size = lowmem_end;
	e820[n++].type = E820_RAM;
	e820[n].addr = (uint64_t)(X86_HVM_END_SPECIAL_REGION - X86_HVM_NR_SPECIAL_PAGES) << XC_PAGE_SHIFT;
	e820[n].size = (uint64_t)X86_HVM_NR_SPECIAL_PAGES << XC_PAGE_SHIFT;
	e820[n++].type = E820_RESERVED;
	if (highmem_end) {
		e820[n].addr = 1ULL << 32;
		e820[n].size = highmem_end - (1ULL << 32);
		e820[n++].type = E820_RAM;
	}

	b->step = "boot_xen_init";
	if (xc_dom_boot_xen_init(dom, xch, b->domid) != 0)
		goto out;
	b->step = "parse_image";
	if (xc_dom_parse_image(dom) != 0)
		goto out;
	b->step = "mem_init";
	if (xc_dom_mem_init(dom, (unsigned int)(b->mem_kib >> 10)) != 0)
		goto out;
	b->step = "boot_mem_init";
	if (xc_dom_boot_mem_init(dom) != 0)
		goto out;
	b->step = "set_memory_map";
	if (xc_domain_set_memory_map(xch, b->domid, e820, n) != 0)
		goto out;
	dom->e820 = e820;
	dom->e820_entries = n;
	b->step = "build_image";
	if (xc_dom_build_image(dom) != 0)
		goto out;
	b->step = "boot_image";
	if (xc_dom_boot_image(dom) != 0)
		goto out;
	b->step = "gnttab_init";
	if (xc_dom_gnttab_init(dom) != 0)
		goto out;
	b->step = "hvm_params";
	if (xc_hvm_param_get(xch, b->domid, HVM_PARAM_STORE_PFN, &v) != 0)
		goto out;
	b->store_gfn = v;
	if (xc_hvm_param_get(xch, b->domid, HVM_PARAM_CONSOLE_PFN, &v) != 0)
		goto out;
	b->console_gfn = v;
	if (xc_hvm_param_set(xch, b->domid, HVM_PARAM_STORE_EVTCHN, b->store_port) != 0 ||
	    xc_hvm_param_set(xch, b->domid, HVM_PARAM_CONSOLE_EVTCHN, b->console_port) != 0)
		goto out;
	b->step = "";
	rc = 0;
out:
	dom->e820 = NULL;
	dom->e820_entries = 0;
	xc_dom_release(dom);
	return rc;
}

static int xa_build(xc_interface *xch, struct xa_build *b, int pvh) {
	return pvh ? xa_build_pvh(xch, b) : xa_build_pv(xch, b);
}

static int xa_version(xc_interface *xch, char *buf, size_t len) {
	xen_extraversion_t extra;
	int v = xc_version(xch, XENVER_version, NULL);
	if (v < 0)
		return -1;
	if (xc_version(xch, XENVER_extraversion, &extra) < 0)
		return -1;
	extra[sizeof(extra) - 1] = 0;
	snprintf(buf, len, "%d.%d%s", v >> 16, v & 0xffff, extra);
	return 0;
}

static xenevtchn_port_or_error_t xa_bind_virq(xenevtchn_handle *xce) {
	return xenevtchn_bind_virq(xce, VIRQ_DOM_EXC);
}
*/
import "C"

import (
	"errors"
	"runtime"
	"syscall"
	"unsafe"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// xc is an open libxenctrl handle. Its hypercalls are safe for concurrent
// use; its last-error state is not, so builds open their own.
type xc struct {
	h  *C.xc_interface
	lg *C.struct_xa_logger
}

func openXC() (*xc, error) {
	lg := C.xa_logger_new()
	if lg == nil {
		return nil, syscall.ENOMEM
	}
	h, err := C.xa_open(lg)
	if h == nil {
		C.free(unsafe.Pointer(lg))
		if err == nil {
			err = syscall.EIO
		}
		return nil, err
	}
	return &xc{h: h, lg: lg}, nil
}

func (x *xc) close() {
	C.xc_interface_close(x.h)
	C.free(unsafe.Pointer(x.lg))
}

// lastError returns and clears what the libraries logged as errors.
func (x *xc) lastError() string {
	s := C.GoString(&x.lg.buf[0])
	x.lg.buf[0] = 0
	return s
}

// errnoOf turns cgo's errno of a failed call into an error, EIO if the
// library left none.
func errnoOf(err error) error {
	var e syscall.Errno
	if errors.As(err, &e) && e != 0 {
		return e
	}
	return syscall.EIO
}

func (x *xc) physinfo() (totalPages, freePages uint64, cpus int, err error) {
	var pi C.xc_physinfo_t
	if rc, err := C.xc_physinfo(x.h, &pi); rc != 0 {
		return 0, 0, 0, errnoOf(err)
	}
	return uint64(pi.total_pages), uint64(pi.free_pages), int(pi.nr_cpus), nil
}

func (x *xc) version() (string, error) {
	var buf [64]C.char
	if rc, err := C.xa_version(x.h, &buf[0], C.size_t(len(buf))); rc != 0 {
		return "", errnoOf(err)
	}
	return C.GoString(&buf[0]), nil
}

func (x *xc) create(handle [16]byte, pvh bool, vcpus int) (uint32, error) {
	var domid C.uint32_t
	p := 0
	if pvh {
		p = 1
	}
	if rc, err := C.xa_create(x.h, &domid, (*C.uint8_t)(unsafe.Pointer(&handle[0])), C.int(p), C.uint(vcpus)); rc != 0 {
		return 0, errnoOf(err)
	}
	return uint32(domid), nil
}

func (x *xc) maxVCPUs(domid uint32, n int) error {
	rc, err := C.xa_max_vcpus(x.h, C.uint32_t(domid), C.uint(n))
	return rcErr(rc, err)
}

func (x *xc) applyCPUID(domid uint32) error {
	rc, err := C.xa_cpuid(x.h, C.uint32_t(domid))
	return rcErr(rc, err)
}

// infoList returns up to max domains from first on, in id order.
func (x *xc) infoList(first uint32, max int) ([]rawInfo, error) {
	buf := make([]C.xc_domaininfo_t, max)
	n, err := C.xc_domain_getinfolist(x.h, C.uint32_t(first), C.uint(max), &buf[0])
	if n < 0 {
		return nil, errnoOf(err)
	}
	out := make([]rawInfo, n)
	for i := range out {
		d := &buf[i]
		out[i] = rawInfo{domid: uint32(d.domain), flags: uint32(d.flags), totPages: uint64(d.tot_pages),
			maxPages: uint64(d.max_pages), cpuTime: uint64(d.cpu_time), maxVCPUID: uint32(d.max_vcpu_id),
			emu: uint32(d.arch_config.emulation_flags)}
		for j := range out[i].handle {
			out[i].handle[j] = byte(d.handle[j])
		}
	}
	return out, nil
}

// rcErr is the error of a libxenctrl call that returned rc, with errno in
// err.
func rcErr(rc C.int, err error) error {
	if rc != 0 {
		return errnoOf(err)
	}
	return nil
}

func (x *xc) setMaxMem(domid uint32, kib uint64) error {
	rc, err := C.xc_domain_setmaxmem(x.h, C.uint32_t(domid), C.uint64_t(kib))
	return rcErr(rc, err)
}

func (x *xc) setMemmapLimit(domid uint32, kib uint64) error {
	rc, err := C.xc_domain_set_memmap_limit(x.h, C.uint32_t(domid), C.ulong(kib))
	return rcErr(rc, err)
}

func (x *xc) pause(domid uint32) error {
	rc, err := C.xc_domain_pause(x.h, C.uint32_t(domid))
	return rcErr(rc, err)
}

func (x *xc) unpause(domid uint32) error {
	rc, err := C.xc_domain_unpause(x.h, C.uint32_t(domid))
	return rcErr(rc, err)
}

func (x *xc) shutdown(domid uint32, reason int) error {
	rc, err := C.xc_domain_shutdown(x.h, C.uint32_t(domid), C.int(reason))
	return rcErr(rc, err)
}

func (x *xc) destroy(domid uint32) error {
	rc, err := C.xc_domain_destroy(x.h, C.uint32_t(domid))
	return rcErr(rc, err)
}

// allocUnbound allocates an unbound event channel in domid for remote to
// bind.
func (x *xc) allocUnbound(domid, remote uint32) (uint32, error) {
	port, err := C.xc_evtchn_alloc_unbound(x.h, C.uint32_t(domid), C.uint32_t(remote))
	if port < 0 {
		return 0, errnoOf(err)
	}
	return uint32(port), nil
}

// buildArgs is what build needs and returns.
type buildArgs struct {
	domid                    uint32
	kernel, ramdisk, cmdline string
	memKiB                   uint64
	storeDomid, consoleDomid uint32
	storePort, consolePort   uint32
	vcpus                    int
	pvh                      bool
	storeGFN, consoleGFN     uint64
}

// buildError is a failed build: the builder's stage, what the libraries
// logged, the errdefs kind and the errno.
type buildError struct {
	step, msg string
	kind      error
	errno     error
}

func (e *buildError) Error() string {
	msg := e.msg
	if msg == "" {
		msg = e.errno.Error()
	}
	return "xc_dom_" + e.step + ": " + msg
}

func (e *buildError) Unwrap() []error { return []error{e.kind, e.errno} }

// buildKind is the errdefs kind of a failed build: the library's error
// code when it says something (a bad kernel, too little memory), else the
// errno's.
func buildKind(code C.int, errno error) error {
	switch code {
	case C.XC_INVALID_KERNEL, C.XC_INVALID_PARAM:
		return errdefs.ErrInvalid
	case C.XC_OUT_OF_MEMORY:
		return errdefs.ErrResourceExhausted
	}
	return errnoKind(errno)
}

// build runs libxenguest's PV or PVH domain builder on a handle of its
// own, so the error says what the library logged; it is a *buildError.
func build(b *buildArgs) error {
	x, err := openXC()
	if err != nil {
		return &buildError{step: "open", kind: errnoKind(err), errno: err}
	}
	defer x.close()
	cs := func(s string) *C.char { return C.CString(s) }
	kernel, ramdisk, cmdline := cs(b.kernel), cs(b.ramdisk), cs(b.cmdline)
	defer C.free(unsafe.Pointer(kernel))
	defer C.free(unsafe.Pointer(ramdisk))
	defer C.free(unsafe.Pointer(cmdline))
	cb := (*C.struct_xa_build)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_xa_build{}))))
	defer C.free(unsafe.Pointer(cb))
	*cb = C.struct_xa_build{domid: C.uint32_t(b.domid), kernel: kernel, ramdisk: ramdisk, cmdline: cmdline,
		mem_kib: C.uint64_t(b.memKiB), store_domid: C.uint32_t(b.storeDomid),
		console_domid: C.uint32_t(b.consoleDomid), store_port: C.uint32_t(b.storePort),
		console_port: C.uint32_t(b.consolePort), max_vcpus: C.uint(b.vcpus)}
	// The builder is long and calls back into nothing of Go: keep it on
	// one thread so errno and the logger belong to this call.
	runtime.LockOSThread()
	pvh := C.int(0)
	if b.pvh {
		pvh = 1
	}
	rc, cerr := C.xa_build(x.h, cb, pvh)
	runtime.UnlockOSThread()
	if rc != 0 {
		errno := errnoOf(cerr)
		var code C.int
		if last := C.xc_get_last_error(x.h); last != nil {
			code = C.int(last.code)
		}
		return &buildError{step: C.GoString(cb.step), msg: x.lastError(), kind: buildKind(code, errno), errno: errno}
	}
	b.storeGFN, b.consoleGFN = uint64(cb.store_gfn), uint64(cb.console_gfn)
	return nil
}

// virq is VIRQ_DOM_EXC bound on an event channel handle.
type virq struct {
	h    *C.xenevtchn_handle
	port uint32
}

// bindVIRQ opens an event channel handle and binds VIRQ_DOM_EXC; it fails
// with EEXIST or EBUSY when another process (the C xenstored) holds it.
func bindVIRQ() (*virq, error) {
	h, err := C.xenevtchn_open(nil, 0)
	if h == nil {
		return nil, errnoOf(err)
	}
	port, err := C.xa_bind_virq(h)
	if port < 0 {
		C.xenevtchn_close(h)
		return nil, errnoOf(err)
	}
	return &virq{h: h, port: uint32(port)}, nil
}

// fd is the handle's file descriptor: reading it returns pending ports
// (32 bits each), writing a port unmasks it.
func (v *virq) fd() int { return int(C.xenevtchn_fd(v.h)) }

func (v *virq) close() {
	C.xenevtchn_unbind(v.h, C.evtchn_port_t(v.port))
	C.xenevtchn_close(v.h)
}

// The values decode.go copies from the headers: a mismatch fails the build.
var (
	_ [0]struct{} = [dominfDying ^ C.XEN_DOMINF_dying]struct{}{}
	_ [0]struct{} = [dominfHVM ^ C.XEN_DOMINF_hvm_guest]struct{}{}
	_ [0]struct{} = [dominfShutdown ^ C.XEN_DOMINF_shutdown]struct{}{}
	_ [0]struct{} = [dominfPaused ^ C.XEN_DOMINF_paused]struct{}{}
	_ [0]struct{} = [dominfBlocked ^ C.XEN_DOMINF_blocked]struct{}{}
	_ [0]struct{} = [dominfRunning ^ C.XEN_DOMINF_running]struct{}{}
	_ [0]struct{} = [dominfShutdownShift ^ C.XEN_DOMINF_shutdownshift]struct{}{}
	_ [0]struct{} = [dominfShutdownMask ^ C.XEN_DOMINF_shutdownmask]struct{}{}
	_ [0]struct{} = [emuLAPIC ^ C.XEN_X86_EMU_LAPIC]struct{}{}
	_ [0]struct{} = [emuPIC ^ C.XEN_X86_EMU_PIC]struct{}{}
	_ [0]struct{} = [invalidVCPUID ^ C.XEN_INVALID_MAX_VCPU_ID]struct{}{}
)
