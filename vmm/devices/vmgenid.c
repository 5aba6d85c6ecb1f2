/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmgenid.c — the VM Generation ID (Microsoft's "Virtual Machine Generation
 * ID" specification, as Linux's drivers/virt/vmgenid.c reads it): 16 random
 * bytes at a fixed guest-physical address that the DSDT announces through
 * the VGEN device's ADDR package, and an edge interrupt on the ACPI generic
 * event device (GED) whose _EVT notifies VGEN when the ID changed.
 *
 * Lifetime (Firecracker's, src/vmm/src/devices/acpi/vmgenid.rs):
 *  - created with the VM: a fresh ID from getrandom() written into guest
 *    memory, and an irqfd on the GED's GSI;
 *  - saved: its address, GSI and the ID (the ID for people and tools only);
 *  - restored: a NEW ID, different from the saved one, written into guest
 *    memory: every VM restored from one snapshot is a different VM;
 *  - restored(): the GED interrupt, once, after the interrupt controllers
 *    hold their saved state and before the vCPUs run, so the guest's
 *    driver learns it is a clone as soon as it runs (Linux reseeds its
 *    random number generator and tells user space, vm_genid uevent).
 *
 * The device has no registers: the guest only reads the 16 bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "vmm.h"

struct vmgenid {
	const struct vm_services *svc;
	uint64_t addr;
	unsigned gsi;
	int irq_fd;
	uint8_t id[VMGENID_ID_SIZE];
	bool notify;   /* restore() gave it a new ID: restored() raises the GED interrupt */
};

/* The saved state: a fixed little-endian layout (x86_64 only). */
struct vmgenid_saved {
	uint64_t addr;
	uint32_t gsi;
	uint32_t reserved;   /* 0 */
	uint8_t id[VMGENID_ID_SIZE];
};
_Static_assert(sizeof(struct vmgenid_saved) == 32, "vmgenid saved state is 32 bytes");

/* Fill id with 16 random bytes. 0 or -errno. */
static int make_id(uint8_t id[VMGENID_ID_SIZE])
{
	size_t got = 0;

	while (got < VMGENID_ID_SIZE) {
		ssize_t n = getrandom(id + got, VMGENID_ID_SIZE - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

/* The ID into guest memory, recorded as written by wisp (Diff snapshots). */
static int write_id(struct vmgenid *g, const uint8_t id[VMGENID_ID_SIZE])
{
	void *p = guest_mem_ptr(g->svc->mem, g->addr, VMGENID_ID_SIZE);

	if (!p)
		return -EFAULT;
	memcpy(p, id, VMGENID_ID_SIZE);
	guest_mem_mark_dirty(g->svc->mem, p, VMGENID_ID_SIZE);
	return 0;
}

void vmgenid_get(void *dev, uint8_t id[VMGENID_ID_SIZE])
{
	const struct vmgenid *g = dev;

	memcpy(id, g->id, VMGENID_ID_SIZE);
}

/* ---------------- the device interface ---------------- */

static size_t vmgenid_state_size(void *dev)
{
	(void)dev;
	return sizeof(struct vmgenid_saved);
}

static int vmgenid_save(void *dev, void *buf, size_t len)
{
	const struct vmgenid *g = dev;
	struct vmgenid_saved s;

	if (len != sizeof(s))
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	s.addr = g->addr;
	s.gsi = g->gsi;
	memcpy(s.id, g->id, VMGENID_ID_SIZE);
	memcpy(buf, &s, sizeof(s));
	return 0;
}

static int vmgenid_restore(void *dev, const void *buf, size_t len, char *err, size_t errlen)
{
	struct vmgenid *g = dev;
	struct vmgenid_saved s;
	uint8_t id[VMGENID_ID_SIZE];
	int r;

	if (len != sizeof(s)) {
		snprintf(err, errlen, "vmgenid: state is %zu bytes, expected %zu", len, sizeof(s));
		return -EINVAL;
	}
	memcpy(&s, buf, sizeof(s));
	if (s.reserved != 0) {
		snprintf(err, errlen, "vmgenid: reserved field is 0x%x, expected 0", s.reserved);
		return -EINVAL;
	}
	/* The guest's ACPI tables (in the snapshot's memory) name the address
	 * and the interrupt: they cannot move. */
	if (s.addr != g->addr || s.gsi != g->gsi) {
		snprintf(err, errlen, "vmgenid: saved at 0x%llx GSI %u, this VM has it at 0x%llx "
			 "GSI %u", (unsigned long long)s.addr, s.gsi, (unsigned long long)g->addr,
			 g->gsi);
		return -EINVAL;
	}
	/* A new generation: never the saved ID again (2^-128, but cheap). */
	do {
		r = make_id(id);
		if (r < 0) {
			snprintf(err, errlen, "vmgenid: cannot generate a new generation ID: %s",
				 strerror(-r));
			return r;
		}
	} while (memcmp(id, s.id, VMGENID_ID_SIZE) == 0);
	if (write_id(g, id) < 0) {
		snprintf(err, errlen, "vmgenid: 0x%llx is outside guest memory",
			 (unsigned long long)g->addr);
		return -EINVAL;
	}
	memcpy(g->id, id, VMGENID_ID_SIZE);
	g->notify = true;
	return 0;
}

/* After a restore: the GED's edge interrupt, once. The ID page is marked
 * written again here, because the load starts a new dirty interval after
 * restore() ran: a Diff snapshot of this VM must carry its new ID. */
static void vmgenid_restored(void *dev)
{
	struct vmgenid *g = dev;
	uint64_t one = 1;
	void *p;

	if (!g->notify)
		return;
	g->notify = false;
	p = guest_mem_ptr(g->svc->mem, g->addr, VMGENID_ID_SIZE);
	if (p)
		guest_mem_mark_dirty(g->svc->mem, p, VMGENID_ID_SIZE);
	if (write(g->irq_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_error("vmgenid: cannot raise GSI %u to notify the guest of its new "
			  "generation ID: %s", g->gsi, strerror(errno));
	else
		log_info("vmgenid: new generation ID, guest notified (GSI %u)", g->gsi);
}

static void vmgenid_destroy(void *dev)
{
	struct vmgenid *g = dev;

	if (g->irq_fd >= 0)
		close(g->irq_fd);
	free(g);
}

const struct device_ops vmgenid_device_ops = {
	.kind = "vmgenid",
	.state_size = vmgenid_state_size,
	.save = vmgenid_save,
	.restore = vmgenid_restore,
	.restored = vmgenid_restored,
	.destroy = vmgenid_destroy,
};

int vmgenid_create(const struct vm_services *svc, uint64_t addr, unsigned gsi,
		   struct device *out, char *err, size_t errlen)
{
	struct vmgenid *g = calloc(1, sizeof(*g));
	int r;

	if (!g) {
		snprintf(err, errlen, "vmgenid: out of memory");
		return -ENOMEM;
	}
	g->svc = svc;
	g->addr = addr;
	g->gsi = gsi;
	g->irq_fd = -1;
	r = make_id(g->id);
	if (r < 0) {
		snprintf(err, errlen, "vmgenid: cannot generate a generation ID: %s", strerror(-r));
		goto fail;
	}
	if (write_id(g, g->id) < 0) {
		snprintf(err, errlen, "vmgenid: 0x%llx is outside guest memory",
			 (unsigned long long)addr);
		r = -EINVAL;
		goto fail;
	}
	g->irq_fd = svc->irqfd(svc->vm, gsi);
	if (g->irq_fd < 0) {
		r = g->irq_fd;
		snprintf(err, errlen, "vmgenid: cannot wire GSI %u: %s", gsi, strerror(-r));
		goto fail;
	}
	*out = (struct device){ .ops = &vmgenid_device_ops, .dev = g, .irq = gsi };
	return 0;
fail:
	vmgenid_destroy(g);
	return r;
}
