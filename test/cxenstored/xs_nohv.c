//go:build ignore

// The build constraint above keeps the go tool from treating this file as cgo
// source: package cxenstored embeds it and compiles it with gcc at run time.

/* LD_PRELOAD shim: lets Debian's real C xenstored (4.17) run with no hypervisor.
 * Stubs libxenctrl/libxenevtchn/libxengnttab entry points used by xenstored and
 * redirects /proc/xen/xsd_{port,kva} to files under $XS_FAKE_DIR. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static char dummy_xc, dummy_xgt;
struct fake_xce { int rfd, wfd; };
static int next_port = 10;

static const char *rewrite(const char *p, char *buf, size_t n) {
    const char *d = getenv("XS_FAKE_DIR");
    if (d && p && strncmp(p, "/proc/xen/", 10) == 0) {
        snprintf(buf, n, "%s/%s", d, p + 10);
        return buf;
    }
    return p;
}
#define WRAP_OPEN(name)                                                       \
int name(const char *p, int fl, ...) {                                        \
    static int (*real)(const char *, int, ...);                               \
    char b[4096]; mode_t m = 0;                                               \
    if (!real) real = dlsym(RTLD_NEXT, #name);                                \
    if (fl & O_CREAT) { va_list a; va_start(a, fl); m = va_arg(a, int); va_end(a); } \
    return real(rewrite(p, b, sizeof b), fl, m);                              \
}
WRAP_OPEN(open)
WRAP_OPEN(open64)
FILE *fopen(const char *p, const char *mode) {
    static FILE *(*real)(const char *, const char *);
    char b[4096];
    if (!real) real = dlsym(RTLD_NEXT, "fopen");
    return real(rewrite(p, b, sizeof b), mode);
}
FILE *fopen64(const char *p, const char *mode) { return fopen(p, mode); }

/* libxenctrl */
void *xc_interface_open(void *l, void *dl, unsigned f) { (void)l; (void)dl; (void)f; return &dummy_xc; }
int xc_interface_close(void *x) { (void)x; return 0; }
/* every asked-for domain "exists" and is running: fill domid, ssidref, flag bits */
int xc_domain_getinfo(void *x, uint32_t first, unsigned max, void *info) {
    (void)x; if (!max) return 0;
    uint32_t *w = info; w[0] = first; w[1] = 0; w[2] = 0;
    return 1;
}
/* libxenevtchn */
void *xenevtchn_open(void *l, unsigned f) {
    (void)l; (void)f; struct fake_xce *h = malloc(sizeof *h); int p[2];
    if (!h || pipe2(p, O_CLOEXEC)) return NULL;
    h->rfd = p[0]; h->wfd = p[1]; return h;
}
void *xenevtchn_fdopen(void *l, int fd, unsigned f) { (void)fd; return xenevtchn_open(l, f); }
int xenevtchn_close(void *h) { (void)h; return 0; }
int xenevtchn_fd(void *h) { return ((struct fake_xce *)h)->rfd; }
int xenevtchn_bind_virq(void *h, unsigned v) { (void)h; (void)v; return 1; }
int xenevtchn_bind_interdomain(void *h, uint32_t d, uint32_t rp) { (void)h; (void)d; (void)rp; return next_port++; }
int xenevtchn_notify(void *h, uint32_t p) { (void)h; (void)p; return 0; }
int xenevtchn_unbind(void *h, uint32_t p) { (void)h; (void)p; return 0; }
int xenevtchn_pending(void *h) { (void)h; errno = EAGAIN; return -1; }
int xenevtchn_unmask(void *h, uint32_t p) { (void)h; (void)p; return 0; }
/* libxengnttab: "mapping" a guest's xenstore ring gives a private zeroed page */
void *xengnttab_open(void *l, unsigned f) { (void)l; (void)f; return &dummy_xgt; }
int xengnttab_close(void *g) { (void)g; return 0; }
int xengnttab_set_max_grants(void *g, uint32_t n) { (void)g; (void)n; return 0; }
void *xengnttab_map_grant_ref(void *g, uint32_t d, uint32_t r, int prot) {
    (void)g; (void)d; (void)r; (void)prot;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
int xengnttab_unmap(void *g, void *start, uint32_t count) { (void)g; return munmap(start, count * 4096); }

/* extra stubs used by oxenstored */
int xc_domain_getinfolist(void *x, uint32_t first, unsigned max, void *info) {
    /* xc_domaininfo_t: uint16 domain; uint16 pad; uint32 flags; ... -> report 'first' as alive */
    (void)x; if (!max) return 0;
    uint16_t *d = info; d[0] = (uint16_t)first; d[1] = 0; ((uint32_t *)info)[1] = 0;
    return 1;
}
void *xc_map_foreign_range(void *x, uint32_t dom, int size, int prot, unsigned long mfn) {
    (void)x; (void)dom; (void)prot; (void)mfn;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
