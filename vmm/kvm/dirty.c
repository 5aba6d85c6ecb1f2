/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dirty.c — dirty page tracking for diff snapshots (track_dirty_pages).
 *
 * Two sources, OR'd: KVM's dirty log of each memory slot (what the vCPUs
 * wrote) and the regions' own bitmaps of what wisp's devices wrote (used
 * rings, buffers handed to a device: guest_mem_mark_dirty), which KVM does
 * not see. Where the kernel offers KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with
 * initially-set bits, enabling the log costs nothing up front: pages are
 * write-protected only when a snapshot collects (and clears) their bits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm.h"

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static uint64_t words_for(uint64_t size)
{
	return ((size >> 12) + 63) / 64;
}

int dirty_enable(struct vm *vm, char *err, size_t errlen)
{
	int caps = ioctl(vm->kvm.fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	uint64_t want = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;

	vm->dirty_manual = false;
	if (caps > 0 && ((uint64_t)caps & want) == want) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
					      .args = { want } };

		if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0) {
			ERR("KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): %s", strerror(errno));
			return -errno;
		}
		vm->dirty_manual = true;
	}
	return 0;
}

int dirty_alloc_region(struct guest_region *r, char *err, size_t errlen)
{
	r->dirty = calloc(words_for(r->size), sizeof(uint64_t));
	if (!r->dirty) {
		ERR("out of memory for the dirty page bitmap");
		return -ENOMEM;
	}
	return 0;
}

void dirty_free(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		free(vm->mem.regions[i].dirty);
		vm->mem.regions[i].dirty = NULL;
	}
}

/* Slot i's KVM dirty bits into out (OR'd), and cleared in KVM. */
static int collect_slot(struct vm *vm, unsigned i, uint64_t *out, char *err, size_t errlen)
{
	const struct guest_region *r = &vm->mem.regions[i];
	uint64_t n = words_for(r->size), pages = r->size >> 12;
	uint64_t *kbits = calloc(n, sizeof(uint64_t));
	struct kvm_dirty_log log = { .slot = i };
	int ret = 0;

	if (!kbits) {
		ERR("out of memory for the dirty page bitmap");
		return -ENOMEM;
	}
	log.dirty_bitmap = kbits;
	if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		ERR("KVM_GET_DIRTY_LOG slot %u: %s", i, strerror(errno));
		ret = -errno;
		goto out;
	}
	if (vm->dirty_manual) {
		/* With manual protection, the bits stay set (and the pages
		 * writable) until cleared: clear exactly what was read. */
		struct kvm_clear_dirty_log clr = { .slot = i, .first_page = 0,
						   .num_pages = (uint32_t)pages,
						   .dirty_bitmap = kbits };

		if (ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, &clr) < 0) {
			ERR("KVM_CLEAR_DIRTY_LOG slot %u: %s", i, strerror(errno));
			ret = -errno;
			goto out;
		}
	}
	for (uint64_t w = 0; w < n; w++)
		out[w] |= kbits[w];
out:
	free(kbits);
	return ret;
}

int dirty_collect(struct vm *vm, uint64_t *bitmaps[GUEST_MEM_MAX_REGIONS], char *err,
		  size_t errlen)
{
	int r = 0;

	memset(bitmaps, 0, sizeof(bitmaps[0]) * GUEST_MEM_MAX_REGIONS);
	for (unsigned i = 0; i < vm->mem.nr_regions && r == 0; i++) {
		struct guest_region *g = &vm->mem.regions[i];
		uint64_t n = words_for(g->size);

		if (!g->dirty) {
			ERR("dirty page tracking is not enabled for this microVM");
			r = -EINVAL;
			break;
		}
		bitmaps[i] = calloc(n, sizeof(uint64_t));
		if (!bitmaps[i]) {
			ERR("out of memory for the dirty page bitmap");
			r = -ENOMEM;
			break;
		}
		r = collect_slot(vm, i, bitmaps[i], err, errlen);
		for (uint64_t w = 0; w < n && r == 0; w++)
			bitmaps[i][w] |= __atomic_exchange_n(&g->dirty[w], 0, __ATOMIC_RELAXED);
	}
	if (r < 0)
		for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
			free(bitmaps[i]);
			bitmaps[i] = NULL;
		}
	return r;
}
