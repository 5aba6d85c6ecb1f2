/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm_state.c — save and restore the KVM state of a vCPU and of the VM as
 * record buffers (kvm_state.h). Plain fds in, bytes out; the record format
 * and its checks are in kvm_state_codec.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot.h"
#include "kvm_state.h"
#include "vmm.h"

/* KVM_GET_MSRS / KVM_SET_MSRS take fewer than MAX_IO_MSRS (256) entries. */
#define MSR_IO_MAX 255u

#define MSR_IA32_SPEC_CTRL      0x00000048u
#define MSR_MTRR_PHYSBASE0      0x00000200u
#define MSR_MTRR_FIX64K_00000   0x00000250u
#define MSR_MTRR_FIX16K_80000   0x00000258u
#define MSR_MTRR_FIX16K_A0000   0x00000259u
#define MSR_MTRR_FIX4K_C0000    0x00000268u
#define MSR_IA32_CR_PAT         0x00000277u
#define MSR_MTRR_DEF_TYPE       0x000002ffu
#define MSR_IA32_BNDCFGS        0x00000d90u
#define MSR_TSC_AUX             0xc0000103u
#define MSR_KVM_RANGE_FIRST     0x4b564d00u
#define MSR_KVM_RANGE_LAST      0x4b564dffu
#define MSR_KVM_ASYNC_PF_EN     0x4b564d02u
#define MSR_KVM_ASYNC_PF_INT    0x4b564d06u

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "vCPU 1: KVM_SET_SREGS: Invalid argument"; returns -errno. */
static int ioctl_fail(char *err, size_t errlen, const char *who, const char *what)
{
	int e = errno ? errno : EIO;

	seterr(err, errlen, "%s: %s: %s", who, what, strerror(e));
	return -e;
}

/* ------------------------------------------------------------------ */
/* MSR batches                                                         */
/* ------------------------------------------------------------------ */

/* KVM_GET_MSRS or KVM_SET_MSRS (req) over e[0..n), at most MSR_IO_MAX at a
 * time. Both ioctls stop at the first MSR the kernel refuses and return how
 * many they did; that entry's index into e goes to refused[] (when not
 * NULL, room for n) and the batch goes on after it. Returns 0 or -errno of
 * a failed ioctl. */
static int msr_io(int fd, unsigned long req, struct kvm_msr_entry *e, unsigned n,
		  unsigned *refused, unsigned *nrefused)
{
	struct kvm_msrs *m;
	unsigned done = 0;

	if (nrefused)
		*nrefused = 0;
	if (!n)
		return 0;
	m = calloc(1, sizeof(*m) + (n < MSR_IO_MAX ? n : MSR_IO_MAX) * sizeof(*e));
	if (!m)
		return -ENOMEM;
	while (done < n) {
		unsigned chunk = n - done < MSR_IO_MAX ? n - done : MSR_IO_MAX;
		int r;

		m->nmsrs = chunk;
		memcpy(m->entries, e + done, chunk * sizeof(*e));
		r = ioctl(fd, req, m);
		if (r < 0) {
			int ret = -errno;

			free(m);
			return ret;
		}
		if ((unsigned)r > chunk)
			r = (int)chunk;
		memcpy(e + done, m->entries, (unsigned)r * sizeof(*e));
		done += (unsigned)r;
		if ((unsigned)r < chunk) {
			if (refused)
				refused[(*nrefused)++] = done;
			else if (nrefused)
				(*nrefused)++;
			done++;
		}
	}
	free(m);
	return 0;
}

