/* SPDX-License-Identifier: Apache-2.0 */
/* persist.h — private to vmm/: snapshot create and load of a VM. */
#ifndef WISP_VMM_PERSIST_H
#define WISP_VMM_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_options;
struct evloop;
struct api_snapshot_load;

/* Where the time of a create or load went (microseconds). */
struct snapshot_times {
	uint64_t files_us;    /* load: read and check the state file, open the memory file */
	uint64_t create_us;   /* load: KVM VM, memory mapping and slots, devices, vCPUs */
	uint64_t devices_us;  /* load: device state */
	uint64_t state_us;    /* create: encode the state; load: KVM state, devices restarted */
	uint64_t total_us;
};

/* Write a snapshot of a paused VM: devices are quiesced, the state file
 * and the memory file are written under temporary names in their
 * directories, fsynced and renamed. Full: all of guest RAM (zero pages as
 * holes). Diff (track_dirty_pages only): the pages written since the
 * previous snapshot (or the load, or the boot), in a sparse file of the
 * same layout. With tracking, every snapshot starts a new dirty interval.
 * On error nothing is left at either path, the VM stays paused, no dirty
 * page is forgotten, and err names the path and the cause. */
int vm_snapshot_create(struct vm *vm, bool diff, const char *state_path, const char *mem_path,
		       struct snapshot_times *t, char *err, size_t errlen);

/* Build a VM from a snapshot (File memory backend): its configuration
 * comes from the state file (network_overrides and track_dirty_pages
 * applied), guest memory is the memory file mapped MAP_PRIVATE, every
 * vCPU, the VM and every device get their saved state. The VM is not
 * started. On error: *fatal false -> nothing was changed (the process can
 * take another load); *fatal true -> KVM state was being applied when it
 * failed (the process must end). err says why. */
int vm_snapshot_load(const struct api_snapshot_load *p, struct vm_options *opts,
		     struct evloop *loop, struct vm **out, struct snapshot_times *t, bool *fatal,
		     char *err, size_t errlen);

#endif