static int read_msr(int vcpu_fd, uint32_t index, uint64_t *val)
{
	struct kvm_msr_entry e = { .index = index };
	unsigned nref = 0;
	int r = msr_io(vcpu_fd, KVM_GET_MSRS, &e, 1, NULL, &nref);

	if (r)
		return r;
	if (nref)
		return -ENOENT;
	*val = e.data;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Which MSRs a save reads                                             */
/* ------------------------------------------------------------------ */

static pthread_mutex_t msr_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t *msr_list;        /* probed: KVM_GET_MSRS reads each */
static unsigned msr_count;

static int get_cpuid2(int vcpu_fd, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + KVM_STATE_MAX_CPUID *
						     sizeof(struct kvm_cpuid_entry2));

	if (!c)
		return -ENOMEM;
	c->nent = KVM_STATE_MAX_CPUID;
	if (ioctl(vcpu_fd, KVM_GET_CPUID2, c) < 0) {
		int ret = -errno;

		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

static const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, uint32_t fn,
						  uint32_t idx)
{
	for (uint32_t i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

enum cpuid_reg { EAX, EBX, ECX, EDX };

static bool cpuid_bit(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, enum cpuid_reg reg,
		      int bit)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);
	uint32_t v;

	if (!e)
		return false;
	v = reg == EAX ? e->eax : reg == EBX ? e->ebx : reg == ECX ? e->ecx : e->edx;
	return (v >> bit) & 1;
}

struct u32vec {
	uint32_t *v;
	unsigned n, cap;
};

static int vec_add(struct u32vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		unsigned cap = a->cap ? a->cap * 2 : 256;
		uint32_t *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

/* MSRs KVM handles that its index list may leave out, implied by the
 * vCPU's CPUID (Firecracker's msrs_to_save_by_cpuid, vendor-neutral):
 *  - MTRR (leaf 1 EDX[12]): the variable and fixed MTRRs, PAT and
 *    MTRRdefType. KVM never lists them; wisp sets MTRRdefType at boot and
 *    Linux programs PAT.
 *  - RDTSCP (0x80000001 EDX[27]) or RDPID (leaf 7 ECX[22]): TSC_AUX, the
 *    guest's CPU number for rdtscp/rdpid. KVM lists it only when the host
 *    caps say so; PVM handles it but leaves it out.
 *  - IBRS/SSBD (leaf 7 EDX[26,31], 0x80000008 EBX[14,24]): SPEC_CTRL, the
 *    guest's mitigation settings.
 *  - MPX (leaf 7 EBX[14]): BNDCFGS (Firecracker's Intel list).
 * plus the MSRs wisp itself sets at boot (boot_msrs()). */
static int add_cpuid_msrs(struct u32vec *a, const struct kvm_cpuid2 *c)
{
	struct kvm_msr_entry boot[32];
	unsigned nb = boot_msrs(boot, 32);
	int r = 0;

	for (unsigned i = 0; i < nb && !r; i++)
		r = vec_add(a, boot[i].index);
	if (cpuid_bit(c, 1, 0, EDX, 12)) {
		for (uint32_t m = MSR_MTRR_PHYSBASE0; m < MSR_MTRR_PHYSBASE0 + 16 && !r; m++)
			r = vec_add(a, m);
		for (uint32_t m = MSR_MTRR_FIX4K_C0000; m < MSR_MTRR_FIX4K_C0000 + 8 && !r; m++)
			r = vec_add(a, m);
		r = r ? r : vec_add(a, MSR_MTRR_FIX64K_00000);
		r = r ? r : vec_add(a, MSR_MTRR_FIX16K_80000);
		r = r ? r : vec_add(a, MSR_MTRR_FIX16K_A0000);
		r = r ? r : vec_add(a, MSR_IA32_CR_PAT);
		r = r ? r : vec_add(a, MSR_MTRR_DEF_TYPE);
	}
	if (!r && (cpuid_bit(c, 0x80000001, 0, EDX, 27) || cpuid_bit(c, 7, 0, ECX, 22)))
		r = vec_add(a, MSR_TSC_AUX);
	if (!r && (cpuid_bit(c, 7, 0, EDX, 26) || cpuid_bit(c, 7, 0, EDX, 31) ||
		   cpuid_bit(c, 0x80000008, 0, EBX, 14) || cpuid_bit(c, 0x80000008, 0, EBX, 24)))
		r = vec_add(a, MSR_IA32_SPEC_CTRL);
	if (!r && cpuid_bit(c, 7, 0, EBX, 14))
		r = vec_add(a, MSR_IA32_BNDCFGS);
	return r;
}

static int add_index_list(struct u32vec *a, int kvm_fd, unsigned *nlisted)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	int r = 0;

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	l = calloc(1, sizeof(*l) + (probe.nmsrs + 1) * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs + 1;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		r = -errno;
		free(l);
		return r;
	}
	for (uint32_t i = 0; i < l->nmsrs && !r; i++)
		r = vec_add(a, l->indices[i]);
	*nlisted = l->nmsrs;
	free(l);
	return r;
}

/* Sorted, without duplicates; then MSR_KVM_ASYNC_PF_INT moved before
 * MSR_KVM_ASYNC_PF_EN (enabling async PF delivery as an interrupt needs the
 * vector first, as QEMU orders them). Restore writes in this order. */
static void order_msrs(struct u32vec *a)
{
	unsigned n = 0, en = a->n, in = a->n;

	/* Insertion sort: a few hundred entries, and glibc's qsort may call
	 * sysinfo(), which the VMM thread's seccomp filter does not allow. */
	for (unsigned i = 1; i < a->n; i++) {
		uint32_t v = a->v[i];
		unsigned j = i;

		for (; j > 0 && a->v[j - 1] > v; j--)
			a->v[j] = a->v[j - 1];
		a->v[j] = v;
	}
	for (unsigned i = 0; i < a->n; i++)
		if (!n || a->v[i] != a->v[n - 1])
			a->v[n++] = a->v[i];
	a->n = n;
	for (unsigned i = 0; i < n; i++) {
		if (a->v[i] == MSR_KVM_ASYNC_PF_EN)
			en = i;
		if (a->v[i] == MSR_KVM_ASYNC_PF_INT)
			in = i;
	}
	if (en < in && in < n) {
		memmove(&a->v[en + 1], &a->v[en], (in - en) * sizeof(*a->v));
		a->v[en] = MSR_KVM_ASYNC_PF_INT;
	}
}

static void log_probe(const struct u32vec *cand, const bool *ok, unsigned nlisted)
{
	char present[512], refused[512];
	size_t pl = 0, rl = 0;
	unsigned nok = 0, nrange_ok = 0, nrange_ref = 0, nref = 0;

	present[0] = refused[0] = '\0';
	for (unsigned i = 0; i < cand->n; i++) {
		uint32_t m = cand->v[i];
		bool in_range = m >= MSR_KVM_RANGE_FIRST && m <= MSR_KVM_RANGE_LAST;

		if (ok[i]) {
			nok++;
			if (in_range) {
				nrange_ok++;
				if (pl < sizeof(present) - 16)
					pl += (size_t)snprintf(present + pl, sizeof(present) - pl, " %#x", m);
			}
		} else if (in_range) {
			nrange_ref++;
		} else {
			nref++;
			if (rl < sizeof(refused) - 16)
				rl += (size_t)snprintf(refused + rl, sizeof(refused) - rl, " %#x", m);
		}
	}
	log_info("vCPU state: saving %u MSRs (KVM_GET_MSR_INDEX_LIST gave %u); "
		 "KVM/PVM range %#x-%#x: %u readable:%s, %u refused",
		 nok, nlisted, MSR_KVM_RANGE_FIRST, MSR_KVM_RANGE_LAST, nrange_ok, present,
		 nrange_ref);
	if (nref)
		log_info("vCPU state: KVM_GET_MSRS refuses %u listed or CPUID-implied MSRs, not saved:%s",
			 nref, refused);
}

/* Build the candidate list and keep what KVM_GET_MSRS reads; msr_mu held. */
static int msr_probe(int kvm_fd, int vcpu_fd, const char *who, char *err, size_t errlen)
{
	struct u32vec cand = { 0 };
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_msr_entry *e = NULL;
	unsigned *refused = NULL, nrefused = 0, nlisted = 0, n = 0;
	uint32_t *list = NULL;
	bool *ok = NULL;
	int r;

	r = add_index_list(&cand, kvm_fd, &nlisted);
	if (r) {
		errno = -r;
		r = ioctl_fail(err, errlen, who, "KVM_GET_MSR_INDEX_LIST");
		goto out;
	}
	r = get_cpuid2(vcpu_fd, &cpuid);
	if (r) {
		errno = -r;
		r = ioctl_fail(err, errlen, who, "KVM_GET_CPUID2");
		goto out;
	}
	r = add_cpuid_msrs(&cand, cpuid);
	for (uint32_t m = MSR_KVM_RANGE_FIRST; m <= MSR_KVM_RANGE_LAST && !r; m++)
		r = vec_add(&cand, m);
	if (r)
		goto oom;
	order_msrs(&cand);

	e = calloc(cand.n, sizeof(*e));
	refused = calloc(cand.n, sizeof(*refused));
	ok = calloc(cand.n, sizeof(*ok));
	list = calloc(cand.n, sizeof(*list));
	if (!e || !refused || !ok || !list)
		goto oom;
	for (unsigned i = 0; i < cand.n; i++)
		e[i].index = cand.v[i];
	/* One pass reads them all: a refused MSR ends a batch, the next batch
	 * starts after it, so this costs one ioctl per refusal. */
	r = msr_io(vcpu_fd, KVM_GET_MSRS, e, cand.n, refused, &nrefused);
	if (r) {
		errno = -r;
		r = ioctl_fail(err, errlen, who, "KVM_GET_MSRS");
		goto out;
	}
	for (unsigned i = 0; i < cand.n; i++)
		ok[i] = true;
	for (unsigned i = 0; i < nrefused; i++)
		ok[refused[i]] = false;
	for (unsigned i = 0; i < cand.n; i++)
		if (ok[i])
			list[n++] = cand.v[i];
	log_probe(&cand, ok, nlisted);
	if (n > KVM_STATE_MAX_MSRS) {
		seterr(err, errlen, "%s: KVM reads %u MSRs, a state record holds at most %u", who, n,
		       KVM_STATE_MAX_MSRS);
		r = -E2BIG;
		goto out;
	}
	msr_list = list;
	msr_count = n;
	list = NULL;
	r = 0;
	goto out;
oom:
	seterr(err, errlen, "%s: out of memory", who);
	r = -ENOMEM;
out:
	free(cand.v);
	free(cpuid);
	free(e);
	free(refused);
	free(ok);
	free(list);
	return r;
}

static int msr_list_get(int kvm_fd, int vcpu_fd, const char *who, const uint32_t **list,
			unsigned *n, char *err, size_t errlen)
{
	int r = 0;

	pthread_mutex_lock(&msr_mu);
	if (!msr_list)
		r = msr_probe(kvm_fd, vcpu_fd, who, err, errlen);
	if (!r) {
		*list = msr_list;
		*n = msr_count;
	}
	pthread_mutex_unlock(&msr_mu);
	return r;
}

int kvm_state_msr_list(int kvm_fd, int vcpu_fd, const uint32_t **list, unsigned *n, char *err,
		       size_t errlen)
{
	return msr_list_get(kvm_fd, vcpu_fd, "vCPU state", list, n, err, errlen);
}

/* ------------------------------------------------------------------ */
/* vCPU save                                                           */
/* ------------------------------------------------------------------ */

static int xsave2_size(int kvm_fd)
{
	int size = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	if (size <= 0)
		return 0;
	return size < (int)KVM_STATE_XSAVE_MIN ? (int)KVM_STATE_XSAVE_MIN : size;
}

#define PUT(tag, ptr, size)                                                           \
	do {                                                                          \
		if (kvm_state_put(&b, (tag), (ptr), (uint32_t)(size)))                \
			goto oom;                                                     \
	} while (0)

#define GET(req, name, dst)                                                           \
	do {                                                                          \
		if (ioctl(vcpu_fd, (req), (dst)) < 0) {                               \
			r = ioctl_fail(err, errlen, who, (name));                     \
			goto fail;                                                    \
		}                                                                     \
	} while (0)

static int save_msrs(struct kvm_state_buf *b, int kvm_fd, int vcpu_fd, const char *who,
		     char *err, size_t errlen)
{
	const uint32_t *list;
	unsigned n, nref = 0, *refused = NULL, k = 0;
	struct kvm_msr_entry *e;
	uint8_t *p;
	int r;

	r = msr_list_get(kvm_fd, vcpu_fd, who, &list, &n, err, errlen);
	if (r)
		return r;
	e = calloc(n ? n : 1, sizeof(*e));
	refused = calloc(n ? n : 1, sizeof(*refused));
	if (!e || !refused) {
		r = -ENOMEM;
		seterr(err, errlen, "%s: out of memory", who);
		goto out;
	}
	for (unsigned i = 0; i < n; i++)
		e[i].index = list[i];
	r = msr_io(vcpu_fd, KVM_GET_MSRS, e, n, refused, &nref);
	if (r) {
		errno = -r;
		r = ioctl_fail(err, errlen, who, "KVM_GET_MSRS");
		goto out;
	}
	/* The probe read them all; one refused now is left out, not fatal. */
	for (unsigned i = 0, j = 0; i < n; i++) {
		if (j < nref && refused[j] == i) {
			log_debug("%s: KVM_GET_MSRS refused MSR %#x this time, not saved", who,
				  e[i].index);
			j++;
			continue;
		}
		e[k++] = e[i];
	}
	p = kvm_state_put_begin(b, KVM_STATE_VCPU_MSRS,
				(uint32_t)(sizeof(struct kvm_msrs) + k * sizeof(*e)));
	if (!p) {
		r = -ENOMEM;
		seterr(err, errlen, "%s: out of memory", who);
		goto out;
	}
	memcpy(p, &k, sizeof(k));
	memcpy(p + sizeof(struct kvm_msrs), e, k * sizeof(*e));
out:
	free(e);
	free(refused);
	return r;
}

int kvm_vcpu_state_save(int kvm_fd, int vcpu_fd, unsigned vcpu_id, uint8_t **out, size_t *outlen,
			char *err, size_t errlen)
{
	struct kvm_state_buf b = { 0 };
	struct kvm_state_tsc_khz tsc = { 0 };
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state *lapic = NULL;
	struct kvm_vcpu_events events;
	char who[32];
	int r, khz, xsize;
	uint8_t *p;

	snprintf(who, sizeof(who), "vCPU %u", vcpu_id);
	*out = NULL;
	*outlen = 0;

	khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0)
		tsc.khz = (uint32_t)khz;
	else
		log_debug("%s: KVM_GET_TSC_KHZ: %s; the TSC frequency is not saved", who,
			  strerror(errno));
	PUT(KVM_STATE_VCPU_TSC_KHZ, &tsc, sizeof(tsc));

	r = get_cpuid2(vcpu_fd, &cpuid);
	if (r) {
		errno = -r;
		r = ioctl_fail(err, errlen, who, "KVM_GET_CPUID2");
		goto fail;
	}
	PUT(KVM_STATE_VCPU_CPUID, cpuid,
	    sizeof(*cpuid) + cpuid->nent * sizeof(struct kvm_cpuid_entry2));

	GET(KVM_GET_MP_STATE, "KVM_GET_MP_STATE", &mp);
	PUT(KVM_STATE_VCPU_MP_STATE, &mp, sizeof(mp));
	GET(KVM_GET_REGS, "KVM_GET_REGS", &regs);
	PUT(KVM_STATE_VCPU_REGS, &regs, sizeof(regs));
	GET(KVM_GET_SREGS, "KVM_GET_SREGS", &sregs);
	PUT(KVM_STATE_VCPU_SREGS, &sregs, sizeof(sregs));

	xsize = xsave2_size(kvm_fd);
	if (xsize > (int)KVM_STATE_XSAVE_MAX) {
		seterr(err, errlen, "%s: KVM_CAP_XSAVE2 says %d bytes of XSAVE state, more than %u",
		       who, xsize, KVM_STATE_XSAVE_MAX);
		r = -E2BIG;
		goto fail;
	}
	p = kvm_state_put_begin(&b, KVM_STATE_VCPU_XSAVE,
				xsize ? (uint32_t)xsize : KVM_STATE_XSAVE_MIN);
	if (!p)
		goto oom;
	if (xsize)
		GET(KVM_GET_XSAVE2, "KVM_GET_XSAVE2", p);
	else
		GET(KVM_GET_XSAVE, "KVM_GET_XSAVE", p);

	GET(KVM_GET_XCRS, "KVM_GET_XCRS", &xcrs);
	PUT(KVM_STATE_VCPU_XCRS, &xcrs, sizeof(xcrs));
	GET(KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS", &dregs);
	PUT(KVM_STATE_VCPU_DEBUGREGS, &dregs, sizeof(dregs));
	lapic = malloc(sizeof(*lapic));
	if (!lapic)
		goto oom;
	GET(KVM_GET_LAPIC, "KVM_GET_LAPIC", lapic);
	PUT(KVM_STATE_VCPU_LAPIC, lapic, sizeof(*lapic));

	r = save_msrs(&b, kvm_fd, vcpu_fd, who, err, errlen);
	if (r)
		goto fail;

	GET(KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", &events);
	PUT(KVM_STATE_VCPU_EVENTS, &events, sizeof(events));

	free(cpuid);
	free(lapic);
	*out = b.data;
	*outlen = b.len;
	return 0;
oom:
	seterr(err, errlen, "%s: out of memory", who);
	r = -ENOMEM;
fail:
	free(cpuid);
	free(lapic);
	free(b.data);
	return r;
}

/* ------------------------------------------------------------------ */
/* vCPU restore                                                        */
/* ------------------------------------------------------------------ */

/* A fixed-size record of a checked buffer into dst. */
static void take(const uint8_t *buf, size_t len, uint32_t tag, void *dst, size_t size)
{
	uint32_t plen = 0;
	const uint8_t *p = kvm_state_find(buf, len, tag, &plen);

	memset(dst, 0, size);
	if (p)
		memcpy(dst, p, plen < size ? plen : size);
}

/* A variable-size record of a checked buffer, copied to aligned memory of
 * at least min bytes (zero-filled past the record). NULL on -ENOMEM. */
static void *take_var(const uint8_t *buf, size_t len, uint32_t tag, size_t min, uint32_t *plen)
{
	const uint8_t *p = kvm_state_find(buf, len, tag, plen);
	size_t size = *plen > min ? *plen : min;
	void *d = calloc(1, size ? size : 1);

	if (d && p)
		memcpy(d, p, *plen);
	return d;
}

static void restore_tsc_khz(int vcpu_fd, const char *who, uint32_t khz)
{
	int cur;

	if (!khz)
		return;
	cur = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (cur == (int)khz)
		return;
	if (ioctl(vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0) {
		if (cur > 0)
			log_warn("%s: KVM_SET_TSC_KHZ %u (this vCPU's TSC runs at %d kHz): %s; the "
				 "guest's TSC keeps this host's rate",
				 who, khz, cur, strerror(errno));
		else
			log_warn("%s: KVM_SET_TSC_KHZ %u: %s", who, khz, strerror(errno));
	} else {
		log_info("%s: TSC frequency set to the saved %u kHz (was %d kHz)", who, khz, cur);
	}
}

static pthread_mutex_t refused_mu = PTHREAD_MUTEX_INITIALIZER;
static bool refused_logged;

/* KVM_SET_MSRS of the saved entries; an MSR the kernel refuses is skipped:
 * if the vCPU already holds the saved value (PVM's read-only information
 * MSRs) that is logged at info the first time, else at warn. */
static int restore_msrs(int vcpu_fd, const char *who, struct kvm_msr_entry *e, unsigned n,
			char *err, size_t errlen)
{
	unsigned *refused = calloc(n ? n : 1, sizeof(*refused)), nref = 0;
	char same[512];
	size_t sl = 0;
	unsigned nsame = 0;
	bool first;
	int r;

	if (!refused) {
		seterr(err, errlen, "%s: out of memory", who);
		return -ENOMEM;
	}
	/* msr_io writes the entries it sets back; keep the saved values. */
	r = msr_io(vcpu_fd, KVM_SET_MSRS, e, n, refused, &nref);
	if (r) {
		errno = -r;
		r = ioctl_fail(err, errlen, who, "KVM_SET_MSRS");
		goto out;
	}
	same[0] = '\0';
	for (unsigned i = 0; i < nref; i++) {
		const struct kvm_msr_entry *m = &e[refused[i]];
		uint64_t cur;

		if (read_msr(vcpu_fd, m->index, &cur) == 0 && cur == m->data) {
			nsame++;
			if (sl < sizeof(same) - 40)
				sl += (size_t)snprintf(same + sl, sizeof(same) - sl, " %#x(=%#llx)",
						       m->index, (unsigned long long)m->data);
		} else {
			log_warn("%s: KVM_SET_MSRS refuses MSR %#x: saved %#llx not restored", who,
				 m->index, (unsigned long long)m->data);
		}
	}
	if (nsame) {
		pthread_mutex_lock(&refused_mu);
		first = !refused_logged;
		refused_logged = true;
		pthread_mutex_unlock(&refused_mu);
		if (first)
			log_info("%s: KVM_SET_MSRS refuses %u MSRs that already hold the saved value, "
				 "skipped:%s",
				 who, nsame, same);
		else
			log_debug("%s: KVM_SET_MSRS refuses %u MSRs that already hold the saved value, "
				  "skipped:%s",
				  who, nsame, same);
	}
out:
	free(refused);
	return r;
}

#define SET(req, name, src)                                                           \
	do {                                                                          \
		if (ioctl(vcpu_fd, (req), (src)) < 0) {                               \
			r = ioctl_fail(err, errlen, who, (name));                     \
			goto out;                                                     \
		}                                                                     \
	} while (0)

int kvm_vcpu_state_restore(int kvm_fd, int vcpu_fd, unsigned vcpu_id, const uint8_t *buf,
			   size_t len, char *err, size_t errlen)
{
	struct kvm_state_tsc_khz tsc;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_vcpu_events events;
	struct kvm_lapic_state *lapic = NULL;
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_msrs *msrs = NULL;
	void *xsave = NULL;
	uint32_t plen;
	char who[32], why[256];
	int r = 0, ksize;

	snprintf(who, sizeof(who), "vCPU %u", vcpu_id);
	if (kvm_vcpu_state_check(buf, len, why, sizeof(why))) {
		seterr(err, errlen, "%s: %s", who, why);
		return -EINVAL;
	}

	take(buf, len, KVM_STATE_VCPU_TSC_KHZ, &tsc, sizeof(tsc));
	restore_tsc_khz(vcpu_fd, who, tsc.khz);

	cpuid = take_var(buf, len, KVM_STATE_VCPU_CPUID, 0, &plen);
	msrs = take_var(buf, len, KVM_STATE_VCPU_MSRS, 0, &plen);
	/* KVM_SET_XSAVE reads as many bytes as this kernel's XSAVE2 size. */
	ksize = xsave2_size(kvm_fd);
	xsave = take_var(buf, len, KVM_STATE_VCPU_XSAVE,
			 ksize > 0 ? (size_t)ksize : KVM_STATE_XSAVE_MIN, &plen);
	lapic = malloc(sizeof(*lapic));
	if (!cpuid || !msrs || !xsave || !lapic) {
		seterr(err, errlen, "%s: out of memory", who);
		r = -ENOMEM;
		goto out;
	}
	take(buf, len, KVM_STATE_VCPU_MP_STATE, &mp, sizeof(mp));
	take(buf, len, KVM_STATE_VCPU_REGS, &regs, sizeof(regs));
	take(buf, len, KVM_STATE_VCPU_SREGS, &sregs, sizeof(sregs));
	take(buf, len, KVM_STATE_VCPU_XCRS, &xcrs, sizeof(xcrs));
	take(buf, len, KVM_STATE_VCPU_DEBUGREGS, &dregs, sizeof(dregs));
	take(buf, len, KVM_STATE_VCPU_LAPIC, lapic, sizeof(*lapic));
	take(buf, len, KVM_STATE_VCPU_EVENTS, &events, sizeof(events));

	SET(KVM_SET_CPUID2, "KVM_SET_CPUID2", cpuid);
	SET(KVM_SET_MP_STATE, "KVM_SET_MP_STATE", &mp);
	SET(KVM_SET_REGS, "KVM_SET_REGS", &regs);
	SET(KVM_SET_SREGS, "KVM_SET_SREGS", &sregs);
	SET(KVM_SET_XSAVE, "KVM_SET_XSAVE", xsave);
	/* No XCRs: the host has no XSAVE (KVM_SET_XCRS would refuse). */
	if (xcrs.nr_xcrs)
		SET(KVM_SET_XCRS, "KVM_SET_XCRS", &xcrs);
	SET(KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", &dregs);
	SET(KVM_SET_LAPIC, "KVM_SET_LAPIC", lapic);
	r = restore_msrs(vcpu_fd, who, msrs->entries, msrs->nmsrs, err, errlen);
	if (r)
		goto out;
	SET(KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", &events);
out:
	free(cpuid);
	free(msrs);
	free(xsave);
	free(lapic);
	return r;
}

/* ------------------------------------------------------------------ */
/* VM                                                                  */
/* ------------------------------------------------------------------ */

static const struct {
	uint32_t tag, chip;
	const char *name;
} irqchips[] = {
	{ KVM_STATE_VM_PIC_MASTER, KVM_IRQCHIP_PIC_MASTER, "PIC master" },
	{ KVM_STATE_VM_PIC_SLAVE, KVM_IRQCHIP_PIC_SLAVE, "PIC slave" },
	{ KVM_STATE_VM_IOAPIC, KVM_IRQCHIP_IOAPIC, "IOAPIC" },
};

int kvm_vm_state_save(int vm_fd, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct kvm_state_buf b = { 0 };
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	char what[48];

	*out = NULL;
	*outlen = 0;
	for (size_t i = 0; i < sizeof(irqchips) / sizeof(irqchips[0]); i++) {
		struct kvm_irqchip chip;

		memset(&chip, 0, sizeof(chip));
		chip.chip_id = irqchips[i].chip;
		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &chip) < 0) {
			snprintf(what, sizeof(what), "KVM_GET_IRQCHIP (%s)", irqchips[i].name);
			free(b.data);
			return ioctl_fail(err, errlen, "VM", what);
		}
		if (kvm_state_put(&b, irqchips[i].tag, &chip, sizeof(chip)))
			goto oom;
	}
	memset(&pit, 0, sizeof(pit));
	if (ioctl(vm_fd, KVM_GET_PIT2, &pit) < 0) {
		free(b.data);
		return ioctl_fail(err, errlen, "VM", "KVM_GET_PIT2");
	}
	if (kvm_state_put(&b, KVM_STATE_VM_PIT, &pit, sizeof(pit)))
		goto oom;
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm_fd, KVM_GET_CLOCK, &clock) < 0) {
		free(b.data);
		return ioctl_fail(err, errlen, "VM", "KVM_GET_CLOCK");
	}
	if (kvm_state_put(&b, KVM_STATE_VM_CLOCK, &clock, sizeof(clock)))
		goto oom;
	*out = b.data;
	*outlen = b.len;
	return 0;
oom:
	free(b.data);
	seterr(err, errlen, "VM: out of memory");
	return -ENOMEM;
}

int kvm_vm_state_restore(int vm_fd, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data saved, clock;
	char why[256];

	if (kvm_vm_state_check(buf, len, why, sizeof(why))) {
		seterr(err, errlen, "VM: %s", why);
		return -EINVAL;
	}
	take(buf, len, KVM_STATE_VM_PIT, &pit, sizeof(pit));
	if (ioctl(vm_fd, KVM_SET_PIT2, &pit) < 0)
		return ioctl_fail(err, errlen, "VM", "KVM_SET_PIT2");
	for (size_t i = 0; i < sizeof(irqchips) / sizeof(irqchips[0]); i++) {
		struct kvm_irqchip chip;

		take(buf, len, irqchips[i].tag, &chip, sizeof(chip));
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip) < 0) {
			char what[48];

			snprintf(what, sizeof(what), "KVM_SET_IRQCHIP (%s)", irqchips[i].name);
			return ioctl_fail(err, errlen, "VM", what);
		}
	}
	/* kvmclock last. The saved value, no flags: TSC_STABLE is what
	 * KVM_GET_CLOCK reports, not something to set (kernels before 5.16
	 * refuse any flag), and REALTIME would move the clock on by the wall
	 * time spent in the snapshot; the guest's clock continues from where it
	 * stopped, as its TSC does (MSR_IA32_TSC). */
	take(buf, len, KVM_STATE_VM_CLOCK, &saved, sizeof(saved));
	memset(&clock, 0, sizeof(clock));
	clock.clock = saved.clock;
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return ioctl_fail(err, errlen, "VM", "KVM_SET_CLOCK");
	return 0;
}
